#ifndef SVERTKA_OPS_UNARY_HPP
#define SVERTKA_OPS_UNARY_HPP
//! @file
//! Elementwise functions y = f(x), each a {value, derivative} pair, and the one op that applies them.
//!
//! Adding a function is one small struct here: `value(x)` and `derivative(x, y)` = dy/dx, which may
//! use the already computed y = f(x).

#include <cmath>

#include "svertka/ops/op.hpp"

namespace svertka::ops {

//! y = -x;  dy/dx = -1
struct Neg {
  static constexpr std::string_view name = "neg";
  template <class T> T value(T x) const { return -x; }
  template <class T> T derivative(T, T) const { return T(-1); }
};
//! y = eˣ;  dy/dx = eˣ = y
struct Exp {
  static constexpr std::string_view name = "exp";
  template <class T> T value(T x) const { return std::exp(x); }
  template <class T> T derivative(T, T y) const { return y; }
};
//! y = ln x;  dy/dx = 1/x
struct Log {
  static constexpr std::string_view name = "log";
  template <class T> T value(T x) const { return std::log(x); }
  template <class T> T derivative(T x, T) const { return T(1) / x; }
};
//! y = max(x, 0);  dy/dx = [x > 0] (0 at x = 0, as in PyTorch). Its backward passes ∂L/∂y where
//! x > 0 and 0 elsewhere (a select, not a product: as in PyTorch, an infinite or NaN ∂L/∂y where
//! x ≤ 0 gives 0, and the loop vectorises without a branch per element).
struct Relu {
  static constexpr std::string_view name = "relu";
  template <class T> T value(T x) const { return x > T(0) ? x : T(0); }
  template <class T> T derivative(T x, T) const { return x > T(0) ? T(1) : T(0); }
  template <class T> T gradient(T gy, T x, T) const { return x > T(0) ? gy : T(0); }
};
//! y = tanh x;  dy/dx = 1 − y²
struct Tanh {
  static constexpr std::string_view name = "tanh";
  template <class T> T value(T x) const { return std::tanh(x); }
  template <class T> T derivative(T, T y) const { return T(1) - y * y; }
};
//! y = σ(x) = 1/(1 + e⁻ˣ);  dy/dx = y(1 − y)
struct Sigmoid {
  static constexpr std::string_view name = "sigmoid";
  template <class T> T value(T x) const {
    return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
  }
  template <class T> T derivative(T, T y) const { return y * (T(1) - y); }
};
//! y = x²;  dy/dx = 2x
struct Square {
  static constexpr std::string_view name = "square";
  template <class T> T value(T x) const { return x * x; }
  template <class T> T derivative(T x, T) const { return T(2) * x; }
};
//! y = √x;  dy/dx = 1/(2y)
struct Sqrt {
  static constexpr std::string_view name = "sqrt";
  template <class T> T value(T x) const { return std::sqrt(x); }
  template <class T> T derivative(T, T y) const { return T(0.5) / y; }
};
//! y = x + s (a scalar);  dy/dx = 1
struct AddScalar {
  static constexpr std::string_view name = "add";
  double s;
  template <class T> T value(T x) const { return x + static_cast<T>(s); }
  template <class T> T derivative(T, T) const { return T(1); }
};
//! y = s·x;  dy/dx = s
struct MulScalar {
  static constexpr std::string_view name = "mul";
  double s;
  template <class T> T value(T x) const { return static_cast<T>(s) * x; }
  template <class T> T derivative(T, T) const { return static_cast<T>(s); }
};
//! y = s − x;  dy/dx = −1
struct RSubScalar {
  static constexpr std::string_view name = "sub";
  double s;
  template <class T> T value(T x) const { return static_cast<T>(s) - x; }
  template <class T> T derivative(T, T) const { return T(-1); }
};
//! y = s / x;  dy/dx = −s/x² = −y/x
struct RDivScalar {
  static constexpr std::string_view name = "div";
  double s;
  template <class T> T value(T x) const { return static_cast<T>(s) / x; }
  template <class T> T derivative(T x, T y) const { return -y / x; }
};
//! y = xᵖ;  dy/dx = p·xᵖ⁻¹
struct PowScalar {
  static constexpr std::string_view name = "pow";
  double p;
  template <class T> T value(T x) const { return std::pow(x, static_cast<T>(p)); }
  template <class T> T derivative(T x, T) const { return static_cast<T>(p) * std::pow(x, static_cast<T>(p - 1)); }
};

//! Applies an elementwise function F: y = F(x), ∂L/∂x += ∂L/∂y · F'(x), or += F.gradient(∂L/∂y, x, y)
//! when F defines it.
template <class F>
struct Unary {
  static constexpr std::string_view name = F::name;
  using Saved = NoSaved;
  F f{};

  constexpr Shape output_shape(const Shape& x) const { return x; }

  template <class T>
  Saved forward(const Tensor<T>& x, Tensor<T>& y) const {
    require_defined(name, "x", x);
    const T* xp = x.data();
    T* yp = y.data();
    parallel_for(0, x.numel(), elementwise_grain, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) yp[i] = f.value(xp[i]);
    });
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& gy, Tensor<T>* gx) const {
    if (!gx) return;
    const T *xp = x.data(), *yp = y.data(), *gyp = gy.data();
    T* gxp = gx->data();
    parallel_for(0, x.numel(), elementwise_grain, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) {
        const T g = gyp[i], xi = xp[i], yi = yp[i];
        if constexpr (requires { f.gradient(g, xi, yi); })
          gxp[i] += f.gradient(g, xi, yi);
        else
          gxp[i] += g * f.derivative(xi, yi);
      }
    });
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_UNARY_HPP
