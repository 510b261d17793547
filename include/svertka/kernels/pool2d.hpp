#ifndef SVERTKA_KERNELS_POOL2D_HPP
#define SVERTKA_KERNELS_POOL2D_HPP
//! @file
//! Pooling kernels over NCHW planes: max-pool (with argmax) and average-pool, forward and backward.
//!
//! The window of output (oi, oj) starts at input row oi·sh − pad_top and column oj·sw − pad_left and
//! has kh × kw taps spaced dh, dw apart. Padding is never materialised: taps outside the input are
//! skipped (the −∞ of max-pool padding never wins, and average-pool's zeros add nothing). Windows that
//! lie wholly inside the input take a branch-free, vectorised path; only the border windows clip.
//!
//! Work is split over the N·C planes (a grain keeps small problems on the calling thread). Each plane
//! is read and written by one thread, and the backward scatter-adds into a gradient plane only from the
//! thread that owns it, in a fixed order: results are bit-identical at any thread count.
//! The caller validates the geometry (ops/pool2d.hpp); the kernels trust it.

#include <cstdint>

namespace svertka::kernels {

//! The shape of a pooling problem: `planes` independent H×W planes pooled to Ho×Wo.
struct PoolGeometry {
  std::int64_t planes = 0, H = 0, W = 0, Ho = 0, Wo = 0;
  std::int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  std::int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
};

//! y = the maximum over each window; `argmax` = its flat index h·W + w within the plane.
//! Ties go to the first maximum in row-major scan order; a NaN in the window wins (y is NaN and the
//! index is that of the last NaN, as in PyTorch). A window without any tap inside the input (possible
//! only with dilation) gives y = −∞ and index −1.
template <class T>
void max_pool2d_forward(const PoolGeometry& g, const T* x, T* y, std::int32_t* argmax);

//! gx[argmax] += gy, plane by plane (an index of −1 sends nothing).
template <class T>
void max_pool2d_backward(const PoolGeometry& g, const T* gy, const std::int32_t* argmax, T* gx);

//! y = (sum of the window's taps inside the input) / divisor, PyTorch's divisor: the window clipped
//! to the padded input (H + pad_bottom, W + pad_right) when `count_include_pad`, else to the input.
//! Dilation must be 1 (the caller checks).
template <class T>
void avg_pool2d_forward(const PoolGeometry& g, bool count_include_pad, const T* x, T* y);

//! gx[tap] += gy / divisor for every tap of every window.
template <class T>
void avg_pool2d_backward(const PoolGeometry& g, bool count_include_pad, const T* gy, T* gx);

#define SVERTKA_POOL2D_EXTERN(T)                                                                   \
  extern template void max_pool2d_forward<T>(const PoolGeometry&, const T*, T*, std::int32_t*);    \
  extern template void max_pool2d_backward<T>(const PoolGeometry&, const T*, const std::int32_t*, T*); \
  extern template void avg_pool2d_forward<T>(const PoolGeometry&, bool, const T*, T*);             \
  extern template void avg_pool2d_backward<T>(const PoolGeometry&, bool, const T*, T*);
SVERTKA_POOL2D_EXTERN(float)
SVERTKA_POOL2D_EXTERN(double)
#undef SVERTKA_POOL2D_EXTERN

}  // namespace svertka::kernels

#endif  // SVERTKA_KERNELS_POOL2D_HPP
