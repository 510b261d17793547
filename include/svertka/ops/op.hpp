#ifndef SVERTKA_OPS_OP_HPP
#define SVERTKA_OPS_OP_HPP
//! @file
//! The op seam: what every op in `svertka/ops/` provides, and the checks they share.
//!
//! An op is a small struct holding its options, with
//! - `static constexpr std::string_view name`, used in every error message;
//! - a constexpr shape rule `output_shape(inputs' shapes...)` that throws `ShapeError` naming the op;
//! - `Saved forward(const Tensor<T>& inputs..., Tensor<T>& y) const`: `y` arrives allocated with the
//!   output shape (ops marked `is_view` instead set `y` to a view of an input); `Saved` is whatever
//!   backward needs beyond the inputs and the output (`NoSaved` for most);
//! - `void backward(const Saved&, inputs..., const Tensor<T>& y, const Tensor<T>& gy, Tensor<T>* g...) const`.
//!
//! **The backward contract, for every op:** given `gy` = ∂L/∂y, *add* ∂L/∂input into each non-null
//! gradient tensor (accumulate, never assign). A null pointer means that gradient is not needed: its
//! work is skipped.

#include <string_view>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/shape.hpp"
#include "svertka/core/tensor.hpp"
#include "svertka/core/threads.hpp"

namespace svertka::ops {

//! `Saved` of an op that needs nothing beyond its inputs and output.
struct NoSaved {};

//! Elements per chunk for elementwise loops: below this, work stays on the calling thread.
inline constexpr std::int64_t elementwise_grain = 32768;

//! Throws `ShapeError` unless `t` is defined.
template <class T>
void require_defined(std::string_view op, std::string_view arg, const Tensor<T>& t) {
  if (!t.defined()) throw ShapeError(fmt::format("{}: argument '{}' is an undefined tensor", op, arg));
}

//! Throws `ShapeError` unless `s` has rank `rank`.
inline constexpr void require_rank(std::string_view op, std::string_view arg, const Shape& s, int rank) {
  if (s.rank() != rank)
    throw ShapeError(fmt::format("{}: {} must have rank {} but has rank {} (shape {})", op, arg, rank, s.rank(), s));
}

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_OP_HPP
