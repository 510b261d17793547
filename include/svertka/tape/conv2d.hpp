#ifndef SVERTKA_TAPE_CONV2D_HPP
#define SVERTKA_TAPE_CONV2D_HPP
//! @file
//! `conv2d` on `Var`s: one `apply()` call each; the math and its derivative live in
//! svertka/ops/conv2d.hpp.

#include "svertka/ops/conv2d.hpp"
#include "svertka/tape/var.hpp"

namespace svertka::tape {

//! y = conv2d(x, w): x [N, C, H, W], w [K, C/groups, R, S] → y [N, K, Ho, Wo].
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& w, const Conv2dOptions& opt = {}) {
  return apply(ops::Conv2d{opt}, x, w);
}
//! y = conv2d(x, w) + b, with b [K] added to every pixel of filter k's output.
template <class T>
Var<T> conv2d(const Var<T>& x, const Var<T>& w, const Var<T>& b, const Conv2dOptions& opt = {}) {
  return apply(ops::Conv2d{opt}, x, w, b);
}

}  // namespace svertka::tape

#endif  // SVERTKA_TAPE_CONV2D_HPP
