#ifndef SVERTKA_OPS_LINEAR_HPP
#define SVERTKA_OPS_LINEAR_HPP
//! @file
//! `linear`: a fully connected layer in PyTorch's layout.
//!
//! y = x·wᵀ + b with x: [N, in], w: [out, in], b: [out] (optional), y: [N, out];
//! ∂L/∂x = ∂L/∂y · w,  ∂L/∂w = (∂L/∂y)ᵀ · x,  ∂L/∂b = Σₙ ∂L/∂yₙ.
//! The bias is written into y before the product accumulates onto it (one pass over y).

#include "svertka/kernels/gemm.hpp"
#include "svertka/ops/op.hpp"

namespace svertka::ops {

struct Linear {
  static constexpr std::string_view name = "linear";
  using Saved = NoSaved;

  constexpr Shape output_shape(const Shape& x, const Shape& w) const {
    if (x.rank() != 2) throw ShapeError(fmt::format("linear: input must be [N, in] but has shape {} (x: {}, w: {})", x, x, w));
    if (w.rank() != 2) throw ShapeError(fmt::format("linear: weight must be [out, in] but has shape {} (x: {}, w: {})", w, x, w));
    if (x[1] != w[1])
      throw ShapeError(fmt::format("linear: input has {} features but weight expects {} (x: {}, w: {})", x[1], w[1], x, w));
    return Shape{x[0], w[0]};
  }
  constexpr Shape output_shape(const Shape& x, const Shape& w, const Shape& b) const {
    Shape y = output_shape(x, w);
    if (b.rank() != 1 || b[0] != w[0])
      throw ShapeError(fmt::format("linear: bias must be [{}] but has shape {} (w: {}, b: {})", w[0], b, w, b));
    return y;
  }

  template <class T>
  Saved forward(const Tensor<T>& x, const Tensor<T>& w, Tensor<T>& y) const {
    return forward_impl<T>(x, w, nullptr, y);
  }
  template <class T>
  Saved forward(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) const {
    require_defined(name, "b", b);
    return forward_impl(x, w, &b, y);
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>&, const Tensor<T>& gy,
                Tensor<T>* gx, Tensor<T>* gw) const {
    const std::int64_t N = x.dim(0), in = x.dim(1), out = w.dim(0);
    using kernels::Trans;
    if (gx) kernels::gemm<T>(Trans::no, Trans::no, N, in, out, T(1), gy.data(), out, w.data(), in, T(1), gx->data(), in);
    if (gw) kernels::gemm<T>(Trans::yes, Trans::no, out, in, N, T(1), gy.data(), out, x.data(), in, T(1), gw->data(), in);
  }
  template <class T>
  void backward(const Saved& s, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>&, const Tensor<T>& y,
                const Tensor<T>& gy, Tensor<T>* gx, Tensor<T>* gw, Tensor<T>* gb) const {
    backward(s, x, w, y, gy, gx, gw);
    if (!gb) return;
    const std::int64_t N = gy.dim(0), out = gy.dim(1);
    const T* g = gy.data();
    T* gbp = gb->data();
    parallel_for(0, out, std::max<std::int64_t>(1, elementwise_grain / std::max<std::int64_t>(1, N)),
                 [&](std::int64_t jb, std::int64_t je) {
                   for (std::int64_t j = jb; j < je; ++j) {
                     T s{0};
                     for (std::int64_t n = 0; n < N; ++n) s += g[n * out + j];
                     gbp[j] += s;
                   }
                 });
  }

 private:
  template <class T>
  Saved forward_impl(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>* b, Tensor<T>& y) const {
    require_defined(name, "x", x);
    require_defined(name, "w", w);
    const std::int64_t N = x.dim(0), in = x.dim(1), out = w.dim(0);
    T* yp = y.data();
    if (b) {
      const T* bp = b->data();
      for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t j = 0; j < out; ++j) yp[n * out + j] = bp[j];
    }
    using kernels::Trans;
    kernels::gemm<T>(Trans::no, Trans::yes, N, out, in, T(1), x.data(), in, w.data(), in, b ? T(1) : T(0), yp, out);
    return {};
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_LINEAR_HPP
