#ifndef SVERTKA_OPS_CONV2D_HPP
#define SVERTKA_OPS_CONV2D_HPP
//! @file
//! `conv2d`: 2-D convolution (cross-correlation, as in PyTorch) of NCHW images, with stride,
//! dilation, groups and per-side padding in any `PadMode`.
//!
//! Shapes: x [N, C, H, W], w [K, C/G, R, S], b [K] (optional), y [N, K, Ho, Wo] with G = groups and
//!
//!     Ho = ⌊(H + top + bottom − dh·(R − 1) − 1) / sh⌋ + 1,   Wo likewise with W, left, right, dw, sw.
//!
//! Forward, for group g = ⌊k / (K/G)⌋:
//!
//!     y[n,k,i,j] = b[k] + Σ_{c < C/G} Σ_{r < R} Σ_{s < S} w[k,c,r,s] · xp[n, g·C/G + c, i·sh + r·dh − top, j·sw + s·dw − left]
//!
//! where xp is x read through the padding map: xp[n,c,u,v] = x[n, c, src_H(u), src_W(v)] with
//! src_n(u) = `pad_source(u, n, mode)`, and xp = 0 where the map gives −1 (zeros mode). The padded
//! image is never built: the kernels read x through the map.
//!
//! Derivatives, for L a function of y and gy = ∂L/∂y:
//!
//!     ∂L/∂b[k]       = Σ_{n,i,j} gy[n,k,i,j]
//!     ∂L/∂w[k,c,r,s] = Σ_{n,i,j} gy[n,k,i,j] · xp[n, g·C/G + c, i·sh + r·dh − top, j·sw + s·dw − left]
//!     ∂L/∂x[n,c',u,v] = Σ over (k, c, r, s, i, j) with g·C/G + c = c', src_H(i·sh + r·dh − top) = u and
//!                       src_W(j·sw + s·dw − left) = v  of  gy[n,k,i,j] · w[k,c,r,s]
//!
//! that is, ∂L/∂x scatters through the same index map: the gradient at a padded pixel goes to the
//! source pixel it was copied from (reflect, replicate, circular and symmetric padding send it back
//! into the image; zero padding drops it).
//!
//! Errors: every shape and option is checked by `output_shape` with a message naming the op, the
//! argument and both sizes, e.g. `conv2d: input has 3 channels but weight expects 4 (x: [8,3,32,32],
//! w: [16,4,3,3])`. Options out of their domain throw `OptionError`, shapes `ShapeError`.

#include <cstdint>

#include "svertka/kernels/conv2d.hpp"
#include "svertka/ops/op.hpp"
#include "svertka/ops/padding.hpp"

namespace svertka {

//! Options of a 2-D convolution: `{.stride = {2, 2}, .padding = Padding2d::all(1), .pad_mode = PadMode::reflect}`.
struct Conv2dOptions {
  Size2d stride{1, 1};
  Size2d dilation{1, 1};
  Padding2d padding{};
  PadMode pad_mode = PadMode::zeros;
  std::int64_t groups = 1;
  //! Forces an algorithm (tests, benchmarks); `automatic` chooses by shape.
  kernels::Conv2dAlgo algo = kernels::Conv2dAlgo::automatic;
};

namespace ops {

struct Conv2d {
  Conv2dOptions opt;
  static constexpr std::string_view name = "conv2d";
  using Saved = NoSaved;

  constexpr Shape output_shape(const Shape& x, const Shape& w) const {
    check_options();
    if (x.rank() != 4)
      throw ShapeError(fmt::format("conv2d: input must be [N, C, H, W] but has rank {} (x: {}, w: {})", x.rank(), x, w));
    if (w.rank() != 4)
      throw ShapeError(fmt::format("conv2d: weight must be [K, C/groups, R, S] but has rank {} (x: {}, w: {})", w.rank(), x, w));
    if (x[0] == 0 || x[1] == 0 || x[2] == 0 || x[3] == 0)
      throw ShapeError(fmt::format("conv2d: input is empty (x: {}, w: {})", x, w));
    if (w[0] == 0 || w[1] == 0)
      throw ShapeError(fmt::format("conv2d: weight is empty (x: {}, w: {})", x, w));
    if (w[2] == 0 || w[3] == 0)
      throw ShapeError(fmt::format("conv2d: kernel size must be positive but is {}x{} (x: {}, w: {})", w[2], w[3], x, w));
    const std::int64_t G = opt.groups;
    if (x[1] % G != 0)
      throw ShapeError(fmt::format("conv2d: groups = {} does not divide the input's {} channels (x: {}, w: {})", G, x[1], x, w));
    if (w[0] % G != 0)
      throw ShapeError(fmt::format("conv2d: groups = {} does not divide the weight's {} filters (x: {}, w: {})", G, w[0], x, w));
    if (x[1] != w[1] * G) {
      if (G == 1)
        throw ShapeError(fmt::format("conv2d: input has {} channels but weight expects {} (x: {}, w: {})", x[1], w[1], x, w));
      throw ShapeError(fmt::format("conv2d: input has {} channels but weight expects {} ({} per group × {} groups) (x: {}, w: {})",
                                   x[1], w[1] * G, w[1], G, x, w));
    }
    const Padding2d& p = opt.padding;
    const std::int64_t hp = x[2] + p.top + p.bottom, wp = x[3] + p.left + p.right;
    const std::int64_t kh = opt.dilation.h * (w[2] - 1) + 1, kw = opt.dilation.w * (w[3] - 1) + 1;
    if (kh > hp || kw > wp)
      throw ShapeError(fmt::format("conv2d: the kernel spans {}x{} (dilation {}x{}) but the padded input is only {}x{} "
                                   "(x: {}, w: {}, padding top {}, bottom {}, left {}, right {})",
                                   kh, kw, opt.dilation.h, opt.dilation.w, hp, wp, x, w, p.top, p.bottom, p.left, p.right));
    constexpr std::int64_t limit = std::int64_t{1} << 31;
    if (x[2] * x[3] >= limit)
      throw ShapeError(fmt::format("conv2d: an input plane of {}x{} pixels is too large (at most 2^31 - 1) (x: {})", x[2], x[3], x));
    return Shape{x[0], w[0], (hp - kh) / opt.stride.h + 1, (wp - kw) / opt.stride.w + 1};
  }
  constexpr Shape output_shape(const Shape& x, const Shape& w, const Shape& b) const {
    Shape y = output_shape(x, w);
    if (b.rank() != 1 || b[0] != w[0])
      throw ShapeError(fmt::format("conv2d: bias must be [{}] but has shape {} (w: {}, b: {})", w[0], b, w, b));
    return y;
  }

  template <class T>
  Saved forward(const Tensor<T>& x, const Tensor<T>& w, Tensor<T>& y) const {
    require_defined(name, "x", x);
    require_defined(name, "w", w);
    kernels::conv2d_forward<T>(geometry(x.shape(), w.shape()), x.data(), w.data(), nullptr, y.data());
    return {};
  }
  template <class T>
  Saved forward(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) const {
    require_defined(name, "x", x);
    require_defined(name, "w", w);
    require_defined(name, "b", b);
    kernels::conv2d_forward<T>(geometry(x.shape(), w.shape()), x.data(), w.data(), b.data(), y.data());
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>&, const Tensor<T>& gy,
                Tensor<T>* gx, Tensor<T>* gw) const {
    const kernels::Conv2dGeometry g = geometry(x.shape(), w.shape());
    if (gx) kernels::conv2d_backward_data<T>(g, w.data(), gy.data(), gx->data());
    if (gw) kernels::conv2d_backward_filter<T>(g, x.data(), gy.data(), gw->data());
  }
  template <class T>
  void backward(const Saved& saved, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>&, const Tensor<T>& y,
                const Tensor<T>& gy, Tensor<T>* gx, Tensor<T>* gw, Tensor<T>* gb) const {
    backward(saved, x, w, y, gy, gx, gw);
    if (gb) kernels::conv2d_backward_bias<T>(geometry(x.shape(), w.shape()), gy.data(), gb->data());
  }

  //! The kernels' description of this convolution of x by w (shapes checked).
  kernels::Conv2dGeometry geometry(const Shape& x, const Shape& w) const {
    const Shape y = output_shape(x, w);
    return {.N = x[0], .C = x[1], .H = x[2], .W = x[3], .K = w[0], .R = w[2], .S = w[3],
            .stride = opt.stride, .dilation = opt.dilation, .padding = opt.padding, .mode = opt.pad_mode,
            .groups = opt.groups, .Ho = y[2], .Wo = y[3], .algo = opt.algo};
  }

 private:
  constexpr void check_options() const {
    if (opt.groups <= 0) throw OptionError(fmt::format("conv2d: groups must be positive but is {}", opt.groups));
    if (opt.stride.h <= 0 || opt.stride.w <= 0)
      throw OptionError(fmt::format("conv2d: stride must be positive but is {}x{}", opt.stride.h, opt.stride.w));
    if (opt.dilation.h <= 0 || opt.dilation.w <= 0)
      throw OptionError(fmt::format("conv2d: dilation must be positive but is {}x{}", opt.dilation.h, opt.dilation.w));
    const Padding2d& p = opt.padding;
    if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0)
      throw OptionError(fmt::format("conv2d: padding must not be negative but is top {}, bottom {}, left {}, right {}",
                                    p.top, p.bottom, p.left, p.right));
  }
};

}  // namespace ops
}  // namespace svertka

#endif  // SVERTKA_OPS_CONV2D_HPP
