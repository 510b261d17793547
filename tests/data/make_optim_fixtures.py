#!/usr/bin/python3
"""Writes the PyTorch reference trajectories that tests/optim/pytorch_fixtures.cpp compares with.

Run with Debian's python (it has numpy and torch 1.13; the python3 first on PATH may lack them):

  /usr/bin/python3 tests/data/make_optim_fixtures.py

The fixed problem: two float64 parameters, w1 of shape (2, 3) and w2 of shape (4,), ten values in all
(x below is both flattened and concatenated). The gradient at every step is set by hand to

  g = a * (x * x * x) - b          (the gradient of sum(a x^4 / 4 - b x))

with a, b and the starting x drawn once from numpy's default_rng(2024). The C++ test computes the same
gradient, so both sides run the same optimizer on the same numbers.

Files written next to this script (all float64):

  optim_problem.npy          (3, 10): rows x0, a, b
  optim_<config>.npy         (STEPS + 1, 10): x after 0, 1, ..., STEPS steps of torch.optim, for each
                             config in CONFIGS (optimizer class and its keyword arguments)
  optim_plateau.npy          (len(METRICS), 2): the metric given to ReduceLROnPlateau.step and the lr
                             after it (lr 1.0, PLATEAU options)

foreach=False keeps torch on its single-tensor code path (the formulas the C++ headers write out).
The output is deterministic.
"""

from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
STEPS = 12

CONFIGS = {
    "sgd_wd": (torch.optim.SGD, dict(lr=0.1, weight_decay=0.05)),
    "momentum": (torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    "momentum_damp_wd": (torch.optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    "nesterov": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "adam": (torch.optim.Adam, dict(lr=0.01)),
    "adam_wd": (torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1)),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
}

PLATEAU = dict(mode="min", factor=0.5, patience=2, threshold=0.1, threshold_mode="rel", cooldown=1, min_lr=0.1)
METRICS = [10.0, 9.5, 9.2, 9.3, 8.0, 8.1, 8.2, 8.3, 8.4, 8.5, 8.6, 8.7, 8.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def problem():
    rng = np.random.default_rng(2024)
    x0 = rng.uniform(-1.5, 1.5, 10)
    a = rng.uniform(0.5, 2.0, 10)
    b = rng.uniform(-1.0, 1.0, 10)
    return x0, a, b


def trajectory(cls, kwargs, x0, a, b):
    w1 = torch.tensor(x0[:6].reshape(2, 3), dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(x0[6:], dtype=torch.float64, requires_grad=True)
    opt = cls([w1, w2], foreach=False, **kwargs)
    at = torch.tensor(a, dtype=torch.float64)
    bt = torch.tensor(b, dtype=torch.float64)
    rows = [x0.copy()]
    for _ in range(STEPS):
        with torch.no_grad():
            x = torch.cat([w1.reshape(-1), w2])
            g = at * (x * x * x) - bt
            w1.grad = g[:6].reshape(2, 3).clone()
            w2.grad = g[6:].clone()
        opt.step()
        rows.append(torch.cat([w1.detach().reshape(-1), w2.detach()]).numpy().copy())
    return np.stack(rows)


def plateau():
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **PLATEAU)
    rows = []
    for m in METRICS:
        sched.step(m)
        rows.append([m, opt.param_groups[0]["lr"]])
    return np.array(rows, dtype=np.float64)


def main():
    x0, a, b = problem()
    np.save(HERE / "optim_problem.npy", np.stack([x0, a, b]))
    for name, (cls, kwargs) in CONFIGS.items():
        np.save(HERE / f"optim_{name}.npy", trajectory(cls, kwargs, x0, a, b))
    np.save(HERE / "optim_plateau.npy", plateau())
    print(f"wrote optim_problem.npy, {len(CONFIGS)} trajectories and optim_plateau.npy to {HERE}")


if __name__ == "__main__":
    main()
