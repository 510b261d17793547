#ifndef SVERTKA_OPS_MAX_POOL2D_HPP
#define SVERTKA_OPS_MAX_POOL2D_HPP
//! @file
//! `max_pool2d`: the maximum over each window of an [N, C, H, W] input, PyTorch's semantics.
//!
//! y[n,c,i,j] = max over the taps (a, b) < (kh, kw) inside the input of
//!              x[n, c, i·sh − top + a·dh, j·sw − left + b·dw];
//! taps in the padding count as −∞, so they are never selected. Output size and option rules:
//! ops/pool2d.hpp.
//!
//! ∂L/∂x[n,c,h,w] = Σ ∂L/∂y[n,c,i,j] over the windows (i, j) whose maximum is x[n,c,h,w]: each
//! output sends its gradient to one input pixel, its argmax (a pixel that wins several overlapping
//! windows gets each of their gradients).
//!
//! **Ties** go to the *first* maximum in the window's row-major scan order (top row first, left to
//! right), as in PyTorch's CPU kernel, and only that pixel receives the gradient. **NaN** propagates:
//! a window holding a NaN outputs NaN and routes its gradient to its last NaN (PyTorch again).
//!
//! `Saved` is the argmax of every output as a flat index h·W + w within its plane, an int32 tensor of
//! the output's shape (an input plane is therefore limited to 2³¹ − 1 pixels).

#include <limits>

#include "svertka/kernels/pool2d.hpp"
#include "svertka/ops/pool2d.hpp"

namespace svertka::ops {

struct MaxPool2d {
  static constexpr std::string_view name = "max_pool2d";
  using Saved = Tensor<std::int32_t>;
  Pool2dOptions options{};

  constexpr kernels::PoolGeometry geometry(const Shape& x) const {
    kernels::PoolGeometry g = pool_geometry(name, options, x, /*allow_dilation=*/true);
    if (g.H * g.W > std::numeric_limits<std::int32_t>::max())
      throw ShapeError(fmt::format("max_pool2d: an input plane of {}×{} pixels is too large for the 32-bit argmax "
                                   "(x: {})",
                                   g.H, g.W, x));
    return g;
  }
  constexpr Shape output_shape(const Shape& x) const { return pool_output_shape(x, geometry(x)); }

  template <class T>
  Saved forward(const Tensor<T>& x, Tensor<T>& y) const {
    require_defined(name, "x", x);
    Saved argmax = Saved::empty(y.shape());
    kernels::max_pool2d_forward(geometry(x.shape()), x.data(), y.data(), argmax.data());
    return argmax;
  }

  template <class T>
  void backward(const Saved& argmax, const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& gy, Tensor<T>* gx) const {
    if (gx) kernels::max_pool2d_backward(geometry(x.shape()), gy.data(), argmax.data(), gx->data());
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_MAX_POOL2D_HPP
