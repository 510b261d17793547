#!/usr/bin/python3
"""Writes the PyTorch pooling fixtures that tests/ops/max_pool2d.cpp and avg_pool2d.cpp read, into
the folder this script lives in. PyTorch 1.13 (Debian python3-torch) is the reference, in float64:

  pool_<name>_x.npy    the input, standard normal                          [N, C, H, W]
  pool_<name>_y.npy    F.max_pool2d / F.avg_pool2d of x with the options below
  pool_<name>_gy.npy   a seed gradient of y's shape, standard normal
  pool_<name>_dx.npy   the gradient of sum(y * gy) with respect to x (autograd)
  pool_<name>_idx.npy  max-pool only: the argmax, a flat index h*W + w per plane (int64)

  name              op   N C  H  W   kernel stride  padding dilation ceil  count_include_pad
  max_k3s2p1_ceil   max  2 3  9 10   3,3    2,2     1,1     1,1      yes   -
  max_dilated       max  1 2 11 12   3,2    2,1     1,1     2,3      no    -
  max_k2_ceil_odd   max  2 2  7  7   2,2    2,2     0,0     1,1      yes   -
  max_dilated_ceil  max  1 2 10  9   2,3    3,2     1,1     3,2      yes   -
  avg_k3s2p1_ceil   avg  2 3  9 10   3,3    2,2     1,1     -        yes   yes
  avg_k3s2p1_nopad  avg  2 3  9 10   3,3    2,2     1,1     -        yes   no
  avg_k2x3_s3x2     avg  1 2  8  9   2,3    3,2     1,1     -        no    no
  avg_k3s3_clip     avg  1 2  6  5   3,3    3,3     1,1     -        yes   yes
  avg_k2s1          avg  1 1  5  6   2,2    1,1     0,0     -        no    yes

The C++ tests hold the same table. Rerun after changing a case (seeded, so deterministic):

  /usr/bin/python3 tests/data/make_pool_fixtures.py
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent

# name, op, shape, kernel, stride, padding, dilation, ceil_mode, count_include_pad
CASES = [
    ("max_k3s2p1_ceil", "max", (2, 3, 9, 10), (3, 3), (2, 2), (1, 1), (1, 1), True, None),
    ("max_dilated", "max", (1, 2, 11, 12), (3, 2), (2, 1), (1, 1), (2, 3), False, None),
    ("max_k2_ceil_odd", "max", (2, 2, 7, 7), (2, 2), (2, 2), (0, 0), (1, 1), True, None),
    ("max_dilated_ceil", "max", (1, 2, 10, 9), (2, 3), (3, 2), (1, 1), (3, 2), True, None),
    ("avg_k3s2p1_ceil", "avg", (2, 3, 9, 10), (3, 3), (2, 2), (1, 1), None, True, True),
    ("avg_k3s2p1_nopad", "avg", (2, 3, 9, 10), (3, 3), (2, 2), (1, 1), None, True, False),
    ("avg_k2x3_s3x2", "avg", (1, 2, 8, 9), (2, 3), (3, 2), (1, 1), None, False, False),
    ("avg_k3s3_clip", "avg", (1, 2, 6, 5), (3, 3), (3, 3), (1, 1), None, True, True),
    ("avg_k2s1", "avg", (1, 1, 5, 6), (2, 2), (1, 1), (0, 0), None, False, True),
]


def save(name, suffix, t):
    np.save(HERE / f"pool_{name}_{suffix}.npy", t.detach().numpy(), allow_pickle=False)


def main():
    torch.manual_seed(20240501)
    for name, op, shape, k, s, p, d, ceil, cip in CASES:
        x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
        if op == "max":
            y, idx = F.max_pool2d(x, k, s, p, d, ceil_mode=ceil, return_indices=True)
        else:
            y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip)
        gy = torch.randn_like(y)
        (y * gy).sum().backward()
        save(name, "x", x)
        save(name, "y", y)
        save(name, "gy", gy)
        save(name, "dx", x.grad)
        if op == "max":
            save(name, "idx", idx)


if __name__ == "__main__":
    main()
