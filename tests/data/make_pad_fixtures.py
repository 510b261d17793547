#!/usr/bin/python3
"""Writes the numpy.pad fixtures that tests/ops/pad2d.cpp reads, into the folder this script lives in.

Padding wider than the input is where PyTorch stops (reflect needs width < size) and numpy.pad is
svertka's reference. Each case pads x = the integers 1..H*W as an [N=1, C=2, H, W] tensor (channel 1
is channel 0 plus 100) on its last two axes:

  pad_<name>_y.npy   np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode)   float64

  name                 mode       H  W  top bottom left right
  reflect_wide         reflect    3  4    7      5    9     2
  symmetric_wide       symmetric  3  4    4      8    2    11
  circular_wide        circular   2  3    5      3    7     4
  replicate_wide       replicate  2  3    4      1    0     6
  reflect_single_row   reflect    1  4    3      2    5     5

The C++ test rebuilds x, so only y is stored. The output is deterministic (numpy 1.24 wrote the
committed files). Rerun after changing a case, and change the table in tests/ops/pad2d.cpp to match:

  /usr/bin/python3 tests/data/make_pad_fixtures.py
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

NUMPY_MODE = {"reflect": "reflect", "symmetric": "symmetric", "circular": "wrap", "replicate": "edge"}
CASES = [
    ("reflect_wide", "reflect", 3, 4, 7, 5, 9, 2),
    ("symmetric_wide", "symmetric", 3, 4, 4, 8, 2, 11),
    ("circular_wide", "circular", 2, 3, 5, 3, 7, 4),
    ("replicate_wide", "replicate", 2, 3, 4, 1, 0, 6),
    ("reflect_single_row", "reflect", 1, 4, 3, 2, 5, 5),
]


def main():
    for name, mode, h, w, top, bottom, left, right in CASES:
        plane = np.arange(1, h * w + 1, dtype=np.float64).reshape(h, w)
        x = np.stack([plane, plane + 100])[None]
        y = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode=NUMPY_MODE[mode])
        np.save(HERE / f"pad_{name}_y.npy", y, allow_pickle=False)


if __name__ == "__main__":
    main()
