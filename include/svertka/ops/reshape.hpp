#ifndef SVERTKA_OPS_RESHAPE_HPP
#define SVERTKA_OPS_RESHAPE_HPP
//! @file
//! `reshape` and `flatten`: the same elements under another shape. A view (no copy) in both engines.
//!
//! y = x with shape s (numel(s) = numel(x));  ∂L/∂x = reshape(∂L/∂y, shape(x)).

#include "svertka/ops/op.hpp"

namespace svertka::ops {

//! Reshape to `shape`; `flatten` is `Reshape::flatten(x)` = [N, numel/N].
struct Reshape {
  static constexpr std::string_view name = "reshape";
  static constexpr bool is_view = true;
  using Saved = NoSaved;
  Shape shape;

  //! [N, C·H·W] from [N, C, H, W] (any rank ≥ 1: the first dimension is kept).
  static constexpr Reshape flatten(const Shape& x) {
    if (x.rank() < 1) throw ShapeError(fmt::format("flatten: input must have rank ≥ 1 but has rank 0 (x: {})", x));
    return Reshape{Shape{x[0], x.product(1, x.rank())}};
  }

  constexpr Shape output_shape(const Shape& x) const {
    if (x.numel() != shape.numel())
      throw ShapeError(fmt::format("reshape: cannot view {} elements as shape {} ({} elements) (x: {})", x.numel(),
                                   shape, shape.numel(), x));
    return shape;
  }

  template <class T>
  Saved forward(const Tensor<T>& x, Tensor<T>& y) const {
    require_defined(name, "x", x);
    y = x.reshape(output_shape(x.shape()));
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>&, const Tensor<T>&, const Tensor<T>& gy, Tensor<T>* gx) const {
    if (!gx) return;
    const T* g = gy.data();
    T* out = gx->data();
    parallel_for(0, gy.numel(), elementwise_grain, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) out[i] += g[i];
    });
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_RESHAPE_HPP
