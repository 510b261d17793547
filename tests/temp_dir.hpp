#pragma once
// A fresh folder under the system's temporary directory, and whole-file read/write, for tests that
// write files (checkpoints, logs, corrupted copies of data files).

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace svtest {

//! A new folder, removed with everything in it when the object goes.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(std::string_view tag = "svertka_test") {
    static std::mt19937_64 gen{std::random_device{}()};
    path = std::filesystem::temp_directory_path() / fmt::format("{}_{:016x}", tag, gen());
    std::filesystem::create_directories(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path operator/(std::string_view name) const { return path / name; }
};

inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

inline void write_bytes(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace svtest
