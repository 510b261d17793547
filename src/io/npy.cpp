#include "svertka/io/npy.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

// The .npy layout: the magic string, a major and a minor version byte, the header length (2 bytes
// little-endian in version 1.0, 4 bytes in 2.0 and 3.0), then the header, a Python dict literal
// such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and ending
// in '\n', then the raw elements in C order.

namespace svertka::io {
namespace {

static_assert(std::endian::native == std::endian::little,
              "svertka's .npy support writes and reads the machine's bytes as little-endian data");

constexpr std::string_view magic{"\x93NUMPY", 6};
constexpr std::size_t data_alignment = 64;

//! Who is reading or writing what, for error messages: "load_npy: data.npy ...".
struct Where {
  std::string_view fn;
  std::string name;
};

[[noreturn]] void fail(const Where& w, std::string_view problem) {
  throw IoError(fmt::format("{}: {} {}", w.fn, w.name, problem));
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

template <class T>
constexpr std::string_view descr_of() {
  if constexpr (std::is_same_v<T, float>) return "<f4";
  else if constexpr (std::is_same_v<T, double>) return "<f8";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "<i8";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "<i4";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "|u1";
}

// ---- writing ------------------------------------------------------------------------------------

//! A shape as a Python tuple: `()`, `(5,)`, `(2, 3)`.
std::string tuple_text(std::span<const std::int64_t> dims) {
  return fmt::format("({}{})", fmt::join(dims, ", "), dims.size() == 1 ? "," : "");
}

//! Preamble and header of a version 1.0 file, padded so that the data starts at a multiple of 64.
std::string make_header(std::string_view descr, const Shape& s) {
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr,
                                 tuple_text({s.begin(), s.end()}));
  const std::size_t preamble = magic.size() + 4;  // magic, 2 version bytes, 2 length bytes
  const std::size_t unpadded = preamble + dict.size() + 1;
  const std::size_t total = (unpadded + data_alignment - 1) / data_alignment * data_alignment;
  dict.append(total - unpadded, ' ');
  dict += '\n';
  const std::size_t len = dict.size();  // < 65536: a rank-6 shape keeps the dict short
  std::string out(magic);
  out += {'\x01', '\x00', static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  return out + dict;
}

template <class T>
void require_defined(const Tensor<T>& t, const Where& w) {
  if (!t.defined())
    throw OptionError(fmt::format("{}: the tensor for {} is undefined (default-constructed)", w.fn, w.name));
}

//! Writes to `path` + ".tmp" and renames it over `path` on commit(); removes it otherwise.
class AtomicFile {
 public:
  AtomicFile(const std::filesystem::path& path, const Where& w) : path_(path), tmp_(path), where_(w) {
    tmp_ += ".tmp";
    file_ = std::fopen(tmp_.c_str(), "wb");
    if (!file_) fail(where_, fmt::format("cannot be written ({} cannot be opened: {})", tmp_.string(), errno_text(errno)));
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (file_) std::fclose(file_);
    if (!committed_) {
      std::error_code ignored;
      std::filesystem::remove(tmp_, ignored);
    }
  }

  void write(const void* bytes, std::size_t n) {
    if (n != 0 && std::fwrite(bytes, 1, n, file_) != n)
      fail(where_, fmt::format("cannot be written (writing {} failed: {})", tmp_.string(), errno_text(errno)));
  }

  void commit() {
    const int closed = std::fclose(std::exchange(file_, nullptr));
    if (closed != 0)
      fail(where_, fmt::format("cannot be written (closing {} failed: {})", tmp_.string(), errno_text(errno)));
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) fail(where_, fmt::format("cannot be written (renaming {} to it failed: {})", tmp_.string(), ec.message()));
    committed_ = true;
  }

 private:
  std::filesystem::path path_, tmp_;
  const Where& where_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// ---- reading the preamble ----------------------------------------------------------------------

//! Where the header and the data start, read from the preamble.
struct Preamble {
  std::uint64_t header_start = 0, data_start = 0;
};

//! Checks the magic string and the version in `lead`, the first 12 bytes (or all there are).
Preamble read_preamble(std::string_view lead, const Where& w) {
  if (lead.empty()) fail(w, "is empty (0 bytes), not an .npy file");
  if (lead.substr(0, magic.size()) != magic.substr(0, std::min(lead.size(), magic.size())))
    fail(w, "is not an .npy file (it does not start with the magic string \\x93NUMPY)");
  if (lead.size() < 8) fail(w, fmt::format("is truncated ({} bytes, shorter than the .npy preamble)", lead.size()));
  const int major = static_cast<unsigned char>(lead[6]), minor = static_cast<unsigned char>(lead[7]);
  if (major < 1 || major > 3 || minor != 0)
    fail(w, fmt::format("has .npy format version {}.{}; versions 1.0, 2.0 and 3.0 are supported", major, minor));
  const std::size_t len_bytes = major == 1 ? 2 : 4;  // little-endian header length
  if (lead.size() < 8 + len_bytes) fail(w, "is truncated (it ends inside the header length)");
  std::uint64_t header_len = 0;
  for (std::size_t i = len_bytes; i-- > 0;) header_len = header_len << 8 | static_cast<unsigned char>(lead[8 + i]);
  return {8 + len_bytes, 8 + len_bytes + header_len};
}

struct HeaderFields {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
};

//! Parses the header dict: three keys in any order, single- or double-quoted, spaces anywhere,
//! an optional trailing comma, shape `()`, `(5,)` or `(2, 3)` (a Python 2 `L` suffix is allowed).
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const Where& w) : text_(text), where_(w) {}

  HeaderFields parse() {
    expect('{', "at the start");
    while (!eat('}')) {
      const std::string key = quoted();
      expect(':', fmt::format("after key '{}'", key));
      value_for(key);
      if (!eat(',')) {
        expect('}', "after a value");
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) garbled("text after the closing '}'");
    for (std::size_t k = 0; k < keys.size(); ++k)
      if (!seen_[k]) garbled(fmt::format("key '{}' is missing", keys[k]));
    return fields_;
  }

 private:
  static constexpr std::array<std::string_view, 3> keys{"descr", "fortran_order", "shape"};

  void value_for(const std::string& key) {
    const auto k = static_cast<std::size_t>(std::find(keys.begin(), keys.end(), key) - keys.begin());
    if (k == keys.size()) garbled(fmt::format("unknown key '{}'", key));
    if (seen_[k]) garbled(fmt::format("key '{}' appears twice", key));
    seen_[k] = true;
    if (k == 0) {
      if (peek() == '[' || peek() == '{') fail(where_, "holds a structured dtype; only plain numeric arrays are supported");
      fields_.descr = quoted();
    } else if (k == 1) {
      fields_.fortran_order = boolean();
    } else {
      fields_.shape = int_tuple();
    }
  }

  [[noreturn]] void garbled(std::string_view what) const {
    fail(where_, fmt::format("has a garbled header: {} (at character {} of the header)", what, pos_));
  }
  void skip_space() {
    while (pos_ < text_.size() && std::string_view(" \t\r\n").find(text_[pos_]) != std::string_view::npos) ++pos_;
  }
  //! The next character after spaces, or '\0' at the end.
  char peek() {
    skip_space();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c, std::string_view context) {
    if (!eat(c)) garbled(fmt::format("expected '{}' {}", c, context));
  }

  std::string quoted() {
    const char q = peek();
    if (q != '\'' && q != '"') garbled("expected a quoted string");
    const std::size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != q) {
      if (text_[pos_] == '\\' || text_[pos_] == '\n') garbled("escapes and line breaks in strings are not supported");
      ++pos_;
    }
    if (pos_ == text_.size()) garbled("unterminated string");
    return std::string(text_.substr(start, pos_++ - start));
  }

  bool boolean() {
    skip_space();
    for (const bool value : {true, false}) {
      const std::string_view word = value ? "True" : "False";
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += word.size();
        return value;
      }
    }
    garbled("expected True or False");
  }

  std::int64_t integer() {
    if (peek() == '-') fail(where_, "has a negative dimension in its shape");
    if (pos_ == text_.size() || text_[pos_] < '0' || text_[pos_] > '9') garbled("expected a dimension");
    constexpr std::int64_t limit = std::int64_t{1} << 62;
    std::int64_t v = 0;
    for (; pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; ++pos_) {
      v = v * 10 + (text_[pos_] - '0');
      if (v > limit) garbled("a dimension is too large");
    }
    if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
    return v;
  }

  std::vector<std::int64_t> int_tuple() {
    expect('(', "to open the shape tuple");
    std::vector<std::int64_t> dims;
    bool comma = false;
    while (!eat(')')) {
      dims.push_back(integer());
      comma = eat(',');
      if (!comma) {
        expect(')', "to close the shape tuple");
        break;
      }
    }
    if (dims.size() == 1 && !comma) garbled("shape (n) is not a tuple; a 1-element shape is written (n,)");
    return dims;
  }

  std::string_view text_;
  const Where& where_;
  std::size_t pos_ = 0;
  std::array<bool, keys.size()> seen_{};
  HeaderFields fields_;
};

// ---- checking the header against T ----------------------------------------------------------------

struct Descr {
  char order = 0, kind = 0;
  int size = 0;
};

std::optional<Descr> split_descr(std::string_view d) {
  if (d.size() < 3 || d.size() > 4 || std::string_view("<>|=").find(d[0]) == std::string_view::npos ||
      std::string_view("fiucb").find(d[1]) == std::string_view::npos)
    return {};
  Descr r{d[0], d[1], 0};
  for (char c : d.substr(2)) {
    if (c < '0' || c > '9') return {};
    r.size = r.size * 10 + (c - '0');
  }
  return r;
}

//! numpy's name of a descr: float64, int32, uint8, complex64, bool, or the descr itself.
std::string type_name(const Descr& d, std::string_view descr) {
  const int bits = d.size * 8;
  switch (d.kind) {
    case 'f': return fmt::format("float{}", bits);
    case 'i': return fmt::format("int{}", bits);
    case 'u': return fmt::format("uint{}", bits);
    case 'c': return fmt::format("complex{}", bits);
    default: return d.size == 1 ? "bool" : fmt::format("'{}'", descr);
  }
}

template <class T>
void check_descr(std::string_view descr, const Where& w) {
  const std::optional<Descr> d = split_descr(descr);
  if (!d) fail(w, fmt::format("holds dtype '{}', which is not a plain numeric type", descr));
  if (d->order == '>' && d->size != 1)
    fail(w, fmt::format("holds big-endian data ('{}'); only little-endian data is supported", descr));
  if (d->order == '|' && d->size != 1)
    fail(w, fmt::format("has a garbled header: byte order '|' in '{}' is only valid for 1-byte types", descr));
  const std::string_view want = descr_of<T>();
  if (d->kind != want[1] || d->size != static_cast<int>(sizeof(T)))
    fail(w, fmt::format("holds {} but {} was asked for", type_name(*d, descr), dtype_name<T>()));
}

//! What the header describes: the shape, the data size in bytes and (set by read_layout) its offset.
struct Layout {
  Shape shape;
  std::uint64_t bytes = 0;
  std::uint64_t data_start = 0;
};

template <class T>
Layout check_fields(const HeaderFields& h, const Where& w) {
  check_descr<T>(h.descr, w);
  if (h.fortran_order)
    fail(w, "stores its array in Fortran (column-major) order; only C order is supported");
  if (h.shape.size() > static_cast<std::size_t>(Shape::max_rank))
    fail(w, fmt::format("has rank {} (shape {}); at most {} dimensions are supported", h.shape.size(),
                        tuple_text(h.shape), Shape::max_rank));
  std::uint64_t bytes = sizeof(T);
  constexpr std::uint64_t limit = std::uint64_t{1} << 62;
  for (std::int64_t d : h.shape) {
    if (d == 0) return {Shape::from_range(h.shape.begin(), h.shape.end()), 0, 0};
    if (bytes > limit / static_cast<std::uint64_t>(d))
      fail(w, fmt::format("has an impossibly large shape {}", tuple_text(h.shape)));
    bytes *= static_cast<std::uint64_t>(d);
  }
  return {Shape::from_range(h.shape.begin(), h.shape.end()), bytes, 0};
}

//! Checks `prefix` (preamble and header) of an .npy image of `total` bytes and returns its layout.
template <class T>
Layout read_layout(std::string_view prefix, std::uint64_t total, const Where& w) {
  const Preamble p = read_preamble(prefix, w);
  if (total < p.data_start)
    fail(w, fmt::format("is truncated (its header should have {} bytes, the file has {} after the preamble)",
                        p.data_start - p.header_start, total - p.header_start));
  const std::string_view header = prefix.substr(p.header_start, p.data_start - p.header_start);
  Layout layout = check_fields<T>(HeaderParser(header, w).parse(), w);
  layout.data_start = p.data_start;
  const std::uint64_t have = total - p.data_start;  // checked before a corrupt header gets memory
  if (have < layout.bytes)
    fail(w, fmt::format("is truncated (header says {} bytes of data, file has {})", layout.bytes, have));
  if (have > layout.bytes)
    fail(w, fmt::format("has {} bytes after the data (header says {} bytes of data, file has {})",
                        have - layout.bytes, layout.bytes, have));
  return layout;
}

//! A file open for reading, with its size.
class InputFile {
 public:
  InputFile(const std::filesystem::path& path, const Where& w) : where_(w) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) fail(w, "is a directory, not an .npy file");
    file_.reset(std::fopen(path.c_str(), "rb"));
    if (!file_) fail(w, fmt::format("cannot be opened for reading ({})", errno_text(errno)));
    size_ = std::filesystem::file_size(path, ec);
    if (ec) fail(w, fmt::format("cannot be read ({})", ec.message()));
  }
  std::uint64_t size() const { return size_; }
  //! Reads exactly `n` bytes (the size was checked, so a short read is an error).
  void read(void* dst, std::size_t n) {
    if (n != 0 && std::fread(dst, 1, n, file_.get()) != n)
      fail(where_, std::ferror(file_.get()) ? fmt::format("cannot be read ({})", errno_text(errno))
                                            : std::string("became shorter while being read"));
  }

 private:
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  const Where& where_;
  std::unique_ptr<std::FILE, Closer> file_;
  std::uint64_t size_ = 0;
};

}  // namespace

template <class T>
std::string to_npy_bytes(const Tensor<T>& t) {
  require_defined(t, Where{"to_npy_bytes", "an in-memory .npy"});
  std::string out = make_header(descr_of<T>(), t.shape());
  out.append(reinterpret_cast<const char*>(t.data()), static_cast<std::size_t>(t.numel()) * sizeof(T));
  return out;
}

template <class T>
void save_npy(const std::filesystem::path& path, const Tensor<T>& t) {
  const Where w{"save_npy", path.string()};
  require_defined(t, w);
  const std::string header = make_header(descr_of<T>(), t.shape());
  AtomicFile file(path, w);
  file.write(header.data(), header.size());
  file.write(t.data(), static_cast<std::size_t>(t.numel()) * sizeof(T));
  file.commit();
}

template <class T>
Tensor<T> from_npy_bytes(std::string_view bytes, std::string_view what) {
  const Where w{"from_npy_bytes", std::string(what)};
  const Layout layout = read_layout<T>(bytes, bytes.size(), w);
  Tensor<T> t = Tensor<T>::empty(layout.shape);
  if (layout.bytes != 0) std::memcpy(t.data(), bytes.data() + layout.data_start, layout.bytes);
  return t;
}

template <class T>
Tensor<T> load_npy(const std::filesystem::path& path) {
  const Where w{"load_npy", path.string()};
  InputFile file(path, w);
  // Preamble first, then the rest of the header unless it would end past the end of the file (then
  // read_layout reports the truncation). A valid header is longer than 2 bytes, so the 12 bytes
  // read first never reach into the data.
  std::string prefix(std::min<std::uint64_t>(file.size(), 12), '\0');
  file.read(prefix.data(), prefix.size());
  const std::uint64_t header_end = read_preamble(prefix, w).data_start;
  if (header_end <= file.size() && header_end > prefix.size()) {
    const std::size_t lead = prefix.size();
    prefix.resize(header_end);
    file.read(prefix.data() + lead, header_end - lead);
  }
  const Layout layout = read_layout<T>(prefix, file.size(), w);
  Tensor<T> t = Tensor<T>::empty(layout.shape);
  file.read(t.data(), layout.bytes);
  return t;
}

#define SVERTKA_IO_NPY_INSTANTIATE(T)                                           \
  template void save_npy<T>(const std::filesystem::path&, const Tensor<T>&);   \
  template Tensor<T> load_npy<T>(const std::filesystem::path&);                \
  template std::string to_npy_bytes<T>(const Tensor<T>&);                      \
  template Tensor<T> from_npy_bytes<T>(std::string_view, std::string_view);
SVERTKA_IO_NPY_INSTANTIATE(float)
SVERTKA_IO_NPY_INSTANTIATE(double)
SVERTKA_IO_NPY_INSTANTIATE(std::int64_t)
SVERTKA_IO_NPY_INSTANTIATE(std::int32_t)
SVERTKA_IO_NPY_INSTANTIATE(std::uint8_t)
#undef SVERTKA_IO_NPY_INSTANTIATE

}  // namespace svertka::io
