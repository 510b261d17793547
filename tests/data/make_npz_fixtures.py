#!/usr/bin/python3
"""Writes the .npz archives numpy made that tests/io/npz.cpp reads (interoperability: svertka must read
what numpy.savez and numpy.savez_compressed write, including Python zipfile's zip64 extra fields).

  /usr/bin/python3 tests/data/make_npz_fixtures.py

Both archives hold the same three arrays, whose values are exact in binary:

  weights   np.arange(6, dtype=np.float32).reshape(2, 3) / 4
  bias      np.array([-1.5, 0.25], dtype=np.float64)
  step      np.array(7, dtype=np.int64)                     (shape (), a 0-d array)

  npz_numpy_savez.npz        numpy.savez
  npz_numpy_compressed.npz   numpy.savez_compressed (deflated members)

zipfile stamps members with the current time, so rerunning changes a few bytes but not the contents.
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def arrays():
    return dict(
        weights=np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
        bias=np.array([-1.5, 0.25], dtype=np.float64),
        step=np.array(7, dtype=np.int64),
    )


def main():
    np.savez(HERE / "npz_numpy_savez.npz", **arrays())
    np.savez_compressed(HERE / "npz_numpy_compressed.npz", **arrays())
    print(f"wrote npz_numpy_savez.npz and npz_numpy_compressed.npz to {HERE}")


if __name__ == "__main__":
    main()
