#ifndef SVERTKA_KERNELS_PAD2D_HPP
#define SVERTKA_KERNELS_PAD2D_HPP
//! @file
//! Padding kernels over planes: y = x padded on the last two dimensions in any `PadMode`, and the
//! backward pass that sends every padded pixel's gradient back to its source pixel.
//!
//! Every output pixel (i, j) reads source pixel (pad_source(i − top, H), pad_source(j − left, W))
//! (see ops/padding.hpp; zero when there is none). The row and column maps are computed once per
//! call; each output row is then one copy of the source row plus its left and right borders.
//!
//! Work is split over the planes (a grain keeps small problems on the calling thread). The backward
//! pass adds into a gradient plane only from the thread that owns it, rows in order, so the sums are
//! bit-identical at any thread count. The caller validates the geometry (ops/pad2d.hpp).

#include <cstdint>

#include "svertka/ops/padding.hpp"

namespace svertka::kernels {

//! `planes` planes of H×W padded to (H + top + bottom) × (W + left + right).
struct PadGeometry {
  std::int64_t planes = 0, H = 0, W = 0;
  Padding2d padding{};
  PadMode mode = PadMode::zeros;
  constexpr std::int64_t Ho() const { return H + padding.top + padding.bottom; }
  constexpr std::int64_t Wo() const { return W + padding.left + padding.right; }
};

//! y[i, j] = x[pad_source(i − top, H), pad_source(j − left, W)], or 0 when there is no source.
template <class T>
void pad2d_forward(const PadGeometry& g, const T* x, T* y);

//! gx[source of (i, j)] += gy[i, j] for every padded pixel that has a source.
template <class T>
void pad2d_backward(const PadGeometry& g, const T* gy, T* gx);

extern template void pad2d_forward<float>(const PadGeometry&, const float*, float*);
extern template void pad2d_forward<double>(const PadGeometry&, const double*, double*);
extern template void pad2d_backward<float>(const PadGeometry&, const float*, float*);
extern template void pad2d_backward<double>(const PadGeometry&, const double*, double*);

}  // namespace svertka::kernels

#endif  // SVERTKA_KERNELS_PAD2D_HPP
