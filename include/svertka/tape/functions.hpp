#ifndef SVERTKA_TAPE_FUNCTIONS_HPP
#define SVERTKA_TAPE_FUNCTIONS_HPP
//! @file
//! The ops of `svertka/ops/` as functions and operators on `Var`s. Each is one `apply()` call; the
//! math and its derivative live in the op's header.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <vector>

#include "svertka/ops/binary.hpp"
#include "svertka/ops/concat.hpp"
#include "svertka/ops/cross_entropy.hpp"
#include "svertka/ops/linear.hpp"
#include "svertka/ops/log_softmax.hpp"
#include "svertka/ops/matmul.hpp"
#include "svertka/ops/mse_loss.hpp"
#include "svertka/ops/reduce.hpp"
#include "svertka/ops/reshape.hpp"
#include "svertka/ops/unary.hpp"
#include "svertka/tape/var.hpp"

namespace svertka::tape {

// arithmetic between Vars (broadcasting as in ops/binary.hpp)
template <class T> Var<T> operator+(const Var<T>& a, const Var<T>& b) { return apply(ops::Binary<ops::Add>{}, a, b); }
template <class T> Var<T> operator-(const Var<T>& a, const Var<T>& b) { return apply(ops::Binary<ops::Sub>{}, a, b); }
template <class T> Var<T> operator*(const Var<T>& a, const Var<T>& b) { return apply(ops::Binary<ops::Mul>{}, a, b); }
template <class T> Var<T> operator/(const Var<T>& a, const Var<T>& b) { return apply(ops::Binary<ops::Div>{}, a, b); }
template <class T> Var<T> operator-(const Var<T>& x) { return apply(ops::Unary<ops::Neg>{}, x); }

// arithmetic with a scalar
template <class T> Var<T> operator+(const Var<T>& x, double s) { return apply(ops::Unary<ops::AddScalar>{{s}}, x); }
template <class T> Var<T> operator+(double s, const Var<T>& x) { return x + s; }
template <class T> Var<T> operator-(const Var<T>& x, double s) { return x + (-s); }
template <class T> Var<T> operator-(double s, const Var<T>& x) { return apply(ops::Unary<ops::RSubScalar>{{s}}, x); }
template <class T> Var<T> operator*(const Var<T>& x, double s) { return apply(ops::Unary<ops::MulScalar>{{s}}, x); }
template <class T> Var<T> operator*(double s, const Var<T>& x) { return x * s; }
template <class T> Var<T> operator/(const Var<T>& x, double s) { return x * (1.0 / s); }
template <class T> Var<T> operator/(double s, const Var<T>& x) { return apply(ops::Unary<ops::RDivScalar>{{s}}, x); }

// elementwise functions
template <class T> Var<T> neg(const Var<T>& x) { return -x; }
template <class T> Var<T> exp(const Var<T>& x) { return apply(ops::Unary<ops::Exp>{}, x); }
template <class T> Var<T> log(const Var<T>& x) { return apply(ops::Unary<ops::Log>{}, x); }
template <class T> Var<T> relu(const Var<T>& x) { return apply(ops::Unary<ops::Relu>{}, x); }
template <class T> Var<T> tanh(const Var<T>& x) { return apply(ops::Unary<ops::Tanh>{}, x); }
template <class T> Var<T> sigmoid(const Var<T>& x) { return apply(ops::Unary<ops::Sigmoid>{}, x); }
template <class T> Var<T> square(const Var<T>& x) { return apply(ops::Unary<ops::Square>{}, x); }
template <class T> Var<T> sqrt(const Var<T>& x) { return apply(ops::Unary<ops::Sqrt>{}, x); }
template <class T> Var<T> pow(const Var<T>& x, double p) { return apply(ops::Unary<ops::PowScalar>{{p}}, x); }

// reductions
template <class T> Var<T> sum(const Var<T>& x) { return apply(ops::Reduce{}, x); }
template <class T> Var<T> sum(const Var<T>& x, int axis) { return apply(ops::Reduce{.axis = axis}, x); }
template <class T> Var<T> mean(const Var<T>& x) { return apply(ops::Reduce{.mean = true}, x); }
template <class T> Var<T> mean(const Var<T>& x, int axis) { return apply(ops::Reduce{.axis = axis, .mean = true}, x); }

// shapes
template <class T> Var<T> reshape(const Var<T>& x, const Shape& s) { return apply(ops::Reshape{s}, x); }
//! Reshape with at most one dimension given as -1 (inferred).
template <class T> Var<T> reshape(const Var<T>& x, std::initializer_list<std::int64_t> dims) {
  return apply(ops::Reshape{x.value().reshape(dims).shape()}, x);
}
template <class T> Var<T> flatten(const Var<T>& x) { return apply(ops::Reshape::flatten(x.shape()), x); }

//! a and b joined along dimension 1 (channels of NCHW, features of [N, F]).
template <class T> Var<T> concat(const Var<T>& a, const Var<T>& b) { return apply(ops::Concat{}, a, b); }

// linear algebra
template <class T> Var<T> matmul(const Var<T>& a, const Var<T>& b) { return apply(ops::Matmul{}, a, b); }
template <class T> Var<T> linear(const Var<T>& x, const Var<T>& w) { return apply(ops::Linear{}, x, w); }
template <class T> Var<T> linear(const Var<T>& x, const Var<T>& w, const Var<T>& b) { return apply(ops::Linear{}, x, w, b); }

// losses
template <class T> Var<T> log_softmax(const Var<T>& x) { return apply(ops::LogSoftmax{}, x); }
//! Mean softmax cross-entropy of logits [N, C] against labels in [0, C).
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const Tensor<std::int64_t>& labels, ops::Reduction r = ops::Reduction::mean) {
  return apply(ops::CrossEntropy{labels, r}, logits);
}
template <class T>
Var<T> cross_entropy(const Var<T>& logits, std::span<const std::int64_t> labels, ops::Reduction r = ops::Reduction::mean) {
  const auto n = static_cast<std::int64_t>(labels.size());
  return cross_entropy(logits, Tensor<std::int64_t>::from(Shape{n}, labels), r);
}
template <class T>
Var<T> cross_entropy(const Var<T>& logits, const std::vector<std::int64_t>& labels, ops::Reduction r = ops::Reduction::mean) {
  return cross_entropy(logits, std::span<const std::int64_t>(labels), r);
}
template <class T>
Var<T> mse_loss(const Var<T>& prediction, const Var<T>& target, ops::Reduction r = ops::Reduction::mean) {
  return apply(ops::MseLoss{r}, prediction, target);
}

}  // namespace svertka::tape

#endif  // SVERTKA_TAPE_FUNCTIONS_HPP
