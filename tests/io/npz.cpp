// .npz archives: round trips, numpy-written archives, and every kind of damage refused cleanly.
#include "support.hpp"
#include "temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

#include <zlib.h>

using namespace svtest;
namespace fs = std::filesystem;
using sv::io::IoError;

namespace {

const fs::path data_dir{SVERTKA_TEST_DATA_DIR};

sv::TensorDict sample() {
  sv::TensorDict d;
  d.set("weights", sv::Tensor<float>::from({2, 3}, {0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 1.25f}));
  d.set("bias", sv::Tensor<double>::from({2}, {-1.5, 0.25}));
  d.set_int("step", 7);
  d.set("optimizer/exp_avg/0", sv::Tensor<float>::full({2, 3}, -0.125f));
  d.set("labels", sv::Tensor<std::int32_t>::from({3}, {-1, 0, 2147483647}));
  d.set("bytes", sv::Tensor<std::uint8_t>::from({2, 2}, {0, 1, 254, 255}));
  d.set("empty", sv::Tensor<float>::zeros({0, 3}));
  return d;
}

template <class T>
void check_equal(const sv::TensorDict& d, std::string_view name, const sv::Tensor<T>& want) {
  const sv::Tensor<T>& got = d.get<T>(name, "test");
  BOOST_TEST(got.shape() == want.shape(), name);
  BOOST_TEST(std::equal(got.begin(), got.end(), want.begin(), want.end()), name);
}

void check_sample(const sv::TensorDict& d) {
  const sv::TensorDict s = sample();
  BOOST_TEST(d.size() == s.size());
  auto it = d.begin();
  for (const auto& e : s) {
    BOOST_TEST(it->name == e.name);  // archive order is insertion order
    ++it;
    std::visit([&](const auto& t) { check_equal(d, e.name, t); }, e.tensor);
  }
}

//! Recomputes the CRC-32 of an archive's single member after its data were changed on purpose.
void fix_crc_of_only_member(std::string& zip) {
  auto u16 = [&](std::size_t at) { return std::size_t(std::uint8_t(zip[at])) | std::size_t(std::uint8_t(zip[at + 1])) << 8; };
  const std::size_t size = u16(22) | u16(24) << 16, start = 30 + u16(26) + u16(28);
  const auto crc = static_cast<std::uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(zip.data() + start), static_cast<uInt>(size)));
  const std::size_t central = zip.find(std::string("PK\x01\x02", 4));
  for (std::size_t at : {std::size_t{14}, central + 16})
    for (int b = 0; b < 4; ++b) zip[at + b] = static_cast<char>((crc >> (8 * b)) & 0xff);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(io_npz)

BOOST_AUTO_TEST_CASE(round_trip_in_memory_and_on_disk) {
  const std::string bytes = sv::io::to_npz_bytes(sample());
  check_sample(sv::io::from_npz_bytes(bytes, "sample"));
  BOOST_TEST(sv::io::to_npz_bytes(sample()) == bytes);  // deterministic bytes
  TempDir dir;
  sv::io::save_npz(dir / "a.npz", sample());
  check_sample(sv::io::load_npz(dir / "a.npz"));
  BOOST_TEST(read_bytes(dir / "a.npz") == bytes);
  BOOST_TEST(!fs::exists(dir / "a.npz.tmp"));
  BOOST_TEST(sv::io::from_npz_bytes(sv::io::to_npz_bytes({}), "empty").empty());
}

BOOST_AUTO_TEST_CASE(reads_what_numpy_writes) {
  for (const char* name : {"npz_numpy_savez.npz", "npz_numpy_compressed.npz"}) {
    BOOST_TEST_CONTEXT(name) {
      const sv::TensorDict d = sv::io::load_npz(data_dir / name);
      BOOST_TEST(d.size() == 3u);
      check_equal(d, "weights", sv::Tensor<float>::from({2, 3}, {0.0f, 0.25f, 0.5f, 0.75f, 1.0f, 1.25f}));
      check_equal(d, "bias", sv::Tensor<double>::from({2}, {-1.5, 0.25}));
      BOOST_TEST(d.get<std::int64_t>("step", "test").rank() == 0);
      BOOST_TEST(d.get_int("step", "test") == 7);
    }
  }
}

BOOST_AUTO_TEST_CASE(damaged_archives_are_refused) {
  const std::string good = sv::io::to_npz_bytes(sample());
  BOOST_CHECK_EXCEPTION(sv::io::from_npz_bytes("", "x.npz"), IoError, message_has({"from_npz_bytes", "x.npz", "empty"}));
  BOOST_CHECK_EXCEPTION(sv::io::from_npz_bytes("hello, this is not a zip archive at all", "x.npz"), IoError,
                        message_has({"x.npz", "not an .npz archive"}));
  BOOST_CHECK_EXCEPTION(sv::io::from_npz_bytes(good.substr(0, good.size() - 10), "cut.npz"), IoError,
                        message_has({"cut.npz", "truncated"}));
  BOOST_CHECK_EXCEPTION(sv::io::from_npz_bytes(good.substr(0, good.size() / 2), "half.npz"), IoError,
                        message_has({"half.npz", "truncated"}));
  // a flipped data byte of the first member: its CRC no longer matches
  std::string flipped = good;
  flipped[30 + 11 + 64 + 2] ^= 0x40;  // local header, "weights.npy", .npy header, then data
  BOOST_CHECK_EXCEPTION(sv::io::from_npz_bytes(flipped, "f.npz"), IoError,
                        message_has({"f.npz", "member 'weights.npy'", "CRC-32", "stored 0x", "computed 0x"}));
  // an unknown compression method (patched in the local and central headers)
  std::string method = good;
  method[8] = 12;
  method[method.find(std::string("PK\x01\x02", 4)) + 10] = 12;
  BOOST_CHECK_EXCEPTION(sv::io::from_npz_bytes(method, "m.npz"), IoError, message_has({"compression method 12"}));
  // a member that is not an .npy array
  sv::TensorDict one;
  one.set_int("x", 1);
  std::string renamed = sv::io::to_npz_bytes(one);
  for (std::size_t at = renamed.find("x.npy"); at != std::string::npos; at = renamed.find("x.npy", at + 1)) renamed.replace(at, 5, "x.txt");
  BOOST_CHECK_EXCEPTION(sv::io::from_npz_bytes(renamed, "r.npz"), IoError, message_has({"member 'x.txt'", "not an .npy"}));
  // a member whose .npy header is damaged: the .npy reader says what is wrong, with the member's name
  std::string header = sv::io::to_npz_bytes(one);
  header[header.find("'descr'") + 10] = 'Q';
  fix_crc_of_only_member(header);
  BOOST_CHECK_EXCEPTION(sv::io::from_npz_bytes(header, "h.npz"), IoError, message_has({"h.npz member 'x.npy'"}));
}

BOOST_AUTO_TEST_CASE(every_cut_and_every_flipped_byte_is_handled) {
  // No prefix of an archive decodes, and no single flipped byte crashes the reader (run under ASan).
  sv::TensorDict d;
  d.set("a", sv::Tensor<float>::from({3}, {1.0f, 2.0f, 3.0f}));
  d.set_int("b", 5);
  const std::string good = sv::io::to_npz_bytes(d);
  for (std::size_t n = 0; n < good.size(); ++n)
    BOOST_CHECK_THROW(sv::io::from_npz_bytes(std::string_view(good).substr(0, n), "cut"), IoError);
  int refused = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x5a;
    try {
      sv::io::from_npz_bytes(bad, "flipped");
    } catch (const IoError&) {
      ++refused;
    }
  }
  BOOST_TEST_MESSAGE(refused << " of " << good.size() << " single-byte corruptions refused");
  BOOST_TEST(refused > static_cast<int>(good.size()) / 2);
}

BOOST_AUTO_TEST_CASE(file_errors) {
  TempDir dir;
  BOOST_CHECK_EXCEPTION(sv::io::load_npz(dir / "missing.npz"), IoError, message_has({"load_npz", "missing.npz", "cannot be opened"}));
  BOOST_CHECK_EXCEPTION(sv::io::save_npz(dir / "no" / "such" / "dir.npz", sample()), IoError,
                        message_has({"save_npz", "dir.npz", "cannot be written"}));
  write_bytes(dir / "cut.npz", sv::io::to_npz_bytes(sample()).substr(0, 100));
  BOOST_CHECK_EXCEPTION(sv::io::load_npz(dir / "cut.npz"), IoError, message_has({"load_npz", "cut.npz", "truncated"}));
  sv::TensorDict undefined;
  undefined.set("u", sv::Tensor<float>{});
  BOOST_CHECK_THROW(sv::io::save_npz(dir / "u.npz", undefined), sv::OptionError);
  BOOST_TEST(!fs::exists(dir / "u.npz"));
  BOOST_TEST(!fs::exists(dir / "u.npz.tmp"));
}

// Writes an archive for tests/io/check_numpy_reads_npz.py to open with numpy.load (run by the
// meson test io_numpy_reads_npz, which sets SVERTKA_NPZ_OUT).
BOOST_AUTO_TEST_CASE(written_file_for_numpy,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       return boost::unit_test::assertion_result(std::getenv("SVERTKA_NPZ_OUT") != nullptr);
                     })) {
  const fs::path out = fs::path(std::getenv("SVERTKA_NPZ_OUT")) / "svertka_written.npz";
  sv::io::save_npz(out, sample());
  check_sample(sv::io::load_npz(out));
}

BOOST_AUTO_TEST_SUITE_END()
