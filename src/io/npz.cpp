#include "svertka/io/npz.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include "svertka/core/error.hpp"
#include "svertka/io/npy.hpp"

// The zip layout written (APPNOTE 6.3): for each member a local file header (30 bytes + name) and
// the data; then the central directory, one 46-byte header + name per member; then the 22-byte
// end-of-central-directory record. All numbers little-endian.

namespace svertka::io {
namespace {

constexpr std::uint32_t local_sig = 0x04034b50, central_sig = 0x02014b50, end_sig = 0x06054b50;
constexpr std::uint16_t version = 20;       // 2.0
constexpr std::uint16_t dos_date = 0x21;    // 1980-01-01, time 00:00: the same bytes every time
constexpr std::uint16_t utf8_flag = 1 << 11;
constexpr std::uint64_t u32_max = 0xffffffffu;

void put16(std::string& s, std::uint16_t v) { s += {static_cast<char>(v & 0xff), static_cast<char>(v >> 8)}; }
void put32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint32_t crc_of(std::string_view b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t done = 0;
  while (done < b.size()) {  // crc32 takes a uInt length
    const auto n = static_cast<uInt>(std::min<std::size_t>(b.size() - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(b.data() + done), n);
    done += n;
  }
  return static_cast<std::uint32_t>(crc);
}

// ---- reading ------------------------------------------------------------------------------------

//! Error context: "load_npz: ckpt.npz: ..." or "from_npz_bytes: <what>: ...".
struct Where {
  std::string_view fn;
  std::string name;
  [[noreturn]] void fail(std::string_view problem) const { throw IoError(fmt::format("{}: {}: {}", fn, name, problem)); }
};

struct Reader {
  std::string_view bytes;
  const Where& where;
  std::uint64_t u16(std::uint64_t at) const { return std::uint8_t(bytes[at]) | std::uint64_t(std::uint8_t(bytes[at + 1])) << 8; }
  std::uint64_t u32(std::uint64_t at) const { return u16(at) | u16(at + 2) << 16; }
  std::uint64_t u64(std::uint64_t at) const { return u32(at) | u32(at + 4) << 32; }
  void need(std::uint64_t at, std::uint64_t n, std::string_view what) const {
    if (at > bytes.size() || n > bytes.size() - at)
      where.fail(fmt::format("is truncated ({} at byte {} needs {} bytes, the archive has {})", what, at, n, bytes.size()));
  }
};

//! The end-of-central-directory record: searched backwards (it may be followed by a comment).
std::uint64_t find_end_record(const Reader& r) {
  const std::uint64_t size = r.bytes.size();
  if (size == 0) r.where.fail("is empty (0 bytes), not an .npz archive");
  if (size >= 4 && r.u32(0) != local_sig && r.u32(0) != end_sig)
    r.where.fail("is not an .npz archive (it does not start with a zip local file header)");
  if (size < 22) r.where.fail(fmt::format("is truncated ({} bytes, shorter than a zip end record)", size));
  const std::uint64_t lowest = size > 22 + 0xffff ? size - 22 - 0xffff : 0;
  for (std::uint64_t at = size - 22 + 1; at-- > lowest;)
    if (r.u32(at) == end_sig && at + 22 + r.u16(at + 20) == size) return at;
  r.where.fail("is truncated or not a zip archive (no end-of-central-directory record)");
}

struct Member {
  std::string name;
  std::uint64_t method = 0, flags = 0, crc = 0, csize = 0, usize = 0, offset = 0;
};

//! Sizes and offset given as 0xffffffff in a central header are in its zip64 extra field (id 1).
void read_zip64(const Reader& r, std::uint64_t extra, std::uint64_t extra_len, Member& m) {
  std::uint64_t at = extra;
  while (at + 4 <= extra + extra_len) {
    const std::uint64_t id = r.u16(at), len = r.u16(at + 2);
    if (at + 4 + len > extra + extra_len) break;
    if (id == 1) {
      std::uint64_t p = at + 4;
      for (std::uint64_t* field : {&m.usize, &m.csize, &m.offset}) {
        if (*field != u32_max) continue;
        if (p + 8 > at + 4 + len) r.where.fail(fmt::format("member '{}' has a short zip64 extra field", m.name));
        *field = r.u64(p);
        p += 8;
      }
      return;
    }
    at += 4 + len;
  }
  if (m.usize == u32_max || m.csize == u32_max || m.offset == u32_max)
    r.where.fail(fmt::format("member '{}' lacks the zip64 extra field its sizes call for", m.name));
}

std::vector<Member> read_central_directory(const Reader& r) {
  const std::uint64_t end = find_end_record(r);
  const std::uint64_t count = r.u16(end + 10), cd_size = r.u32(end + 12), cd_offset = r.u32(end + 16);
  if (r.u16(end + 4) != 0 || r.u16(end + 6) != 0 || r.u16(end + 8) != count)
    r.where.fail("is a multi-disk zip archive, which is not supported");
  if (count == 0xffff || cd_offset == u32_max || cd_size == u32_max)
    r.where.fail("is a zip64 archive (over 65535 members or 4 GiB), which is not supported");
  if (cd_offset + cd_size > end)
    r.where.fail(fmt::format("is truncated or corrupt (its central directory at bytes {}..{} runs past its end record "
                             "at {})",
                             cd_offset, cd_offset + cd_size, end));
  std::vector<Member> members;
  std::uint64_t at = cd_offset;
  for (std::uint64_t i = 0; i < count; ++i) {
    r.need(at, 46, "a central directory header");
    if (r.u32(at) != central_sig)
      r.where.fail(fmt::format("is corrupt (central directory entry {} at byte {} has a bad signature)", i, at));
    Member m;
    m.flags = r.u16(at + 8);
    m.method = r.u16(at + 10);
    m.crc = r.u32(at + 16);
    m.csize = r.u32(at + 20);
    m.usize = r.u32(at + 24);
    const std::uint64_t name_len = r.u16(at + 28), extra_len = r.u16(at + 30), comment_len = r.u16(at + 32);
    m.offset = r.u32(at + 42);
    r.need(at + 46, name_len + extra_len + comment_len, "a central directory entry");
    m.name = std::string(r.bytes.substr(at + 46, name_len));
    read_zip64(r, at + 46 + name_len, extra_len, m);
    at += 46 + name_len + extra_len + comment_len;
    if (at > cd_offset + cd_size) r.where.fail("is corrupt (its central directory is longer than the end record says)");
    members.push_back(std::move(m));
  }
  return members;
}

//! A member's bytes, uncompressed and checked against its CRC-32.
std::string member_data(const Reader& r, const Member& m) {
  const Where& w = r.where;
  r.need(m.offset, 30, fmt::format("member '{}' local header", m.name));
  if (r.u32(m.offset) != local_sig)
    w.fail(fmt::format("is corrupt (member '{}' has no local header at byte {})", m.name, m.offset));
  const std::uint64_t name_len = r.u16(m.offset + 26), extra_len = r.u16(m.offset + 28);
  r.need(m.offset + 30, name_len, fmt::format("member '{}' local header", m.name));
  if (r.bytes.substr(m.offset + 30, name_len) != m.name)
    w.fail(fmt::format("is corrupt (member '{}' has the name '{}' in its local header)", m.name,
                       r.bytes.substr(m.offset + 30, name_len)));
  if (m.flags & 1) w.fail(fmt::format("member '{}' is encrypted", m.name));
  const std::uint64_t start = m.offset + 30 + name_len + extra_len;
  r.need(start, m.csize, fmt::format("member '{}' data", m.name));
  const std::string_view raw = r.bytes.substr(start, m.csize);
  std::string data;
  if (m.method == 0) {
    if (m.csize != m.usize)
      w.fail(fmt::format("is corrupt (stored member '{}' has sizes {} and {})", m.name, m.csize, m.usize));
    data.assign(raw);
  } else if (m.method == 8) {
    if (m.usize > (std::uint64_t{1} << 40)) w.fail(fmt::format("member '{}' claims {} bytes", m.name, m.usize));
    data.resize(m.usize);
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) w.fail("cannot start zlib's inflate");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    z.avail_in = static_cast<uInt>(raw.size());
    z.next_out = reinterpret_cast<Bytef*>(data.data());
    z.avail_out = static_cast<uInt>(data.size());
    const int rc = inflate(&z, Z_FINISH);
    const std::uint64_t out = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END || out != m.usize)
      w.fail(fmt::format("member '{}' does not inflate to its {} bytes (zlib: {})", m.name, m.usize,
                         z.msg ? z.msg : rc == Z_STREAM_END ? "wrong size" : "data error or truncated"));
  } else {
    w.fail(fmt::format("member '{}' uses compression method {}; only stored (0) and deflated (8) are supported",
                       m.name, m.method));
  }
  const std::uint32_t crc = crc_of(data);
  if (crc != m.crc)
    w.fail(fmt::format("member '{}' fails its CRC-32 check (stored 0x{:08x}, computed 0x{:08x})", m.name, m.crc, crc));
  return data;
}

//! The descr of an .npy image's header (checked fully later by from_npy_bytes).
std::string peek_descr(std::string_view npy) {
  const std::size_t key = npy.find("descr");
  if (key == std::string_view::npos || key > 65536 + 12) return {};
  std::size_t q = npy.find_first_of("'\"", npy.find(':', key));
  if (q == std::string_view::npos) return {};
  const std::size_t close = npy.find(npy[q], q + 1);
  return close == std::string_view::npos ? std::string{} : std::string(npy.substr(q + 1, close - q - 1));
}

AnyTensor decode_npy(std::string_view npy, const std::string& what) {
  const std::string d = peek_descr(npy);
  const std::string_view t = d.size() >= 2 ? std::string_view(d).substr(1) : std::string_view{};
  if (t == "f4") return from_npy_bytes<float>(npy, what);
  if (t == "f8") return from_npy_bytes<double>(npy, what);
  if (t == "i8") return from_npy_bytes<std::int64_t>(npy, what);
  if (t == "i4") return from_npy_bytes<std::int32_t>(npy, what);
  if (t == "u1") return from_npy_bytes<std::uint8_t>(npy, what);
  // let the .npy reader say what is wrong with the header or type
  from_npy_bytes<float>(npy, what);
  throw IoError(fmt::format("from_npy_bytes: {} holds dtype '{}'; float32, float64, int64, int32 and uint8 are "
                            "supported",
                            what, d));
}

TensorDict decode(std::string_view bytes, const Where& w) {
  const Reader r{bytes, w};
  TensorDict out;
  for (const Member& m : read_central_directory(r)) {
    const std::string data = member_data(r, m);
    if (!std::string_view(m.name).ends_with(".npy") || m.name.size() == 4)
      w.fail(fmt::format("member '{}' is not an .npy array (its name does not end in .npy)", m.name));
    const std::string key = m.name.substr(0, m.name.size() - 4);
    if (out.contains(key)) w.fail(fmt::format("has two members named '{}'", m.name));
    try {
      out.set_any(key, decode_npy(data, fmt::format("{} member '{}'", w.name, m.name)));
    } catch (const IoError& e) {
      throw IoError(fmt::format("{}: {}", w.fn, e.what()));
    }
  }
  return out;
}

std::string read_file(const std::filesystem::path& path, const Where& w) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) w.fail("is a directory, not an .npz archive");
  std::ifstream in(path, std::ios::binary);
  if (!in) w.fail(fmt::format("cannot be opened for reading ({})", std::error_code(errno, std::generic_category()).message()));
  std::string bytes{std::istreambuf_iterator<char>(in), {}};
  if (in.bad()) w.fail("cannot be read");
  return bytes;
}

}  // namespace

std::string to_npz_bytes(const TensorDict& tensors) {
  std::string out, central;
  std::uint64_t count = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty()) throw OptionError("to_npz_bytes: a tensor has an empty name");
    const std::string member = name + ".npy";
    if (member.size() > 0xffff) throw OptionError(fmt::format("to_npz_bytes: the name '{}...' is too long", name.substr(0, 40)));
    const std::string data = std::visit([](const auto& t) { return to_npy_bytes(t); }, tensor);
    const std::uint32_t crc = crc_of(data);
    const std::uint64_t offset = out.size();
    if (offset + 30 + member.size() + data.size() > u32_max || count == 0xfffe)
      throw IoError(fmt::format("to_npz_bytes: the archive would exceed 4 GiB or 65535 members at '{}' (zip64 is not written)", name));
    bool utf8 = false;
    for (unsigned char c : member) utf8 |= c >= 0x80;
    const std::uint16_t flags = utf8 ? utf8_flag : 0;
    put32(out, local_sig);
    put16(out, version);
    put16(out, flags);
    put16(out, 0);  // stored
    put16(out, 0);
    put16(out, dos_date);
    put32(out, crc);
    put32(out, static_cast<std::uint32_t>(data.size()));
    put32(out, static_cast<std::uint32_t>(data.size()));
    put16(out, static_cast<std::uint16_t>(member.size()));
    put16(out, 0);
    out += member;
    out += data;

    put32(central, central_sig);
    put16(central, version);  // made by: MS-DOS, 2.0
    put16(central, version);
    put16(central, flags);
    put16(central, 0);
    put16(central, 0);
    put16(central, dos_date);
    put32(central, crc);
    put32(central, static_cast<std::uint32_t>(data.size()));
    put32(central, static_cast<std::uint32_t>(data.size()));
    put16(central, static_cast<std::uint16_t>(member.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, static_cast<std::uint32_t>(offset));
    central += member;
    ++count;
  }
  const std::uint64_t cd_offset = out.size();
  if (cd_offset + central.size() + 22 > u32_max) throw IoError("to_npz_bytes: the archive would exceed 4 GiB (zip64 is not written)");
  out += central;
  put32(out, end_sig);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint16_t>(count));
  put16(out, static_cast<std::uint16_t>(count));
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, static_cast<std::uint32_t>(cd_offset));
  put16(out, 0);
  return out;
}

TensorDict from_npz_bytes(std::string_view bytes, std::string_view what) {
  return decode(bytes, Where{"from_npz_bytes", std::string(what)});
}

TensorDict load_npz(const std::filesystem::path& path) {
  const Where w{"load_npz", path.string()};
  const std::string bytes = read_file(path, w);
  return decode(bytes, w);
}

void save_npz(const std::filesystem::path& path, const TensorDict& tensors) {
  const Where w{"save_npz", path.string()};
  const std::string bytes = to_npz_bytes(tensors);
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  auto errno_text = [] { return std::error_code(errno, std::generic_category()).message(); };
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) w.fail(fmt::format("cannot be written ({} cannot be opened: {})", tmp.string(), errno_text()));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() && std::fflush(f) == 0 &&
                       ::fsync(::fileno(f)) == 0;
  const std::string why = written ? std::string{} : errno_text();
  const bool closed = std::fclose(f) == 0;
  std::error_code ec;
  if (!written || !closed) {
    std::filesystem::remove(tmp, ec);
    w.fail(fmt::format("cannot be written (writing {} failed: {})", tmp.string(), written ? errno_text() : why));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    w.fail(fmt::format("cannot be written (renaming {} to it failed: {})", tmp.string(), ec.message()));
  }
}

}  // namespace svertka::io
