#!/usr/bin/env python3
"""Writes the .npy fixtures that tests/io/npy.cpp reads, into the folder this script lives in.

Every array comes from a formula whose values are exact in binary, so the C++ test recomputes them
and compares bit for bit:

  npy_f32_2x3x4.npy       np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8
  npy_f64_5.npy           (np.arange(5, dtype=np.float64) - 2) * 0.375
  npy_f64_scalar.npy      np.array(-1.5)                           (shape (), a 0-d array)
  npy_i64_labels.npy      (np.arange(6, dtype=np.int64) - 2) * 10**12
  npy_i32_2x2.npy         np.array([[-(2**31), -1], [0, 2**31 - 1]], dtype=np.int32)
  npy_u8_3x4.npy          (np.arange(12, dtype=np.uint8) * 23).reshape(3, 4)   (wraps modulo 256)
  npy_f32_0x3.npy         np.zeros((0, 3), dtype=np.float32)
  npy_f32_v2.npy          np.arange(6, dtype=np.float32).reshape(3, 2) * 0.25, format version 2.0
  npy_u8_v3.npy           np.arange(5, dtype=np.uint8), format version 3.0
  npy_f32_fortran.npy     np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))  (refused)
  npy_f32_bigendian.npy   np.arange(4, dtype='>f4')                                        (refused)

Rerun after changing a formula (and change the expected values in tests/io/npy.cpp to match):

  python3 tests/data/make_npy_fixtures.py

The output is deterministic; numpy 1.24 wrote the committed files.
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def save(name, array, version=None):
    """np.save for the default format version, write_array for an explicit one."""
    path = HERE / name
    if version is None:
        np.save(path, array, allow_pickle=False)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, array, version=version, allow_pickle=False)
    print(f"wrote {path.name}: dtype {array.dtype.str}, shape {array.shape}")


def main():
    save("npy_f32_2x3x4.npy", np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8)
    save("npy_f64_5.npy", (np.arange(5, dtype=np.float64) - 2) * 0.375)
    save("npy_f64_scalar.npy", np.array(-1.5))
    save("npy_i64_labels.npy", (np.arange(6, dtype=np.int64) - 2) * 10**12)
    save("npy_i32_2x2.npy", np.array([[-(2**31), -1], [0, 2**31 - 1]], dtype=np.int32))
    save("npy_u8_3x4.npy", (np.arange(12, dtype=np.uint8) * 23).reshape(3, 4))
    save("npy_f32_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    save("npy_f32_v2.npy", np.arange(6, dtype=np.float32).reshape(3, 2) * np.float32(0.25), version=(2, 0))
    save("npy_u8_v3.npy", np.arange(5, dtype=np.uint8), version=(3, 0))
    save("npy_f32_fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    save("npy_f32_bigendian.npy", np.arange(4, dtype=">f4"))


if __name__ == "__main__":
    main()
