#ifndef SVERTKA_OPS_LOG_SOFTMAX_HPP
#define SVERTKA_OPS_LOG_SOFTMAX_HPP
//! @file
//! `log_softmax` over the last dimension.
//!
//! yᵢ = xᵢ − log Σⱼ exp(xⱼ)  (computed as (xᵢ − m) − log Σⱼ exp(xⱼ − m), m = maxⱼ xⱼ);
//! ∂L/∂xᵢ = gᵢ − softmax(x)ᵢ · Σⱼ gⱼ,  softmax(x)ᵢ = exp(yᵢ).

#include <cmath>

#include "svertka/ops/op.hpp"

namespace svertka::ops {

struct LogSoftmax {
  static constexpr std::string_view name = "log_softmax";
  using Saved = NoSaved;

  constexpr Shape output_shape(const Shape& x) const {
    if (x.rank() < 1 || x.dim(-1) == 0)
      throw ShapeError(fmt::format("log_softmax: input needs a non-empty last dimension (x: {})", x));
    return x;
  }

  template <class T>
  Saved forward(const Tensor<T>& x, Tensor<T>& y) const {
    require_defined(name, "x", x);
    const std::int64_t C = x.dim(-1), rows = x.numel() / C;
    const T* xp = x.data();
    T* yp = y.data();
    parallel_for(0, rows, std::max<std::int64_t>(1, elementwise_grain / C), [&](std::int64_t rb, std::int64_t re) {
      for (std::int64_t r = rb; r < re; ++r) log_softmax_row(xp + r * C, yp + r * C, C);
    });
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& gy, Tensor<T>* gx) const {
    if (!gx) return;
    const std::int64_t C = x.dim(-1), rows = x.numel() / C;
    const T *yp = y.data(), *gyp = gy.data();
    T* gxp = gx->data();
    parallel_for(0, rows, std::max<std::int64_t>(1, elementwise_grain / C), [&](std::int64_t rb, std::int64_t re) {
      for (std::int64_t r = rb; r < re; ++r) {
        const T *yr = yp + r * C, *gr = gyp + r * C;
        T* out = gxp + r * C;
        T gsum{0};
        for (std::int64_t j = 0; j < C; ++j) gsum += gr[j];
        for (std::int64_t j = 0; j < C; ++j) out[j] += gr[j] - std::exp(yr[j]) * gsum;
      }
    });
  }

  //! One row: y = x − logsumexp(x), stable for large |x|.
  template <class T>
  static void log_softmax_row(const T* x, T* y, std::int64_t C) {
    T m = x[0];
    for (std::int64_t j = 1; j < C; ++j) m = x[j] > m ? x[j] : m;
    T s{0};
    for (std::int64_t j = 0; j < C; ++j) s += std::exp(x[j] - m);
    const T log_s = std::log(s);  // (x − m) − log s keeps the precision that x − (m + log s) loses
    for (std::int64_t j = 0; j < C; ++j) y[j] = (x[j] - m) - log_s;
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_LOG_SOFTMAX_HPP
