#ifndef SVERTKA_OPS_AVG_POOL2D_HPP
#define SVERTKA_OPS_AVG_POOL2D_HPP
//! @file
//! `avg_pool2d`: the mean over each window of an [N, C, H, W] input, PyTorch's semantics; and
//! `global_avg_pool2d`, the mean over each whole plane ([N, C, H, W] → [N, C, 1, 1]).
//!
//! With the window of output (i, j) starting at h₀ = i·sh − top, w₀ = j·sw − left:
//!   y[n,c,i,j] = (1/D) · Σ x[n,c,h,w] over h ∈ [max(h₀,0), min(h₀+kh, H)), w ∈ [max(w₀,0), min(w₀+kw, W)),
//! the padding adding zeros. The divisor D is PyTorch's: with `count_include_pad`, the window clipped
//! to the padded input, D = (min(h₀+kh, H+bottom) − h₀)·(min(w₀+kw, W+right) − w₀) (kh·kw except for
//! the last window of a `ceil_mode` output, which may hang over the padding); without it, the number
//! of input pixels summed. Output size and option rules: ops/pool2d.hpp; dilation must be 1.
//!
//! ∂L/∂x[n,c,h,w] = Σ ∂L/∂y[n,c,i,j] / D(i,j) over the windows (i, j) that sum x[n,c,h,w].

#include "svertka/kernels/pool2d.hpp"
#include "svertka/ops/pool2d.hpp"

namespace svertka::ops {

struct AvgPool2d {
  static constexpr std::string_view name = "avg_pool2d";
  using Saved = NoSaved;
  Pool2dOptions options{};

  constexpr kernels::PoolGeometry geometry(const Shape& x) const {
    return pool_geometry(name, options, x, /*allow_dilation=*/false);
  }
  constexpr Shape output_shape(const Shape& x) const { return pool_output_shape(x, geometry(x)); }

  template <class T>
  Saved forward(const Tensor<T>& x, Tensor<T>& y) const {
    require_defined(name, "x", x);
    kernels::avg_pool2d_forward(geometry(x.shape()), options.count_include_pad, x.data(), y.data());
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& gy, Tensor<T>* gx) const {
    if (gx) kernels::avg_pool2d_backward(geometry(x.shape()), options.count_include_pad, gy.data(), gx->data());
  }
};

//! y[n,c,0,0] = (1/(H·W)) Σ_{h,w} x[n,c,h,w];  ∂L/∂x[n,c,h,w] = ∂L/∂y[n,c,0,0] / (H·W).
//! The average-pool above with one H×W window per plane (the same kernel, the same sums).
struct GlobalAvgPool2d {
  static constexpr std::string_view name = "global_avg_pool2d";
  using Saved = NoSaved;

  constexpr AvgPool2d as_avg_pool(const Shape& x) const {
    if (x.rank() != 4)
      throw ShapeError(fmt::format("global_avg_pool2d: input must be [N, C, H, W] (rank 4) but has rank {} (x: {})",
                                   x.rank(), x));
    if (x[1] == 0 || x[2] == 0 || x[3] == 0)
      throw ShapeError(fmt::format("global_avg_pool2d: input is empty: C, H and W must be > 0 (x: {})", x));
    return AvgPool2d{Pool2dOptions{.kernel = {x[2], x[3]}}};
  }
  constexpr Shape output_shape(const Shape& x) const { return as_avg_pool(x).output_shape(x); }

  template <class T>
  Saved forward(const Tensor<T>& x, Tensor<T>& y) const {
    require_defined(name, "x", x);
    return as_avg_pool(x.shape()).forward(x, y);
  }
  template <class T>
  void backward(const Saved& s, const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& gy, Tensor<T>* gx) const {
    as_avg_pool(x.shape()).backward(s, x, y, gy, gx);
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_AVG_POOL2D_HPP
