#ifndef SVERTKA_CORE_IO_ERROR_HPP
#define SVERTKA_CORE_IO_ERROR_HPP
//! @file
//! `svertka::io::IoError`, thrown by everything that reads or writes files (`.npy`, `.npz`,
//! checkpoints, IDX data sets, CSV logs). It lives in core so that every folder can throw it.

#include <stdexcept>

namespace svertka::io {

//! Reading or writing a file, or decoding stored bytes, failed. Unlike `ShapeError` and
//! `OptionError` (bad arguments), this is a run-time condition of the outside world: a missing or
//! unwritable file, a truncated or corrupt file, a file holding another element type.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace svertka::io

#endif  // SVERTKA_CORE_IO_ERROR_HPP
