#ifndef SVERTKA_OPS_MATMUL_HPP
#define SVERTKA_OPS_MATMUL_HPP
//! @file
//! `matmul`: the product of two matrices.
//!
//! y = a·b with a: [M, K], b: [K, N], y: [M, N];
//! ∂L/∂a = ∂L/∂y · bᵀ,  ∂L/∂b = aᵀ · ∂L/∂y.

#include "svertka/kernels/gemm.hpp"
#include "svertka/ops/op.hpp"

namespace svertka::ops {

struct Matmul {
  static constexpr std::string_view name = "matmul";
  using Saved = NoSaved;

  constexpr Shape output_shape(const Shape& a, const Shape& b) const {
    if (a.rank() != 2 || b.rank() != 2)
      throw ShapeError(fmt::format("matmul: both arguments must be matrices (a: {}, b: {})", a, b));
    if (a[1] != b[0]) throw ShapeError(fmt::format("matmul: inner dimensions differ (a: {}, b: {})", a, b));
    return Shape{a[0], b[1]};
  }

  template <class T>
  Saved forward(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& y) const {
    require_defined(name, "a", a);
    require_defined(name, "b", b);
    const std::int64_t M = a.dim(0), K = a.dim(1), N = b.dim(1);
    using kernels::Trans;
    kernels::gemm<T>(Trans::no, Trans::no, M, N, K, T(1), a.data(), K, b.data(), N, T(0), y.data(), N);
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& a, const Tensor<T>& b, const Tensor<T>&, const Tensor<T>& gy,
                Tensor<T>* ga, Tensor<T>* gb) const {
    const std::int64_t M = a.dim(0), K = a.dim(1), N = b.dim(1);
    using kernels::Trans;
    if (ga) kernels::gemm<T>(Trans::no, Trans::yes, M, K, N, T(1), gy.data(), N, b.data(), N, T(1), ga->data(), K);
    if (gb) kernels::gemm<T>(Trans::yes, Trans::no, K, N, M, T(1), a.data(), K, gy.data(), N, T(1), gb->data(), N);
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_MATMUL_HPP
