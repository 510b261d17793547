#include "svertka/data/idx.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <zlib.h>

namespace svertka::data {
namespace fs = std::filesystem;
namespace {

using io::IoError;

constexpr std::uint8_t ubyte_type = 0x08;

//! A file read through zlib (plain files pass through unchanged).
class GzFile {
 public:
  GzFile(const fs::path& path, std::string_view fn) : path_(path), fn_(fn) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) fail("is a directory, not an IDX file");
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (!file_)
      fail(fmt::format("cannot be opened ({})",
                       errno ? std::error_code(errno, std::generic_category()).message() : "out of memory"));
    gzbuffer(file_, 1 << 17);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  ~GzFile() {
    if (file_) gzclose(file_);
  }

  //! Reads up to n bytes; returns how many were read (fewer only at the end of the data).
  std::size_t read(void* dst, std::size_t n) {
    std::size_t done = 0;
    auto* out = static_cast<unsigned char*>(dst);
    while (done < n) {
      const auto want = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
      const int got = gzread(file_, out + done, want);
      if (got < 0) corrupt();
      if (got == 0) break;
      crc_ = crc32(crc_, out + done, static_cast<uInt>(got));
      total_ += static_cast<std::uint64_t>(got);
      done += static_cast<std::size_t>(got);
    }
    int err = Z_OK;
    gzerror(file_, &err);
    if (err != Z_OK && err != Z_BUF_ERROR) corrupt();  // Z_BUF_ERROR: the stream ended early (truncated)
    return done;
  }
  //! True when the compressed stream ended before its end marker (a truncated .gz file).
  bool stream_truncated() {
    int err = Z_OK;
    gzerror(file_, &err);
    return err == Z_BUF_ERROR;
  }

  //! For a gzip file read to its end: zlib does not notice a missing trailer when the compressed
  //! data are complete, so the trailer (CRC-32 and length of all the data read) is checked here. A
  //! file of several gzip members would fail this check; IDX files have one.
  void verify_gzip_trailer() {
    if (gzdirect(file_)) return;
    unsigned char t[8] = {};
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> raw(std::fopen(path_.c_str(), "rb"), &std::fclose);
    const bool got = raw && std::fseek(raw.get(), -8, SEEK_END) == 0 && std::fread(t, 1, 8, raw.get()) == 8;
    const std::uint32_t crc = t[0] | t[1] << 8 | t[2] << 16 | std::uint32_t{t[3]} << 24;
    const std::uint32_t size = t[4] | t[5] << 8 | t[6] << 16 | std::uint32_t{t[7]} << 24;
    if (!got || crc != static_cast<std::uint32_t>(crc_) || size != static_cast<std::uint32_t>(total_))
      fail(fmt::format("is truncated or corrupt: its gzip trailer does not match the {} bytes of data read", total_));
  }

  [[noreturn]] void fail(std::string_view problem) const {
    throw IoError(fmt::format("{}: {} {}", fn_, path_.string(), problem));
  }

 private:
  [[noreturn]] void corrupt() {
    int err = Z_OK;
    const char* msg = gzerror(file_, &err);
    fail(fmt::format("is corrupt (zlib: {})", msg ? msg : "unknown error"));
  }

  fs::path path_;
  std::string_view fn_;
  gzFile file_ = nullptr;
  uLong crc_ = crc32(0L, Z_NULL, 0);
  std::uint64_t total_ = 0;
};

std::string hex(const unsigned char* b, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += fmt::format("{}{:02x}", i ? " " : "", b[i]);
  return s;
}

Tensor<std::uint8_t> read_any(const fs::path& path, std::string_view fn, int want_rank) {
  GzFile f(path, fn);
  std::array<unsigned char, 4> magic{};
  const std::size_t got = f.read(magic.data(), 4);
  if (got == 0) f.fail("is empty (0 bytes), not an IDX file");
  if (got < 4) f.fail(fmt::format("is truncated ({} bytes, shorter than the 4-byte magic number)", got));
  const int rank = magic[3];
  if (magic[0] != 0 || magic[1] != 0 || rank < 1 || rank > Shape::max_rank)
    f.fail(fmt::format("is not an IDX file (magic bytes {}; expected 00 00 08 0r with rank r in 1..{})",
                       hex(magic.data(), 4), Shape::max_rank));
  if (magic[2] != ubyte_type)
    f.fail(fmt::format("holds IDX type 0x{:02x}; only unsigned bytes (0x08) are supported", magic[2]));
  if (want_rank > 0 && rank != want_rank)
    f.fail(fmt::format("has magic number 0x{:08x} (a rank-{} array) but {} needs rank {} (magic 0x{:08x})",
                       0x800 + rank, rank, want_rank == 3 ? "images" : "labels", want_rank, 0x800 + want_rank));
  std::array<unsigned char, 4 * Shape::max_rank> dims_raw{};
  const std::size_t dims_bytes = 4 * static_cast<std::size_t>(rank);
  if (f.read(dims_raw.data(), dims_bytes) < dims_bytes)
    f.fail(fmt::format("is truncated (it ends inside the {} dimension sizes of its header)", rank));
  Shape shape;
  std::uint64_t bytes = 1;
  std::string dims_text;
  for (int d = 0; d < rank; ++d) {
    const unsigned char* b = dims_raw.data() + 4 * d;
    const std::uint32_t n = std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
    if (n > (std::uint32_t{1} << 31)) f.fail(fmt::format("has an impossible dimension size {} in its header", n));
    shape.push_back(n);
    bytes *= n;
    if (bytes > (std::uint64_t{1} << 40)) f.fail("has an impossibly large shape in its header");
    dims_text += fmt::format("{}{}", d ? " x " : "", n);
  }
  auto t = Tensor<std::uint8_t>::empty(shape);
  const std::size_t have = f.read(t.data(), bytes);
  if (have < bytes)
    f.fail(fmt::format("is truncated: its header says {} = {} bytes of data, the file has {}{}", dims_text, bytes, have,
                       f.stream_truncated() ? " (the gzip stream ends early)" : ""));
  unsigned char extra = 0;
  if (f.read(&extra, 1) != 0)
    f.fail(fmt::format("has bytes after the data (its header says {} = {} bytes of data)", dims_text, bytes));
  if (f.stream_truncated()) f.fail("is truncated (the gzip stream ends before its end marker)");
  f.verify_gzip_trailer();
  return t;
}

}  // namespace

Tensor<std::uint8_t> read_idx(const fs::path& path) { return read_any(path, "read_idx", 0); }

Tensor<std::uint8_t> read_idx_images_u8(const fs::path& path) {
  Tensor<std::uint8_t> t = read_any(path, "read_idx_images", 3);
  return t.reshape({t.dim(0), 1, t.dim(1), t.dim(2)});
}

Tensor<float> read_idx_images(const fs::path& path) {
  const Tensor<std::uint8_t> raw = read_idx_images_u8(path);
  auto out = Tensor<float>::empty(raw.shape());
  const std::uint8_t* src = raw.data();
  float* dst = out.data();
  for (std::int64_t i = 0; i < raw.numel(); ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
  return out;
}

Tensor<std::int64_t> read_idx_labels(const fs::path& path) {
  const Tensor<std::uint8_t> raw = read_any(path, "read_idx_labels", 1);
  auto out = Tensor<std::int64_t>::empty(raw.shape());
  for (std::int64_t i = 0; i < raw.numel(); ++i) out.data()[i] = raw.data()[i];
  return out;
}

Dataset read_idx_dataset(const fs::path& images, const fs::path& labels) {
  Dataset d{read_idx_images(images), read_idx_labels(labels)};
  if (d.images.dim(0) != d.labels.dim(0))
    throw IoError(fmt::format("read_idx_dataset: {} has {} images but {} has {} labels", images.string(),
                              d.images.dim(0), labels.string(), d.labels.dim(0)));
  return d;
}

fs::path default_fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

namespace {
constexpr std::array<std::string_view, 4> fmnist_files{"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                       "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

//! `dir/name.gz` if it exists, else `dir/name` if it exists, else empty.
fs::path find_file(const fs::path& dir, std::string_view name) {
  std::error_code ec;
  for (const fs::path& p : {dir / (std::string(name) + ".gz"), dir / std::string(name)})
    if (fs::is_regular_file(p, ec)) return p;
  return {};
}
}  // namespace

bool has_fashion_mnist(const fs::path& dir) {
  for (std::string_view f : fmnist_files)
    if (find_file(dir, f).empty()) return false;
  return true;
}

FashionMnist fashion_mnist(const fs::path& dir) {
  std::array<fs::path, 4> p;
  for (std::size_t i = 0; i < p.size(); ++i) {
    p[i] = find_file(dir, fmnist_files[i]);
    if (p[i].empty())
      throw IoError(fmt::format("fashion_mnist: {} has neither {}.gz nor {} (Debian's dataset-fashion-mnist installs "
                                "them in {})",
                                dir.string(), fmnist_files[i], fmnist_files[i], default_fashion_mnist_dir().string()));
  }
  return {read_idx_dataset(p[0], p[1]), read_idx_dataset(p[2], p[3])};
}

}  // namespace svertka::data
