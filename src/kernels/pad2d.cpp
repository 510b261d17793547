// Padding kernels. The index maps come from pad_source (ops/padding.hpp), computed once per call:
// one source row offset per output row, one source column per border column. Interior columns map to
// themselves, so each output row is [left border gathered | a copy of the source row | right border].

#include "svertka/kernels/pad2d.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "svertka/core/threads.hpp"

namespace svertka::kernels {
namespace {

using i64 = std::int64_t;

// Elements (in + out) per chunk of whole planes, below which work stays on one thread.
constexpr i64 grain_elements = 16384;

// The maps of one call: rows[i] = offset of output row i's source row in the plane (or −1), and
// cols[j] = source column of border column j: the left border first, then the right one (or −1).
// Kept per thread between calls, so repeated calls of the same size do not allocate.
struct Maps {
  const i64* rows;
  const i64* left;
  const i64* right;
};

Maps make_maps(const PadGeometry& g) {
  thread_local std::vector<i64> buffer;
  const Padding2d& p = g.padding;
  const i64 Ho = g.Ho();
  buffer.resize(static_cast<std::size_t>(Ho + p.left + p.right));
  i64* rows = buffer.data();
  i64* cols = rows + Ho;
  for (i64 i = 0; i < Ho; ++i) {
    const i64 s = pad_source(i - p.top, g.H, g.mode);
    rows[i] = s < 0 ? -1 : s * g.W;
  }
  for (i64 j = 0; j < p.left; ++j) cols[j] = pad_source(j - p.left, g.W, g.mode);
  for (i64 j = 0; j < p.right; ++j) cols[p.left + j] = pad_source(g.W + j, g.W, g.mode);
  return {rows, cols, cols + p.left};
}

i64 plane_grain(const PadGeometry& g) {
  return std::max<i64>(1, grain_elements / std::max<i64>(1, g.H * g.W + g.Ho() * g.Wo()));
}

template <class T>
void forward_planes(const PadGeometry& g, const Maps& m, const T* x, T* y, i64 p0, i64 p1) {
  const i64 Ho = g.Ho(), Wo = g.Wo(), W = g.W, left = g.padding.left, right = g.padding.right;
  for (i64 p = p0; p < p1; ++p) {
    const T* xp = x + p * g.H * W;
    for (i64 i = 0; i < Ho; ++i) {
      T* __restrict yr = y + (p * Ho + i) * Wo;
      if (m.rows[i] < 0) {
        std::fill(yr, yr + Wo, T(0));
        continue;
      }
      const T* __restrict xr = xp + m.rows[i];
      for (i64 j = 0; j < left; ++j) yr[j] = m.left[j] < 0 ? T(0) : xr[m.left[j]];
      std::memcpy(yr + left, xr, static_cast<std::size_t>(W) * sizeof(T));
      T* __restrict yright = yr + left + W;
      for (i64 j = 0; j < right; ++j) yright[j] = m.right[j] < 0 ? T(0) : xr[m.right[j]];
    }
  }
}

template <class T>
void backward_planes(const PadGeometry& g, const Maps& m, const T* gy, T* gx, i64 p0, i64 p1) {
  const i64 Ho = g.Ho(), Wo = g.Wo(), W = g.W, left = g.padding.left, right = g.padding.right;
  for (i64 p = p0; p < p1; ++p) {
    T* gp = gx + p * g.H * W;
    for (i64 i = 0; i < Ho; ++i) {
      if (m.rows[i] < 0) continue;
      T* __restrict gxr = gp + m.rows[i];
      const T* __restrict gyr = gy + (p * Ho + i) * Wo;
      const T* __restrict mid = gyr + left;
      for (i64 k = 0; k < W; ++k) gxr[k] += mid[k];
      for (i64 j = 0; j < left; ++j)
        if (m.left[j] >= 0) gxr[m.left[j]] += gyr[j];
      const T* gright = mid + W;
      for (i64 j = 0; j < right; ++j)
        if (m.right[j] >= 0) gxr[m.right[j]] += gright[j];
    }
  }
}

}  // namespace

template <class T>
void pad2d_forward(const PadGeometry& g, const T* x, T* y) {
  const Maps m = make_maps(g);
  parallel_for(0, g.planes, plane_grain(g), [&](i64 a, i64 b) { forward_planes(g, m, x, y, a, b); });
}

template <class T>
void pad2d_backward(const PadGeometry& g, const T* gy, T* gx) {
  const Maps m = make_maps(g);
  parallel_for(0, g.planes, plane_grain(g), [&](i64 a, i64 b) { backward_planes(g, m, gy, gx, a, b); });
}

template void pad2d_forward<float>(const PadGeometry&, const float*, float*);
template void pad2d_forward<double>(const PadGeometry&, const double*, double*);
template void pad2d_backward<float>(const PadGeometry&, const float*, float*);
template void pad2d_backward<double>(const PadGeometry&, const double*, double*);

}  // namespace svertka::kernels
