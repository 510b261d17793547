#ifndef SVERTKA_CORE_SHAPE_HPP
#define SVERTKA_CORE_SHAPE_HPP
//! @file
//! `Shape`: the dimensions of a tensor, a constexpr literal type usable in `static_assert` and at run time.

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include <fmt/format.h>

#include "svertka/core/error.hpp"

namespace svertka {

//! Dimensions of a row-major tensor, rank 0 (a scalar) to `max_rank`.
//!
//! Everything is constexpr so the same shape rules check static shapes at compile time and dynamic
//! shapes at run time. Invalid shapes (a negative size, rank above `max_rank`) throw `ShapeError`,
//! which at compile time turns into a compile error.
class Shape {
 public:
  static constexpr int max_rank = 6;

  constexpr Shape() = default;
  constexpr Shape(std::initializer_list<std::int64_t> dims) {
    if (dims.size() > max_rank) throw ShapeError("Shape: rank above 6 is not supported");
    for (std::int64_t d : dims) push_back(d);
  }
  template <class It>
  static constexpr Shape from_range(It first, It last) {
    Shape s;
    for (; first != last; ++first) s.push_back(static_cast<std::int64_t>(*first));
    return s;
  }

  constexpr int rank() const { return rank_; }
  constexpr std::int64_t operator[](int i) const {
    if (i < 0 || i >= rank_) throw ShapeError("Shape: dimension index out of range");
    return dims_[static_cast<std::size_t>(i)];
  }
  //! Dimension counted from the end when `i` is negative (`dim(-1)` is the last one).
  constexpr std::int64_t dim(int i) const { return (*this)[i < 0 ? i + rank_ : i]; }
  constexpr std::int64_t numel() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
    return n;
  }
  constexpr const std::int64_t* begin() const { return dims_.data(); }
  constexpr const std::int64_t* end() const { return dims_.data() + rank_; }

  constexpr void push_back(std::int64_t d) {
    if (rank_ >= max_rank) throw ShapeError("Shape: rank above 6 is not supported");
    if (d < 0) throw ShapeError("Shape: a dimension is negative");
    dims_[static_cast<std::size_t>(rank_++)] = d;
  }
  constexpr void set(int i, std::int64_t d) {
    if (i < 0 || i >= rank_) throw ShapeError("Shape: dimension index out of range");
    if (d < 0) throw ShapeError("Shape: a dimension is negative");
    dims_[static_cast<std::size_t>(i)] = d;
  }

  //! Product of the dimensions in [first, last).
  constexpr std::int64_t product(int first, int last) const {
    std::int64_t n = 1;
    for (int i = first; i < last; ++i) n *= (*this)[i];
    return n;
  }

  friend constexpr bool operator==(const Shape& a, const Shape& b) {
    if (a.rank_ != b.rank_) return false;
    for (int i = 0; i < a.rank_; ++i)
      if (a.dims_[static_cast<std::size_t>(i)] != b.dims_[static_cast<std::size_t>(i)]) return false;
    return true;
  }

  //! `[2,3,4]`, the form every error message uses.
  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) {
      if (i) s += ',';
      s += std::to_string(dims_[static_cast<std::size_t>(i)]);
    }
    return s + "]";
  }

  // Public only so that Shape is a structural type, usable as a template argument (the compile-time
  // graph carries shapes in its types). Use the accessors above.
  std::array<std::int64_t, max_rank> dims_{};
  int rank_ = 0;
};

//! A shape known at compile time: `shape_c<16, 5, 5>`.
template <std::int64_t... D>
inline constexpr Shape shape_c = Shape{D...};

}  // namespace svertka

template <>
struct fmt::formatter<svertka::Shape> : fmt::formatter<std::string> {
  auto format(const svertka::Shape& s, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(s.str(), ctx);
  }
};

#endif  // SVERTKA_CORE_SHAPE_HPP
