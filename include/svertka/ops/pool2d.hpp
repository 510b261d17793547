#ifndef SVERTKA_OPS_POOL2D_HPP
#define SVERTKA_OPS_POOL2D_HPP
//! @file
//! What max- and average-pooling share: `Pool2dOptions`, PyTorch's output-size rule, and the checks
//! of an input and its options (ops/max_pool2d.hpp and ops/avg_pool2d.hpp are the ops).
//!
//! Output size along an axis of n pixels with kernel k, stride s, dilation d, padding p₀ before and
//! p₁ after (PyTorch's `pooling_output_shape_pad_lr`):
//!   out = ⌊(n + p₀ + p₁ − d(k − 1) − 1) / s⌋ + 1, with ⌈·⌉ instead of ⌊·⌋ when `ceil_mode`;
//!   with `ceil_mode`, the last window must start inside the input or the leading padding: when
//!   (out − 1)·s ≥ n + p₀, out is one less.
//! PyTorch pads both sides of an axis alike; svertka's per-side padding reduces to it when they are
//! equal. PyTorch's rules on options, also kept: each padding at most half the (undilated) kernel,
//! ⌊k/2⌋; C, H, W > 0 (a batch of N = 0 is allowed and gives an empty output).

#include <algorithm>
#include <cstdint>

#include "svertka/kernels/pool2d.hpp"
#include "svertka/ops/op.hpp"
#include "svertka/ops/padding.hpp"

namespace svertka {

//! Options of max_pool2d and avg_pool2d, PyTorch's meanings:
//! `sv::Pool2dOptions{ .kernel = {3, 3}, .stride = {2, 2}, .padding = sv::Padding2d::all(1) }`.
struct Pool2dOptions {
  Size2d kernel{2, 2};
  Size2d stride{0, 0};  //!< 0 on an axis: the kernel size on that axis (PyTorch's default stride)
  Padding2d padding{};  //!< −∞ for max-pool, zeros for average-pool; at most ⌊kernel/2⌋ per side
  Size2d dilation{1, 1};  //!< max-pool only (average-pool accepts only 1, as PyTorch)
  bool ceil_mode = false;  //!< ⌈⌉ instead of ⌊⌋ in the output size (see ops/pool2d.hpp)
  bool count_include_pad = true;  //!< average-pool: padded zeros count in the divisor
};

}  // namespace svertka

namespace svertka::ops {

//! PyTorch's pooling output size along one axis (see the file comment). May be ≤ 0: the caller
//! reports that.
constexpr std::int64_t pool_output_size(std::int64_t n, std::int64_t k, std::int64_t s, std::int64_t d,
                                        std::int64_t pad_before, std::int64_t pad_after, bool ceil_mode) {
  const std::int64_t num = n + pad_before + pad_after - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  std::int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;  // floor division
  if (ceil_mode && (out - 1) * s >= n + pad_before) --out;
  return out;
}

//! The options with the default stride resolved and every rule checked, for op `op` (its name in
//! messages) on input shape x; the kernel geometry (`planes` = N·C). Throws OptionError for a bad
//! option, ShapeError for a bad input or an output of size ≤ 0.
constexpr kernels::PoolGeometry pool_geometry(std::string_view op, const Pool2dOptions& o, const Shape& x,
                                              bool allow_dilation) {
  if (x.rank() != 4)
    throw ShapeError(fmt::format("{}: input must be [N, C, H, W] (rank 4) but has rank {} (x: {})", op, x.rank(), x));
  if (x[1] == 0 || x[2] == 0 || x[3] == 0)
    throw ShapeError(fmt::format("{}: input is empty: C, H and W must be > 0 (x: {})", op, x));
  const Size2d k = o.kernel, d = o.dilation;
  if (k.h <= 0 || k.w <= 0)
    throw OptionError(fmt::format("{}: kernel must be > 0 but is {}×{}", op, k.h, k.w));
  if (o.stride.h < 0 || o.stride.w < 0)
    throw OptionError(fmt::format("{}: stride must be > 0 (or 0 for the kernel size) but is {}×{}", op, o.stride.h,
                                  o.stride.w));
  if (d.h <= 0 || d.w <= 0) throw OptionError(fmt::format("{}: dilation must be > 0 but is {}×{}", op, d.h, d.w));
  if (!allow_dilation && (d.h != 1 || d.w != 1))
    throw OptionError(fmt::format("{}: dilation must be 1×1 (PyTorch's {} has none) but is {}×{}", op, op, d.h, d.w));
  const Padding2d& p = o.padding;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0)
    throw OptionError(fmt::format("{}: padding must be ≥ 0 on every side but is (top {}, bottom {}, left {}, right {})",
                                  op, p.top, p.bottom, p.left, p.right));
  if (std::max(p.top, p.bottom) > k.h / 2 || std::max(p.left, p.right) > k.w / 2)
    throw OptionError(fmt::format("{}: padding must be at most half the kernel size, ⌊kernel/2⌋ = {}×{} (PyTorch's "
                                  "rule), but is (top {}, bottom {}, left {}, right {}) for kernel {}×{}",
                                  op, k.h / 2, k.w / 2, p.top, p.bottom, p.left, p.right, k.h, k.w));
  const Size2d s{o.stride.h ? o.stride.h : k.h, o.stride.w ? o.stride.w : k.w};
  const std::int64_t H = x[2], W = x[3];
  const std::int64_t Ho = pool_output_size(H, k.h, s.h, d.h, p.top, p.bottom, o.ceil_mode);
  const std::int64_t Wo = pool_output_size(W, k.w, s.w, d.w, p.left, p.right, o.ceil_mode);
  if (Ho <= 0 || Wo <= 0)
    throw ShapeError(fmt::format("{}: output size {}×{} is too small: the (dilated) kernel {}×{} does not fit in the "
                                 "padded input {}×{} (x: {})",
                                 op, Ho, Wo, d.h * (k.h - 1) + 1, d.w * (k.w - 1) + 1, H + p.top + p.bottom,
                                 W + p.left + p.right, x));
  return {x[0] * x[1], H, W, Ho, Wo, k.h, k.w, s.h, s.w, d.h, d.w, p.top, p.bottom, p.left, p.right};
}

//! [N, C, Ho, Wo] of a checked geometry.
constexpr Shape pool_output_shape(const Shape& x, const kernels::PoolGeometry& g) {
  return Shape{x[0], x[1], g.Ho, g.Wo};
}

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_POOL2D_HPP
