#ifndef SVERTKA_OPS_PAD2D_HPP
#define SVERTKA_OPS_PAD2D_HPP
//! @file
//! `pad2d`: padding of the last two dimensions (H, W) of a tensor of rank ≥ 2 ([N, C, H, W],
//! [C, H, W] or a single [H, W] image), in any `PadMode`.
//!
//! y[..., i, j] = x[..., pad_source(i − top, H), pad_source(j − left, W)], or 0 where `pad_source`
//! gives no source (zeros mode); y has H + top + bottom rows and W + left + right columns.
//! The modes are those of ops/padding.hpp: zeros, reflect, symmetric, replicate, circular. Widths
//! beyond the input repeat the mode's pattern as `numpy.pad` does (PyTorch refuses reflect padding
//! ≥ the input size; svertka follows numpy there).
//!
//! ∂L/∂x[..., a, b] = Σ ∂L/∂y[..., i, j] over every (i, j) whose source is (a, b): the interior copy
//! plus each padded copy (reflected or replicated pixels receive several contributions; padded zeros
//! send nothing back).

#include "svertka/kernels/pad2d.hpp"
#include "svertka/ops/op.hpp"
#include "svertka/ops/padding.hpp"

namespace svertka::ops {

struct Pad2d {
  static constexpr std::string_view name = "pad2d";
  using Saved = NoSaved;
  Padding2d padding{};
  PadMode mode = PadMode::zeros;

  //! The padded shape; OptionError for a negative width, ShapeError for rank < 2 or for padding an
  //! empty dimension (H or W = 0) in a mode that copies pixels (numpy refuses it too).
  constexpr Shape output_shape(const Shape& x) const {
    const Padding2d& p = padding;
    if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0)
      throw OptionError(fmt::format("pad2d: padding must be ≥ 0 on every side but is (top {}, bottom {}, left {}, "
                                    "right {})",
                                    p.top, p.bottom, p.left, p.right));
    if (x.rank() < 2)
      throw ShapeError(fmt::format("pad2d: input must have rank ≥ 2 ([..., H, W]) but has rank {} (x: {})", x.rank(), x));
    const std::int64_t H = x.dim(-2), W = x.dim(-1);
    if (mode != PadMode::zeros && ((H == 0 && (p.top || p.bottom)) || (W == 0 && (p.left || p.right))))
      throw ShapeError(fmt::format("pad2d: cannot pad an empty dimension in {} mode, it has no pixel to copy (x: {})",
                                   mode, x));
    Shape y = x;
    y.set(x.rank() - 2, H + p.top + p.bottom);
    y.set(x.rank() - 1, W + p.left + p.right);
    return y;
  }

  template <class T>
  Saved forward(const Tensor<T>& x, Tensor<T>& y) const {
    require_defined(name, "x", x);
    kernels::pad2d_forward(geometry(x.shape()), x.data(), y.data());
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& gy, Tensor<T>* gx) const {
    if (gx) kernels::pad2d_backward(geometry(x.shape()), gy.data(), gx->data());
  }

  constexpr kernels::PadGeometry geometry(const Shape& x) const {
    return {x.product(0, x.rank() - 2), x.dim(-2), x.dim(-1), padding, mode};
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_PAD2D_HPP
