#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "svertka/core/tensor.hpp"
#include "svertka/io/npy.hpp"

BOOST_AUTO_TEST_SUITE(io_npy)

namespace {

namespace sv = svertka;
namespace fs = std::filesystem;
using sv::io::IoError;

const fs::path data_dir{SVERTKA_TEST_DATA_DIR};

//! A predicate for BOOST_CHECK_EXCEPTION: the message contains every one of `parts`.
auto message_has(std::initializer_list<std::string_view> parts) {
  std::vector<std::string> want(parts.begin(), parts.end());
  return [want](const std::exception& e) {
    const std::string what = e.what();
    for (const std::string& s : want)
      if (what.find(s) == std::string::npos) {
        BOOST_TEST_MESSAGE("message '" << what << "' lacks '" << s << "'");
        return false;
      }
    return true;
  };
}

//! A fresh folder under the system's temporary directory, removed with everything in it.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::mt19937_64 gen{std::random_device{}()};
    path = fs::temp_directory_path() / fmt::format("svertka_npy_test_{:016x}", gen());
    fs::create_directories(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  fs::path operator/(std::string_view name) const { return path / name; }
};

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

//! An .npy image with a hand-written header dict (not padded) and raw data bytes.
std::string craft(std::string_view dict, std::string_view data, int major = 1) {
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  for (std::size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((dict.size() >> (8 * i)) & 0xff);
  return out.append(dict).append(data);
}

std::string float_bytes(std::initializer_list<float> values) {
  return {reinterpret_cast<const char*>(values.begin()), values.size() * sizeof(float)};
}

//! Element i of the round-trip tensors: distinct, exact, negative ones for signed types.
template <class T>
T sample(std::int64_t i) {
  if constexpr (std::is_floating_point_v<T>) return static_cast<T>(i) * T(0.375) - T(5);
  else if constexpr (std::is_signed_v<T>) return static_cast<T>(i * 7919 - 50000);
  else return static_cast<T>((i * 37) % 256);
}

template <class T>
sv::Tensor<T> sample_tensor(const sv::Shape& s) {
  auto t = sv::Tensor<T>::empty(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = sample<T>(i);
  return t;
}

template <class T>
void check_same(const sv::Tensor<T>& got, const sv::Tensor<T>& want) {
  BOOST_TEST(got.shape() == want.shape(), got.shape().str() << " vs " << want.shape().str());
  BOOST_REQUIRE_EQUAL(got.numel(), want.numel());
  for (std::int64_t i = 0; i < want.numel(); ++i) BOOST_TEST(got.data()[i] == want.data()[i]);
}

//! The expected tensor for a fixture: shape and element i = f(i).
template <class T, class F>
sv::Tensor<T> expected(const sv::Shape& s, F f) {
  auto t = sv::Tensor<T>::empty(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(f(i));
  return t;
}

using element_types = std::tuple<float, double, std::int64_t, std::int32_t, std::uint8_t>;

}  // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(round_trip_every_rank, T, element_types) {
  TempDir dir;
  const std::vector<sv::Shape> shapes{{}, {5}, {0, 3}, {2, 3}, {2, 3, 4}, {2, 1, 3, 2}, {1, 2, 1, 2, 1, 2}};
  for (const sv::Shape& s : shapes) {
    BOOST_TEST_CONTEXT("shape " << s.str()) {
      const auto t = sample_tensor<T>(s);
      const fs::path p = dir / "t.npy";
      sv::io::save_npy(p, t);
      check_same(sv::io::load_npy<T>(p), t);
      check_same(sv::io::from_npy_bytes<T>(sv::io::to_npy_bytes(t), "memory"), t);
      BOOST_TEST(read_bytes(p) == sv::io::to_npy_bytes(t));
      BOOST_TEST(!fs::exists(dir / "t.npy.tmp"));
    }
  }
}

BOOST_AUTO_TEST_CASE(written_header_is_numpy_version_1_and_64_byte_aligned) {
  const std::string b = sv::io::to_npy_bytes(sample_tensor<float>({2, 3}));
  BOOST_REQUIRE(b.size() > 10);
  BOOST_TEST(b.substr(0, 6) == std::string("\x93NUMPY", 6));
  BOOST_TEST(b[6] == '\x01');
  BOOST_TEST(b[7] == '\x00');
  const std::size_t header_len = static_cast<unsigned char>(b[8]) | static_cast<std::size_t>(static_cast<unsigned char>(b[9])) << 8;
  const std::size_t data_start = 10 + header_len;
  BOOST_TEST(data_start % 64 == 0u);
  BOOST_TEST(b.size() == data_start + 6 * sizeof(float));
  BOOST_TEST(b[data_start - 1] == '\n');
  BOOST_TEST(b.substr(10).starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  BOOST_TEST(sv::io::to_npy_bytes(sv::Tensor<double>::zeros({5})).find("'<f8'") != std::string::npos);
  BOOST_TEST(sv::io::to_npy_bytes(sv::Tensor<std::int64_t>::zeros({5})).find("'shape': (5,)") != std::string::npos);
  BOOST_TEST(sv::io::to_npy_bytes(sv::Tensor<std::int32_t>::zeros({})).find("'<i4'") != std::string::npos);
  BOOST_TEST(sv::io::to_npy_bytes(sv::Tensor<std::int32_t>::zeros({})).find("'shape': ()") != std::string::npos);
  BOOST_TEST(sv::io::to_npy_bytes(sv::Tensor<std::uint8_t>::zeros({1})).find("'|u1'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(save_replaces_an_existing_file) {
  TempDir dir;
  sv::io::save_npy(dir / "a.npy", sample_tensor<double>({100}));
  sv::io::save_npy(dir / "a.npy", sample_tensor<double>({2}));
  check_same(sv::io::load_npy<double>(dir / "a.npy"), sample_tensor<double>({2}));
  BOOST_TEST(!fs::exists(dir / "a.npy.tmp"));
}

// The fixtures come from tests/data/make_npy_fixtures.py; each expectation repeats its formula.
BOOST_AUTO_TEST_CASE(reads_files_numpy_wrote) {
  auto load_f32 = [](const char* n) { return sv::io::load_npy<float>(data_dir / n); };
  check_same(load_f32("npy_f32_2x3x4.npy"), expected<float>({2, 3, 4}, [](auto i) { return i / 8.0; }));
  check_same(load_f32("npy_f32_0x3.npy"), sv::Tensor<float>::zeros({0, 3}));
  check_same(load_f32("npy_f32_v2.npy"), expected<float>({3, 2}, [](auto i) { return i * 0.25; }));
  check_same(sv::io::load_npy<double>(data_dir / "npy_f64_5.npy"),
             expected<double>({5}, [](auto i) { return (i - 2) * 0.375; }));
  const auto scalar = sv::io::load_npy<double>(data_dir / "npy_f64_scalar.npy");
  BOOST_TEST(scalar.rank() == 0);
  BOOST_TEST(scalar.item() == -1.5);
  check_same(sv::io::load_npy<std::int64_t>(data_dir / "npy_i64_labels.npy"),
             expected<std::int64_t>({6}, [](auto i) { return (i - 2) * 1'000'000'000'000; }));
  constexpr auto lo = std::numeric_limits<std::int32_t>::min(), hi = std::numeric_limits<std::int32_t>::max();
  check_same(sv::io::load_npy<std::int32_t>(data_dir / "npy_i32_2x2.npy"),
             sv::Tensor<std::int32_t>::from({2, 2}, {lo, -1, 0, hi}));
  check_same(sv::io::load_npy<std::uint8_t>(data_dir / "npy_u8_3x4.npy"),
             expected<std::uint8_t>({3, 4}, [](auto i) { return (i * 23) % 256; }));
  check_same(sv::io::load_npy<std::uint8_t>(data_dir / "npy_u8_v3.npy"),
             expected<std::uint8_t>({5}, [](auto i) { return i; }));
}

BOOST_AUTO_TEST_CASE(accepts_header_variants) {
  const std::string two = float_bytes({1.5f, -2.0f});
  auto load = [](const std::string& bytes) { return sv::io::from_npy_bytes<float>(bytes, "variant"); };
  const auto want = sv::Tensor<float>::from({2}, {1.5f, -2.0f});
  check_same(load(craft("{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}", two)), want);
  check_same(load(craft("{\"descr\":\"=f4\",\"fortran_order\":False,\"shape\":(2,)}\n", two)), want);
  check_same(load(craft(" {  'descr' : '<f4' ,\t'fortran_order':False, 'shape':( 2L , ) , }   \n", two)), want);
  check_same(load(craft("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", two, 2)),
             sv::Tensor<float>::from({1, 2}, {1.5f, -2.0f}));
  check_same(load(craft("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", two, 3)), want);
  check_same(sv::io::from_npy_bytes<std::uint8_t>(craft("{'descr': '>u1', 'fortran_order': False, 'shape': (1,)}", "\x07"), "u8"),
             sv::Tensor<std::uint8_t>::from({1}, {7}));
}

BOOST_AUTO_TEST_CASE(refuses_missing_files_and_folders) {
  TempDir dir;
  const fs::path missing = dir / "missing.npy";
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<float>(missing), IoError,
                        message_has({"load_npy", missing.string(), "cannot be opened", "No such file"}));
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<float>(dir.path), IoError, message_has({"load_npy", "is a directory"}));
}

BOOST_AUTO_TEST_CASE(refuses_another_element_type) {
  const fs::path f64 = data_dir / "npy_f64_5.npy";
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<float>(f64), IoError,
                        message_has({"load_npy", f64.string(), "holds float64 but float32 was asked for"}));
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<std::int32_t>(data_dir / "npy_i64_labels.npy"), IoError,
                        message_has({"npy_i64_labels.npy", "holds int64 but int32 was asked for"}));
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<double>(data_dir / "npy_u8_3x4.npy"), IoError,
                        message_has({"holds uint8 but float64 was asked for"}));
  BOOST_CHECK_EXCEPTION(sv::io::from_npy_bytes<float>(craft("{'descr': '<U5', 'fortran_order': False, 'shape': ()}", ""), "s"),
                        IoError, message_has({"from_npy_bytes: s", "'<U5'", "not a plain numeric type"}));
  BOOST_CHECK_EXCEPTION(sv::io::from_npy_bytes<float>(craft("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': ()}", ""), "s"),
                        IoError, message_has({"structured dtype"}));
}

BOOST_AUTO_TEST_CASE(refuses_fortran_order_and_big_endian) {
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<float>(data_dir / "npy_f32_fortran.npy"), IoError,
                        message_has({"load_npy", "npy_f32_fortran.npy", "Fortran", "only C order is supported"}));
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<float>(data_dir / "npy_f32_bigendian.npy"), IoError,
                        message_has({"load_npy", "npy_f32_bigendian.npy", "big-endian", "'>f4'", "little-endian"}));
}

BOOST_AUTO_TEST_CASE(refuses_rank_above_six_and_absurd_shapes) {
  const std::string one = float_bytes({1.0f});
  BOOST_CHECK_EXCEPTION(sv::io::from_npy_bytes<float>(craft("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1), }", one), "r7"),
                        IoError, message_has({"from_npy_bytes: r7", "rank 7", "at most 6"}));
  BOOST_CHECK_EXCEPTION(sv::io::from_npy_bytes<float>(craft("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }", one), "big"),
                        IoError, message_has({"impossibly large"}));
  // a header asking for 4 GB over 4 bytes of data is refused before anything is allocated
  BOOST_CHECK_EXCEPTION(sv::io::from_npy_bytes<float>(craft("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }", one), "huge"),
                        IoError, message_has({"is truncated (header says 4000000000 bytes of data, file has 4)"}));
}

BOOST_AUTO_TEST_CASE(refuses_truncated_data_and_trailing_bytes) {
  TempDir dir;
  const std::string good = sv::io::to_npy_bytes(sample_tensor<float>({2, 3}));
  const fs::path short_file = dir / "data.npy";
  write_bytes(short_file, good.substr(0, good.size() - 8));
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<float>(short_file), IoError,
                        message_has({"load_npy", short_file.string(), "is truncated (header says 24 bytes of data, file has 16)"}));
  BOOST_CHECK_EXCEPTION(sv::io::from_npy_bytes<float>(good + "xyz", "member.npy"), IoError,
                        message_has({"from_npy_bytes: member.npy has 3 bytes after the data"}));
  write_bytes(dir / "long.npy", good + "xyz");
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<float>(dir / "long.npy"), IoError, message_has({"long.npy", "3 bytes after the data"}));
  write_bytes(dir / "empty.npy", "");
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<float>(dir / "empty.npy"), IoError, message_has({"empty.npy", "is empty"}));
  write_bytes(dir / "head.npy", good.substr(0, 40));
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<float>(dir / "head.npy"), IoError,
                        message_has({"head.npy", "is truncated", "header should have 118 bytes", "has 30"}));
  std::string huge_header = craft("{}", "", 2);
  huge_header.replace(8, 4, "\xff\xff\xff\xff");
  write_bytes(dir / "huge.npy", huge_header);
  BOOST_CHECK_EXCEPTION(sv::io::load_npy<float>(dir / "huge.npy"), IoError,
                        message_has({"huge.npy", "header should have 4294967295 bytes"}));
}

BOOST_AUTO_TEST_CASE(refuses_bad_preambles) {
  const std::string good = sv::io::to_npy_bytes(sample_tensor<float>({2, 3}));
  auto bytes = [](const std::string& b) { return sv::io::from_npy_bytes<float>(b, "x.npy"); };
  BOOST_CHECK_EXCEPTION(bytes(""), IoError, message_has({"from_npy_bytes: x.npy", "is empty"}));
  BOOST_CHECK_EXCEPTION(bytes("GIF89a, not numpy at all"), IoError, message_has({"x.npy", "not an .npy file", "magic"}));
  BOOST_CHECK_EXCEPTION(bytes(good.substr(0, 7)), IoError, message_has({"x.npy", "is truncated"}));
  BOOST_CHECK_EXCEPTION(bytes(good.substr(0, 9)), IoError, message_has({"x.npy", "truncated", "header length"}));
  BOOST_CHECK_EXCEPTION(bytes(good.substr(0, 40)), IoError,
                        message_has({"x.npy", "truncated", "header should have 118 bytes", "has 30"}));
  std::string v4 = good;
  v4[6] = '\x04';
  BOOST_CHECK_EXCEPTION(bytes(v4), IoError, message_has({"x.npy", "version 4.0", "1.0, 2.0 and 3.0"}));
}

BOOST_AUTO_TEST_CASE(refuses_garbled_headers) {
  const std::string one = float_bytes({1.0f});
  auto check = [&](std::string_view dict, std::string_view why) {
    BOOST_TEST_CONTEXT("header " << dict) {
      BOOST_CHECK_EXCEPTION(sv::io::from_npy_bytes<float>(craft(dict, one), "g.npy"), IoError,
                            message_has({"from_npy_bytes: g.npy", why}));
    }
  };
  check("", "garbled header: expected '{'");
  check("{'descr': '<f4', 'fortran_order': False}", "key 'shape' is missing");
  check("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unknown key 'extra'");
  check("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "appears twice");
  check("{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "garbled header");
  check("{'descr': '<f4', 'fortran_order': false, 'shape': (1,)}", "expected True or False");
  check("{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "not a tuple");
  check("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "negative dimension");
  check("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", "text after the closing '}'");
  check("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", "expected '}' after a value");
  check("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "expected '}'");
  check("{'descr': '|f4', 'fortran_order': False, 'shape': (1,)}", "byte order '|'");
}

BOOST_AUTO_TEST_CASE(save_failures_throw_and_leave_no_temporary) {
  TempDir dir;
  const auto t = sample_tensor<float>({3});
  const fs::path nowhere = dir / "no_such_folder" / "t.npy";
  BOOST_CHECK_EXCEPTION(sv::io::save_npy(nowhere, t), IoError,
                        message_has({"save_npy", nowhere.string(), "cannot be written", "t.npy.tmp"}));
  // the target is a non-empty folder, so the final rename fails after the temporary was written
  const fs::path folder = dir / "taken.npy";
  fs::create_directories(folder / "inside");
  BOOST_CHECK_EXCEPTION(sv::io::save_npy(folder, t), IoError, message_has({"save_npy", "taken.npy", "renaming"}));
  BOOST_TEST(!fs::exists(dir / "taken.npy.tmp"));
  BOOST_CHECK_EXCEPTION(sv::io::save_npy(dir / "u.npy", sv::Tensor<float>{}), sv::OptionError,
                        message_has({"save_npy", "undefined"}));
  BOOST_CHECK_EXCEPTION(sv::io::to_npy_bytes(sv::Tensor<double>{}), sv::OptionError,
                        message_has({"to_npy_bytes", "undefined"}));
}

// With SVERTKA_NPY_OUT set, writes svertka_written_f32.npy there for tests/io/check_numpy_reads.py,
// which runs this test and reads the file back with numpy (formula 'f32_2x3x4_centered_div8').
BOOST_AUTO_TEST_CASE(written_file_for_numpy,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       return boost::unit_test::assertion_result(std::getenv("SVERTKA_NPY_OUT") != nullptr);
                     })) {
  const fs::path out = fs::path(std::getenv("SVERTKA_NPY_OUT")) / "svertka_written_f32.npy";
  const auto t = expected<float>({2, 3, 4}, [](auto i) { return (i - 12) / 8.0; });
  sv::io::save_npy(out, t);
  check_same(sv::io::load_npy<float>(out), t);
}

BOOST_AUTO_TEST_SUITE_END()
