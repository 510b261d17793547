// The IDX reader on the shipped Fashion-MNIST subset, on Debian's full data set when installed, and on
// corrupted copies written by the test.
#include "support.hpp"
#include "temp_dir.hpp"

#include <array>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include <zlib.h>

using namespace svtest;
namespace fs = std::filesystem;
using sv::io::IoError;

namespace {

const fs::path subset_dir = fs::path(SVERTKA_TEST_DATA_DIR) / "fashion-mnist-subset";

//! gzip-compressed bytes (for corrupted copies written as .gz).
std::string gzip(std::string_view raw) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, static_cast<uLong>(raw.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

//! An uncompressed IDX file: magic, big-endian sizes, data.
std::string idx_bytes(std::uint8_t type, const std::vector<std::uint32_t>& dims, std::string_view data) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((d >> s) & 0xff);
  return out.append(data);
}

std::int64_t byte_sum(const sv::Tensor<std::uint8_t>& t) { return std::accumulate(t.begin(), t.end(), std::int64_t{0}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(data_idx)

BOOST_AUTO_TEST_CASE(shipped_subset) {
  // numbers printed by tests/data/make_fmnist_subset.py
  const auto raw = sv::data::read_idx_images_u8(subset_dir / "train-images-idx3-ubyte.gz");
  BOOST_TEST(raw.shape() == (sv::Shape{1000, 1, 28, 28}));
  BOOST_TEST(byte_sum(raw) == 56558003);
  BOOST_TEST(raw(0, 0, 14, 14) == 217);
  BOOST_TEST(sv::data::has_fashion_mnist(subset_dir));
  const auto data = sv::data::fashion_mnist(subset_dir);
  BOOST_TEST(data.train.size() == 1000);
  BOOST_TEST(data.test.size() == 1000);
  BOOST_TEST(data.train.images(0, 0, 14, 14) == 217.0f / 255.0f);
  BOOST_TEST(byte_sum(sv::data::read_idx_images_u8(subset_dir / "t10k-images-idx3-ubyte.gz")) == 58034149);
  const float lo = *std::min_element(data.train.images.begin(), data.train.images.end());
  const float hi = *std::max_element(data.train.images.begin(), data.train.images.end());
  BOOST_TEST((lo == 0.0f && hi == 1.0f));
  std::array<int, 10> hist{};
  for (std::int64_t l : data.train.labels) ++hist.at(static_cast<std::size_t>(l));
  BOOST_TEST(hist == (std::array<int, 10>{107, 104, 86, 92, 95, 100, 100, 115, 102, 99}));
}

BOOST_AUTO_TEST_CASE(debian_full_data_set,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       return boost::unit_test::assertion_result(sv::data::has_fashion_mnist());
                     })) {
  const auto data = sv::data::fashion_mnist();
  BOOST_TEST(data.train.images.shape() == (sv::Shape{60000, 1, 28, 28}));
  BOOST_TEST(data.test.images.shape() == (sv::Shape{10000, 1, 28, 28}));
  BOOST_TEST(data.test.labels.shape() == (sv::Shape{10000}));
  // the subset is the first 1000 objects
  const auto subset = sv::data::fashion_mnist(subset_dir);
  BOOST_TEST(std::equal(subset.test.images.begin(), subset.test.images.end(), data.test.images.begin()));
  BOOST_TEST(std::equal(subset.train.labels.begin(), subset.train.labels.end(), data.train.labels.begin()));
}

BOOST_AUTO_TEST_CASE(plain_files_and_any_rank) {
  TempDir dir;
  const auto raw = sv::data::read_idx_images_u8(subset_dir / "t10k-images-idx3-ubyte.gz");
  write_bytes(dir / "images", idx_bytes(0x08, {1000, 28, 28}, {reinterpret_cast<const char*>(raw.data()), 784000}));
  const auto plain = sv::data::read_idx_images_u8(dir / "images");
  BOOST_TEST(std::equal(plain.begin(), plain.end(), raw.begin(), raw.end()));
  write_bytes(dir / "cube", idx_bytes(0x08, {2, 1, 2, 3}, "abcdefghijkl"));
  const auto cube = sv::data::read_idx(dir / "cube");
  BOOST_TEST(cube.shape() == (sv::Shape{2, 1, 2, 3}));
  BOOST_TEST(cube(1, 0, 1, 2) == 'l');
}

BOOST_AUTO_TEST_CASE(corrupted_copies_are_refused) {
  TempDir dir;
  const std::string labels = idx_bytes(0x08, {5}, "\x01\x02\x03\x04\x05");
  write_bytes(dir / "magic", std::string("\x1f\x00\x08\x01\x00\x00\x00\x01\x07", 9));
  BOOST_CHECK_EXCEPTION(sv::data::read_idx_labels(dir / "magic"), IoError,
                        message_has({"read_idx_labels", "magic", "not an IDX file", "1f 00 08 01"}));
  write_bytes(dir / "labels_as_images", labels);
  BOOST_CHECK_EXCEPTION(sv::data::read_idx_images(dir / "labels_as_images"), IoError,
                        message_has({"read_idx_images", "labels_as_images", "0x00000801", "rank 3", "0x00000803"}));
  write_bytes(dir / "float", idx_bytes(0x0d, {2}, "12345678"));
  BOOST_CHECK_EXCEPTION(sv::data::read_idx(dir / "float"), IoError, message_has({"float", "IDX type 0x0d"}));
  write_bytes(dir / "short", labels.substr(0, labels.size() - 2));
  BOOST_CHECK_EXCEPTION(sv::data::read_idx_labels(dir / "short"), IoError,
                        message_has({"short", "truncated", "header says 5 = 5 bytes", "the file has 3"}));
  write_bytes(dir / "header", labels.substr(0, 6));
  BOOST_CHECK_EXCEPTION(sv::data::read_idx_labels(dir / "header"), IoError, message_has({"header", "truncated"}));
  write_bytes(dir / "long", labels + "xyz");
  BOOST_CHECK_EXCEPTION(sv::data::read_idx_labels(dir / "long"), IoError, message_has({"long", "bytes after the data"}));
  write_bytes(dir / "empty", "");
  BOOST_CHECK_EXCEPTION(sv::data::read_idx_labels(dir / "empty"), IoError, message_has({"empty", "0 bytes"}));
  BOOST_CHECK_EXCEPTION(sv::data::read_idx_labels(dir / "missing.gz"), IoError, message_has({"missing.gz", "cannot be opened"}));

  // gzip: cut in the middle of the stream, and a damaged stream
  const std::string gz = read_bytes(subset_dir / "train-images-idx3-ubyte.gz");
  write_bytes(dir / "cut.gz", gz.substr(0, gz.size() / 2));
  BOOST_CHECK_EXCEPTION(sv::data::read_idx_images(dir / "cut.gz"), IoError,
                        message_has({"cut.gz", "truncated", "1000 x 28 x 28 = 784000 bytes"}));
  write_bytes(dir / "tail.gz", gz.substr(0, gz.size() - 4));  // only the gzip trailer's length is missing
  BOOST_CHECK_EXCEPTION(sv::data::read_idx_images(dir / "tail.gz"), IoError, message_has({"tail.gz", "truncated"}));
  std::string damaged = gz;
  for (std::size_t i = gz.size() / 3; i < gz.size() / 3 + 64; ++i) damaged[i] = static_cast<char>(~damaged[i]);
  write_bytes(dir / "damaged.gz", damaged);
  BOOST_CHECK_THROW(sv::data::read_idx_images(dir / "damaged.gz"), IoError);

  // images and labels that disagree
  const auto raw = sv::data::read_idx_images_u8(subset_dir / "train-images-idx3-ubyte.gz");
  write_bytes(dir / "img.gz", gzip(idx_bytes(0x08, {3, 28, 28}, {reinterpret_cast<const char*>(raw.data()), 3 * 784})));
  write_bytes(dir / "lbl.gz", gzip(idx_bytes(0x08, {2}, "\x01\x02")));
  BOOST_CHECK_EXCEPTION(sv::data::read_idx_dataset(dir / "img.gz", dir / "lbl.gz"), IoError,
                        message_has({"read_idx_dataset", "img.gz has 3 images", "lbl.gz has 2 labels"}));
  BOOST_TEST(!sv::data::has_fashion_mnist(dir.path));
  BOOST_CHECK_EXCEPTION(sv::data::fashion_mnist(dir.path), IoError,
                        message_has({"fashion_mnist", "train-images-idx3-ubyte.gz", "dataset-fashion-mnist"}));
}

BOOST_AUTO_TEST_SUITE_END()
