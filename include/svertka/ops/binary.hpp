#ifndef SVERTKA_OPS_BINARY_HPP
#define SVERTKA_OPS_BINARY_HPP
//! @file
//! Elementwise `+ − × ÷` of two tensors, with broadcasting of one operand over a block of the other's
//! dimensions (a scalar, a per-channel bias `[C,1,1]` against `[N,C,H,W]`, `[C]` against `[N,C]`).
//!
//! Broadcasting follows numpy's rules (shapes aligned on the right, size-1 dimensions stretched),
//! restricted to the case where one operand's non-1 dimensions form one contiguous block of the
//! other's: then the output is seen as [outer, block, inner] and the small operand is indexed by the
//! block position alone. ∂L/∂(small operand) sums ∂L/∂y over outer and inner.

#include <algorithm>

#include "svertka/ops/op.hpp"

namespace svertka::ops {

//! How the two operands of a binary op line up: the output viewed as [outer, block, inner], and which
//! operand (if any) has only the block.
struct BroadcastPlan {
  enum class Side { none, a, b };
  Shape out;
  std::int64_t outer = 1, block = 1, inner = 1;
  Side small = Side::none;
};

//! The broadcast plan of `a op b`, or `ShapeError` naming the op and both shapes.
constexpr BroadcastPlan broadcast_plan(std::string_view op, const Shape& a, const Shape& b) {
  BroadcastPlan p;
  if (a == b) {
    p.out = a;
    p.inner = a.numel();
    return p;
  }
  // the big operand is the one whose shape is the output; the other must fit into it
  const bool a_big = a.rank() > b.rank() || (a.rank() == b.rank() && a.numel() >= b.numel());
  const Shape& big = a_big ? a : b;
  const Shape& small = a_big ? b : a;
  const int off = big.rank() - small.rank();
  int first = -1, last = -1;  // the block of the small operand's non-1 dims, in big's indexing
  bool ok = small.rank() <= big.rank();
  for (int i = 0; ok && i < small.rank(); ++i) {
    if (small[i] == 1) continue;
    if (small[i] != big[i + off]) ok = false;
    if (first < 0) first = i + off;
    else if (last != i + off) ok = false;  // a gap of 1s inside the block
    last = i + off + 1;
  }
  if (!ok)
    throw ShapeError(fmt::format("{}: shapes {} and {} cannot be broadcast (a: {}, b: {}); one operand must "
                                 "match a contiguous block of the other's dimensions",
                                 op, a, b, a, b));
  p.out = big;
  if (first < 0) first = last = big.rank();  // a scalar: block of size 1
  p.outer = big.product(0, first);
  p.block = big.product(first, last);
  p.inner = big.product(last, big.rank());
  p.small = a_big ? BroadcastPlan::Side::b : BroadcastPlan::Side::a;
  return p;
}

//! y = a + b;  ∂y/∂a = 1, ∂y/∂b = 1
struct Add {
  static constexpr std::string_view name = "add";
  template <class T> static T value(T a, T b) { return a + b; }
  template <class T> static T da(T, T, T) { return T(1); }
  template <class T> static T db(T, T, T) { return T(1); }
};
//! y = a − b;  ∂y/∂a = 1, ∂y/∂b = −1
struct Sub {
  static constexpr std::string_view name = "sub";
  template <class T> static T value(T a, T b) { return a - b; }
  template <class T> static T da(T, T, T) { return T(1); }
  template <class T> static T db(T, T, T) { return T(-1); }
};
//! y = a·b;  ∂y/∂a = b, ∂y/∂b = a
struct Mul {
  static constexpr std::string_view name = "mul";
  template <class T> static T value(T a, T b) { return a * b; }
  template <class T> static T da(T, T b, T) { return b; }
  template <class T> static T db(T a, T, T) { return a; }
};
//! y = a/b;  ∂y/∂a = 1/b, ∂y/∂b = −a/b² = −y/b
struct Div {
  static constexpr std::string_view name = "div";
  template <class T> static T value(T a, T b) { return a / b; }
  template <class T> static T da(T, T b, T) { return T(1) / b; }
  template <class T> static T db(T, T b, T y) { return -y / b; }
};

//! Applies an elementwise binary function F with broadcasting (see the file comment).
template <class F>
struct Binary {
  static constexpr std::string_view name = F::name;
  using Saved = NoSaved;

  constexpr Shape output_shape(const Shape& a, const Shape& b) const { return broadcast_plan(name, a, b).out; }

  template <class T>
  Saved forward(const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& y) const {
    require_defined(name, "a", a);
    require_defined(name, "b", b);
    const BroadcastPlan p = broadcast_plan(name, a.shape(), b.shape());
    const T *ap = a.data(), *bp = b.data();
    T* yp = y.data();
    for_each_index(p, [&](std::int64_t i, std::int64_t ia, std::int64_t ib) { yp[i] = F::value(ap[ia], bp[ib]); });
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& a, const Tensor<T>& b, const Tensor<T>& y, const Tensor<T>& gy,
                Tensor<T>* ga, Tensor<T>* gb) const {
    const BroadcastPlan p = broadcast_plan(name, a.shape(), b.shape());
    const T *ap = a.data(), *bp = b.data(), *yp = y.data(), *gyp = gy.data();
    using Side = BroadcastPlan::Side;
    // the full-size operands: one pass, each element written once
    if ((ga && p.small != Side::a) || (gb && p.small != Side::b)) {
      T* gap = ga && p.small != Side::a ? ga->data() : nullptr;
      T* gbp = gb && p.small != Side::b ? gb->data() : nullptr;
      for_each_index(p, [&](std::int64_t i, std::int64_t ia, std::int64_t ib) {
        if (gap) gap[i] += gyp[i] * F::da(ap[ia], bp[ib], yp[i]);
        if (gbp) gbp[i] += gyp[i] * F::db(ap[ia], bp[ib], yp[i]);
      });
    }
    // the broadcast operand: a fixed-order sum over outer and inner for each block position
    if (p.small == Side::none) return;
    T* gs = p.small == Side::a ? (ga ? ga->data() : nullptr) : (gb ? gb->data() : nullptr);
    if (!gs) return;
    const bool small_a = p.small == Side::a;
    auto term = [&](std::int64_t i, std::int64_t k) {
      const T av = small_a ? ap[k] : ap[i], bv = small_a ? bp[i] : bp[k];
      return gyp[i] * (small_a ? F::da(av, bv, yp[i]) : F::db(av, bv, yp[i]));
    };
    if (p.block == 1) {
      gs[0] += chunked_sum<T>(p.outer * p.inner, elementwise_grain, [&](std::int64_t b, std::int64_t e) {
        T s{0};
        for (std::int64_t i = b; i < e; ++i) s += term(i, 0);
        return s;
      });
      return;
    }
    parallel_for(0, p.block, std::max<std::int64_t>(1, elementwise_grain / (p.outer * p.inner)),
                 [&](std::int64_t kb, std::int64_t ke) {
                   for (std::int64_t k = kb; k < ke; ++k) {
                     T s{0};
                     for (std::int64_t o = 0; o < p.outer; ++o)
                       for (std::int64_t j = 0, i = (o * p.block + k) * p.inner; j < p.inner; ++j, ++i) s += term(i, k);
                     gs[k] += s;
                   }
                 });
  }

 private:
  //! Calls fn(i, ia, ib) for every output index i with the matching indices of a and b.
  template <class Fn>
  static void for_each_index(const BroadcastPlan& p, Fn&& fn) {
    using Side = BroadcastPlan::Side;
    const std::int64_t n = p.outer * p.block * p.inner;
    if (p.small == Side::none) {
      parallel_for(0, n, elementwise_grain, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) fn(i, i, i);
      });
      return;
    }
    const bool small_a = p.small == Side::a;
    const std::int64_t rows = p.outer * p.block;
    parallel_for(0, rows, std::max<std::int64_t>(1, elementwise_grain / std::max<std::int64_t>(1, p.inner)),
                 [&](std::int64_t rb, std::int64_t re) {
                   for (std::int64_t r = rb; r < re; ++r) {
                     const std::int64_t k = r % p.block;
                     for (std::int64_t j = 0, i = r * p.inner; j < p.inner; ++j, ++i) fn(i, small_a ? k : i, small_a ? i : k);
                   }
                 });
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_BINARY_HPP
