#ifndef SVERTKA_IO_NPY_HPP
#define SVERTKA_IO_NPY_HPP
//! @file
//! Saving and loading tensors in numpy's `.npy` format, to files and to in-memory byte strings.
//!
//! Written files use format version 1.0 with a little-endian descr (`<f4`, `<f8`, `<i8`, `<i4`,
//! `|u1`) and C order, padded so that the data starts at a multiple of 64 bytes; numpy reads them
//! with `numpy.load`. Reading accepts format versions 1.0, 2.0 and 3.0 as numpy writes them, with
//! little-endian (`<`), native (`=`, this library assumes a little-endian machine) or
//! not-applicable (`|`) byte order.
//!
//! Errors: a file that cannot be opened, read or written, and any content that cannot be taken as
//! it is (a bad magic string or header, truncated data, bytes after the data, big-endian data,
//! Fortran order, a rank above `Shape::max_rank`, an element type other than the one asked for:
//! nothing is converted silently) throw `svertka::io::IoError`. Its message names the function, the
//! file (or the name given to the in-memory forms) and what is wrong, e.g.
//! `load_npy: data.npy holds float64 but float32 was asked for`.

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "svertka/core/io_error.hpp"  // IoError
#include "svertka/core/tensor.hpp"

namespace svertka::io {

//! Writes `t` to `path` as an `.npy` file (format 1.0, little-endian, C order).
//!
//! The write is atomic: the bytes go to `path` + `".tmp"`, which is then renamed over `path`, so a
//! reader never sees a half-written file. `T` is one of `float`, `double`, `std::int64_t`,
//! `std::int32_t`, `std::uint8_t`.
//! @throws IoError if the file cannot be written or renamed (the temporary file is removed).
//! @throws OptionError if `t` is undefined (default-constructed).
template <class T>
void save_npy(const std::filesystem::path& path, const Tensor<T>& t);

//! Reads an `.npy` file holding elements of type `T` exactly (`float32` for `float`, `int64` for
//! `std::int64_t`, ...), of rank 0 to `Shape::max_rank`, in C order.
//! @throws IoError if the file cannot be read or its contents are not such an array.
template <class T>
Tensor<T> load_npy(const std::filesystem::path& path);

//! The bytes `save_npy` would write for `t`: an `.npy` file in memory (for `.npz` members).
//! @throws OptionError if `t` is undefined (default-constructed).
template <class T>
std::string to_npy_bytes(const Tensor<T>& t);

//! Decodes the bytes of an `.npy` file held in memory, with the same checks as `load_npy`.
//! `what` names the bytes in error messages (a file or archive member name).
//! @throws IoError if the bytes are not an array of `T` as described for `load_npy`.
template <class T>
Tensor<T> from_npy_bytes(std::string_view bytes, std::string_view what);

// Defined and instantiated in src/io/npy.cpp for these element types only.
#define SVERTKA_IO_NPY_EXTERN(T)                                                       \
  extern template void save_npy<T>(const std::filesystem::path&, const Tensor<T>&);   \
  extern template Tensor<T> load_npy<T>(const std::filesystem::path&);                \
  extern template std::string to_npy_bytes<T>(const Tensor<T>&);                      \
  extern template Tensor<T> from_npy_bytes<T>(std::string_view, std::string_view);
SVERTKA_IO_NPY_EXTERN(float)
SVERTKA_IO_NPY_EXTERN(double)
SVERTKA_IO_NPY_EXTERN(std::int64_t)
SVERTKA_IO_NPY_EXTERN(std::int32_t)
SVERTKA_IO_NPY_EXTERN(std::uint8_t)
#undef SVERTKA_IO_NPY_EXTERN

}  // namespace svertka::io

#endif  // SVERTKA_IO_NPY_HPP
