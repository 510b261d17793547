#ifndef SVERTKA_TAPE_POOL_HPP
#define SVERTKA_TAPE_POOL_HPP
//! @file
//! Padding and pooling on `Var`s, each one `apply()` call; the math and its derivative live in
//! ops/pad2d.hpp, ops/max_pool2d.hpp and ops/avg_pool2d.hpp.

#include "svertka/ops/avg_pool2d.hpp"
#include "svertka/ops/max_pool2d.hpp"
#include "svertka/ops/pad2d.hpp"
#include "svertka/tape/var.hpp"

namespace svertka::tape {

//! x padded on its last two dimensions (rank ≥ 2) in `mode`.
template <class T>
Var<T> pad2d(const Var<T>& x, Padding2d padding, PadMode mode = PadMode::zeros) {
  return apply(ops::Pad2d{padding, mode}, x);
}
//! Max over each window of an [N, C, H, W] input (PyTorch's max_pool2d; ties go to the first maximum).
template <class T>
Var<T> max_pool2d(const Var<T>& x, const Pool2dOptions& options) {
  return apply(ops::MaxPool2d{options}, x);
}
//! Mean over each window of an [N, C, H, W] input (PyTorch's avg_pool2d).
template <class T>
Var<T> avg_pool2d(const Var<T>& x, const Pool2dOptions& options) {
  return apply(ops::AvgPool2d{options}, x);
}
//! Mean over each plane: [N, C, H, W] → [N, C, 1, 1].
template <class T>
Var<T> global_avg_pool2d(const Var<T>& x) {
  return apply(ops::GlobalAvgPool2d{}, x);
}

}  // namespace svertka::tape

#endif  // SVERTKA_TAPE_POOL_HPP
