#ifndef SVERTKA_IO_NPZ_HPP
#define SVERTKA_IO_NPZ_HPP
//! @file
//! `.npz` archives: a zip of `.npy` members, one per named tensor, as `numpy.savez` writes them and
//! `numpy.load` reads them.
//!
//! Written archives store their members uncompressed (zip method 0) with a CRC-32 each (zlib's
//! `crc32`), member names `<name>.npy` (numpy's key is `<name>`) and a fixed timestamp, so the same
//! tensors give the same bytes. Reading accepts stored and deflated members (`numpy.savez` and
//! `numpy.savez_compressed`), including the zip64 extra fields Python's zipfile writes.
//!
//! Reading checks everything before returning anything: the zip structure (end record, central
//! directory, local headers, sizes within the file), each member's CRC-32, and each member as an
//! `.npy` array (see npy.hpp). Any problem throws `IoError` naming the function, the file (or the
//! name given to the in-memory forms), the member and what is wrong, e.g.
//! `load_npz: ckpt.npz: member 'params/0.npy' fails its CRC-32 check (stored 0x1c291ca3, computed 0x8f0e7d51)`.

#include <filesystem>
#include <string>
#include <string_view>

#include "svertka/core/io_error.hpp"
#include "svertka/core/tensor_dict.hpp"

namespace svertka::io {

//! Writes `tensors` to `path` as an `.npz` archive, atomically: the bytes go to `path` + `".tmp"`,
//! are flushed to disk, and the file is renamed over `path`; a reader never sees a partial archive.
//! @throws IoError if the file cannot be written (the temporary file is removed), or if the archive
//! would exceed 4 GiB (zip64 is not written).
//! @throws OptionError if a name is empty or a tensor undefined.
void save_npz(const std::filesystem::path& path, const TensorDict& tensors);

//! Reads an `.npz` archive: its members, in archive order, named without the `.npy` suffix. Element
//! types: float32, float64, int64, int32, uint8.
//! @throws IoError if the file cannot be read or is not such an archive.
TensorDict load_npz(const std::filesystem::path& path);

//! The bytes `save_npz` would write.
std::string to_npz_bytes(const TensorDict& tensors);
//! Decodes an `.npz` archive held in memory; `what` names it in error messages.
TensorDict from_npz_bytes(std::string_view bytes, std::string_view what);

}  // namespace svertka::io

#endif  // SVERTKA_IO_NPZ_HPP
