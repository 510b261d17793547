#ifndef SVERTKA_CORE_PARAMETER_HPP
#define SVERTKA_CORE_PARAMETER_HPP
//! @file
//! `Parameter<T>`: a trainable value and its gradient, shared by both engines and every optimizer.

#include "svertka/core/tensor.hpp"

namespace svertka {

//! A value tensor and a gradient tensor of the same shape. Copies share both (like tensors), so an
//! engine, a model and an optimizer can hold the same parameter. Gradients *accumulate*: each
//! backward pass adds into `grad()` until `zero_grad()`.
template <class T>
class Parameter {
 public:
  Parameter() = default;
  //! Wraps `value` (shared, not copied) with a zero gradient.
  explicit Parameter(Tensor<T> value) : value_(std::move(value)), grad_(Tensor<T>::zeros(value_.shape())) {}

  Tensor<T>& value() { return value_; }
  const Tensor<T>& value() const { return value_; }
  Tensor<T>& grad() { return grad_; }
  const Tensor<T>& grad() const { return grad_; }
  const Shape& shape() const { return value_.shape(); }
  std::int64_t numel() const { return value_.numel(); }
  void zero_grad() { grad_.fill(T{0}); }
  bool defined() const { return value_.defined(); }
  //! True when both handles refer to the same parameter.
  bool same_as(const Parameter& o) const { return value_.shares_storage(o.value_); }

 private:
  Tensor<T> value_;
  Tensor<T> grad_;
};

}  // namespace svertka

#endif  // SVERTKA_CORE_PARAMETER_HPP
