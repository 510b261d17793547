#ifndef SVERTKA_OPS_REDUCE_HPP
#define SVERTKA_OPS_REDUCE_HPP
//! @file
//! `sum` and `mean`: over all elements (a rank-0 result) or over one axis (that axis removed).
//!
//! Sum: y = Σᵢ xᵢ, ∂y/∂xᵢ = 1.  Mean: y = (1/n) Σᵢ xᵢ, ∂y/∂xᵢ = 1/n.
//! The sum over all elements is a fixed-chunk reduction: bit-identical at any thread count.

#include <optional>

#include "svertka/ops/op.hpp"

namespace svertka::ops {

//! Sum (or mean, with `mean = true`) over all elements, or over `axis` when it is set (negative
//! counts from the end).
struct Reduce {
  static constexpr std::string_view name = "sum";
  using Saved = NoSaved;
  std::optional<int> axis{};
  bool mean = false;

  constexpr std::string_view op_name() const { return mean ? "mean" : "sum"; }

  constexpr int resolved_axis(const Shape& x) const {
    const int a = *axis < 0 ? *axis + x.rank() : *axis;
    if (a < 0 || a >= x.rank())
      throw ShapeError(fmt::format("{}: axis {} is out of range for input of rank {} (x: {})", op_name(), *axis,
                                   x.rank(), x));
    return a;
  }
  constexpr Shape output_shape(const Shape& x) const {
    if (!axis) return Shape{};
    const int a = resolved_axis(x);
    Shape out;
    for (int i = 0; i < x.rank(); ++i)
      if (i != a) out.push_back(x[i]);
    return out;
  }

  //! x viewed as [outer, n, inner] with the reduced axis in the middle.
  struct View {
    std::int64_t outer, n, inner;
  };
  constexpr View view(const Shape& x) const {
    if (!axis) return {1, x.numel(), 1};
    const int a = resolved_axis(x);
    return {x.product(0, a), x[a], x.product(a + 1, x.rank())};
  }

  template <class T>
  Saved forward(const Tensor<T>& x, Tensor<T>& y) const {
    require_defined(op_name(), "x", x);
    const View v = view(x.shape());
    const T scale = mean ? T(1) / static_cast<T>(v.n) : T(1);
    const T* xp = x.data();
    T* yp = y.data();
    if (v.outer == 1 && v.inner == 1) {
      yp[0] = scale * chunked_sum<T>(v.n, elementwise_grain, [&](std::int64_t b, std::int64_t e) {
                T s{0};
                for (std::int64_t i = b; i < e; ++i) s += xp[i];
                return s;
              });
      return {};
    }
    parallel_for(0, v.outer, std::max<std::int64_t>(1, elementwise_grain / std::max<std::int64_t>(1, v.n * v.inner)),
                 [&](std::int64_t ob, std::int64_t oe) {
                   for (std::int64_t o = ob; o < oe; ++o) {
                     T* yo = yp + o * v.inner;
                     for (std::int64_t j = 0; j < v.inner; ++j) yo[j] = T(0);
                     for (std::int64_t k = 0; k < v.n; ++k) {
                       const T* xk = xp + (o * v.n + k) * v.inner;
                       for (std::int64_t j = 0; j < v.inner; ++j) yo[j] += xk[j];
                     }
                     for (std::int64_t j = 0; j < v.inner; ++j) yo[j] *= scale;
                   }
                 });
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& gy, Tensor<T>* gx) const {
    if (!gx) return;
    const View v = view(x.shape());
    const T scale = mean ? T(1) / static_cast<T>(v.n) : T(1);
    const T* gyp = gy.data();
    T* gxp = gx->data();
    parallel_for(0, x.numel(), elementwise_grain, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) {
        const std::int64_t o = i / (v.n * v.inner), j = i % v.inner;
        gxp[i] += scale * gyp[o * v.inner + j];
      }
    });
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_REDUCE_HPP
