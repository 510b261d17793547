#ifndef SVERTKA_OPS_CONCAT_HPP
#define SVERTKA_OPS_CONCAT_HPP
//! @file
//! `concat`: two tensors joined along dimension 1 (channels for NCHW, features for [N, F]).
//!
//! y[n, 0:Ca, ...] = a[n], y[n, Ca:Ca+Cb, ...] = b[n];  ∂L/∂a and ∂L/∂b are the matching slices of ∂L/∂y.

#include <cstring>

#include "svertka/ops/op.hpp"

namespace svertka::ops {

struct Concat {
  static constexpr std::string_view name = "concat";
  using Saved = NoSaved;

  constexpr Shape output_shape(const Shape& a, const Shape& b) const {
    bool ok = a.rank() >= 2 && a.rank() == b.rank();
    for (int i = 0; ok && i < a.rank(); ++i) ok = i == 1 || a[i] == b[i];
    if (!ok)
      throw ShapeError(fmt::format("concat: shapes must agree in every dimension but 1 (a: {}, b: {})", a, b));
    Shape y = a;
    y.set(1, a[1] + b[1]);
    return y;
  }

  template <class T>
  Saved forward(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& y) const {
    require_defined(name, "a", a);
    require_defined(name, "b", b);
    const std::int64_t n = a.dim(0), sa = a.numel() / n, sb = b.numel() / n;
    T* yp = y.data();
    parallel_for(0, n, std::max<std::int64_t>(1, elementwise_grain / (sa + sb)), [&](std::int64_t nb, std::int64_t ne) {
      for (std::int64_t i = nb; i < ne; ++i) {
        std::memcpy(yp + i * (sa + sb), a.data() + i * sa, static_cast<std::size_t>(sa) * sizeof(T));
        std::memcpy(yp + i * (sa + sb) + sa, b.data() + i * sb, static_cast<std::size_t>(sb) * sizeof(T));
      }
    });
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& a, const Tensor<T>& b, const Tensor<T>&, const Tensor<T>& gy,
                Tensor<T>* ga, Tensor<T>* gb) const {
    const std::int64_t n = a.dim(0), sa = a.numel() / n, sb = b.numel() / n;
    const T* g = gy.data();
    parallel_for(0, n, std::max<std::int64_t>(1, elementwise_grain / (sa + sb)), [&](std::int64_t nb, std::int64_t ne) {
      for (std::int64_t i = nb; i < ne; ++i) {
        if (ga)
          for (std::int64_t j = 0; j < sa; ++j) ga->data()[i * sa + j] += g[i * (sa + sb) + j];
        if (gb)
          for (std::int64_t j = 0; j < sb; ++j) gb->data()[i * sb + j] += g[i * (sa + sb) + sa + j];
      }
    });
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_CONCAT_HPP
