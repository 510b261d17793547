#pragma once
// An independent, naive 2-D convolution for tests/ops/conv2d.cpp: seven plain loops in double, and
// its own padding index map written from numpy.pad's definitions (not sv::pad_source).

#include <algorithm>
#include <cstdint>
#include <vector>

#include "support.hpp"

namespace svtest::conv_ref {

using i64 = std::int64_t;

// numpy.pad applied to the indices 0 .. n-1 of one axis: padded position → source index, −1 for a
// zero. reflect / symmetric follow numpy's _set_reflect_both: each round mirrors the part filled so
// far (without / with the edge pixel) into at most that many pixels of each side, until both sides
// are full; a single pixel is extended like 'edge'. wrap is periodic, edge repeats the border.
inline std::vector<i64> pad_indices(i64 n, i64 before, i64 after, sv::PadMode mode) {
  std::vector<i64> a(static_cast<std::size_t>(before + n + after), -1);
  const i64 L = static_cast<i64>(a.size());
  for (i64 i = 0; i < n; ++i) a[before + i] = i;
  auto at = [&](i64 i) -> i64& { return a[static_cast<std::size_t>(i)]; };
  if (mode == sv::PadMode::zeros) return a;
  if (mode == sv::PadMode::replicate || (n == 1 && mode != sv::PadMode::circular)) {
    for (i64 i = 0; i < before; ++i) at(i) = 0;
    for (i64 i = before + n; i < L; ++i) at(i) = n - 1;
    return a;
  }
  if (mode == sv::PadMode::circular) {
    for (i64 i = 0; i < L; ++i) at(i) = (((i - before) % n) + n) % n;
    return a;
  }
  const bool edge = mode == sv::PadMode::symmetric;
  const i64 eo = edge ? 1 : 0;
  i64 lp = before, rp = after;
  while (lp > 0 || rp > 0) {
    const i64 old_length = L - lp - rp - (edge ? 0 : 1);
    if (lp > 0) {
      const i64 chunk = std::min(old_length, lp), stop = lp - eo, start = stop + chunk;
      std::vector<i64> c;
      for (i64 i = start; i > stop; --i) c.push_back(at(i));
      for (i64 m = 0; m < chunk; ++m) at(lp - chunk + m) = c[static_cast<std::size_t>(m)];
      lp -= chunk;
    }
    if (rp > 0) {
      const i64 chunk = std::min(old_length, rp), start = -rp + eo - 2;
      std::vector<i64> c;
      for (i64 m = 0; m < chunk; ++m) c.push_back(at(L + start - m));
      for (i64 m = 0; m < chunk; ++m) at(L - rp + m) = c[static_cast<std::size_t>(m)];
      rp -= chunk;
    }
  }
  return a;
}

struct Grads {
  sv::Tensor<double> y, dx, dw, db;
};

// y = conv(x, w) + b and, for the output gradient gy, dx, dw, db — all straight from the formulas.
template <class T>
Grads conv(const sv::Tensor<T>& x, const sv::Tensor<T>& w, const sv::Tensor<T>& b, const sv::Tensor<T>& gy,
           const sv::Conv2dOptions& o) {
  const i64 N = x.dim(0), H = x.dim(2), W = x.dim(3), K = w.dim(0), Cg = w.dim(1), R = w.dim(2),
            S = w.dim(3), Kg = K / o.groups;
  const auto rows = pad_indices(H, o.padding.top, o.padding.bottom, o.pad_mode);
  const auto cols = pad_indices(W, o.padding.left, o.padding.right, o.pad_mode);
  const i64 Ho = (static_cast<i64>(rows.size()) - o.dilation.h * (R - 1) - 1) / o.stride.h + 1;
  const i64 Wo = (static_cast<i64>(cols.size()) - o.dilation.w * (S - 1) - 1) / o.stride.w + 1;
  Grads g{sv::Tensor<double>::zeros({N, K, Ho, Wo}), sv::Tensor<double>::zeros(x.shape()),
          sv::Tensor<double>::zeros(w.shape()), sv::Tensor<double>::zeros({K})};
  for (i64 n = 0; n < N; ++n)
    for (i64 k = 0; k < K; ++k)
      for (i64 i = 0; i < Ho; ++i)
        for (i64 j = 0; j < Wo; ++j) {
          const double gyv = gy.defined() ? static_cast<double>(gy(n, k, i, j)) : 0.0;
          double acc = b.defined() ? static_cast<double>(b(k)) : 0.0;
          g.db(k) += gyv;
          for (i64 c = 0; c < Cg; ++c)
            for (i64 r = 0; r < R; ++r)
              for (i64 s = 0; s < S; ++s) {
                const i64 u = rows[static_cast<std::size_t>(i * o.stride.h + r * o.dilation.h)];
                const i64 v = cols[static_cast<std::size_t>(j * o.stride.w + s * o.dilation.w)];
                if (u < 0 || v < 0) continue;
                const i64 ch = k / Kg * Cg + c;
                acc += static_cast<double>(w(k, c, r, s)) * static_cast<double>(x(n, ch, u, v));
                g.dw(k, c, r, s) += gyv * static_cast<double>(x(n, ch, u, v));
                g.dx(n, ch, u, v) += gyv * static_cast<double>(w(k, c, r, s));
              }
          g.y(n, k, i, j) = acc;
        }
  return g;
}

}  // namespace svtest::conv_ref
