#!/usr/bin/python3
"""Writes the PyTorch fixtures that tests/ops/conv2d.cpp reads, into tests/data/conv2d/.

Each case is a convolution computed by PyTorch 1.13 in float64: the input x, weight w, bias b, the
output y, a random output gradient gy and the gradients dx, dw, db of sum(y * gy). Files are
conv2d/<case>_<name>.npy. Padding is applied with F.pad (so it may differ per side), then
F.conv2d with no padding runs on the padded tensor; the gradient flows back through F.pad, which sends
a padded pixel's gradient to its source pixel, as svertka does.

  case        N C  H W  K  R S  stride  dilation  padding (top, bottom, left, right)  mode       groups
  zeros_g2    2 4  7 6  6  3 3  (2, 1)  (1, 2)    (1, 2, 2, 1)                        zeros      2
  reflect     1 3  6 7  4  3 2  (1, 1)  (2, 1)    (2, 1, 1, 2)                        reflect    1
  replicate   2 2  5 5  3  3 3  (2, 2)  (1, 1)    (2, 2, 2, 2)                        replicate  1
  circular_dw 1 4  6 5  4  3 3  (1, 1)  (1, 1)    (1, 1, 2, 2)                        circular   4
  zeros_big   2 8  9 9  8  3 3  (1, 1)  (1, 1)    (1, 1, 1, 1)                        zeros      1

Rerun with Debian's python3 (which has torch):  /usr/bin/python3 tests/data/make_conv_fixtures.py
The output is deterministic (fixed seed).
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent / "conv2d"

CASES = [
    # name, N, C, H, W, K, R, S, stride, dilation, (top, bottom, left, right), mode, groups
    ("zeros_g2", 2, 4, 7, 6, 6, 3, 3, (2, 1), (1, 2), (1, 2, 2, 1), "zeros", 2),
    ("reflect", 1, 3, 6, 7, 4, 3, 2, (1, 1), (2, 1), (2, 1, 1, 2), "reflect", 1),
    ("replicate", 2, 2, 5, 5, 3, 3, 3, (2, 2), (1, 1), (2, 2, 2, 2), "replicate", 1),
    ("circular_dw", 1, 4, 6, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1, 2, 2), "circular", 4),
    ("zeros_big", 2, 8, 9, 9, 8, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1), "zeros", 1),
    ("replicate_5x5", 2, 3, 8, 9, 4, 5, 5, (1, 1), (1, 1), (2, 2, 2, 2), "replicate", 1),
    ("reflect_5x5_d2", 1, 2, 11, 10, 3, 5, 5, (1, 1), (2, 1), (3, 4, 2, 4), "reflect", 1),
]


def main():
    torch.manual_seed(20240611)
    OUT.mkdir(exist_ok=True)
    for name, N, C, H, W, K, R, S, stride, dilation, (t, b, l, r), mode, groups in CASES:
        x = torch.randn(N, C, H, W, dtype=torch.float64, requires_grad=True)
        w = torch.randn(K, C // groups, R, S, dtype=torch.float64, requires_grad=True)
        bias = torch.randn(K, dtype=torch.float64, requires_grad=True)
        pad_mode = "constant" if mode == "zeros" else mode
        xp = F.pad(x, (l, r, t, b), mode=pad_mode)
        y = F.conv2d(xp, w, bias, stride=stride, dilation=dilation, groups=groups)
        gy = torch.randn_like(y)
        (y * gy).sum().backward()
        arrays = {"x": x, "w": w, "b": bias, "y": y, "gy": gy, "dx": x.grad, "dw": w.grad, "db": bias.grad}
        for key, value in arrays.items():
            np.save(OUT / f"{name}_{key}.npy", value.detach().numpy().astype(np.float64))
        print(f"{name}: y {tuple(y.shape)}")


if __name__ == "__main__":
    main()
