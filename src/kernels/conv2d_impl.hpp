#pragma once
// Internal to the convolution kernels (src/kernels/conv2d*.cpp): the geometry in the form the loops
// use, the padding index maps, workspaces, the task runner, and the declarations of the two
// algorithms. The ISA-specific parts (micro-kernels, packing) are in conv2d_isa.hpp.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>

#include "svertka/kernels/conv2d.hpp"

namespace svertka::kernels::conv {

using i64 = std::int64_t;
using i32 = std::int32_t;

inline i64 ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }
inline i64 round_up(i64 a, i64 b) { return ceil_div(a, b) * b; }
// Splits n into the fewest parts of at most `max`, of equal size rounded up to a multiple of `unit`.
inline i64 balanced(i64 n, i64 max, i64 unit) {
  const i64 parts = ceil_div(n, max);
  const i64 b = round_up(ceil_div(n, parts), unit);
  return b < max ? b : max;
}

// A growable, 64-byte aligned scratch array, kept between calls (never shrinks).
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { release(); }
  template <class U>
  U* get(i64 count) {
    const std::size_t bytes = sizeof(U) * static_cast<std::size_t>(count > 0 ? count : 1);
    if (bytes > bytes_) {
      release();
      data_ = ::operator new(bytes, std::align_val_t{64});
      bytes_ = bytes;
    }
    return static_cast<U*>(data_);
  }

 private:
  void release() noexcept {
    if (data_) ::operator delete(data_, std::align_val_t{64});
    data_ = nullptr;
    bytes_ = 0;
  }
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// Per-thread scratch. `call_*` buffers belong to the thread that called a kernel (shared, read-only,
// with the helper threads during the call); `task_*` buffers to the thread running a task.
struct Workspace {
  Buffer call_maps, call_a, call_part, call_items;
  Buffer task_lanes, task_panels, task_a, task_b, task_c, task_acc;
};
Workspace& workspace();

// The geometry with the derived sizes, and the padding index maps of one call:
//   rowmap[oh*R + r] = source row of output row oh, tap r (−1: zero), from pad_source
//   colmap[ow*S + s] = source column of output column ow, tap s
//   qmap[q]          = source column of padded column q ∈ [0, Q), Q = (Wo − 1)·sw + (S − 1)·dw + 1
struct Setup {
  Conv2dGeometry g;
  i64 G, Cg, Kg, RS, CRS, HW, CHW, P;  // CRS = Cg·R·S: the depth of the forward product per group
  i64 Q;
  const i32* rowmap;
  const i32* colmap;
  const i32* qmap;
};
// Validates g (throws) and builds the maps in the calling thread's workspace.
Setup make_setup(const Conv2dGeometry& g);

// d[q] for q ∈ [0, Q): input row `row` padded through qmap (0 where the map says zero), its interior
// [left, left + W) copied as it is.
template <class T>
inline void pad_row(const Setup& s, const T* row, T* d) {
  const i64 left = s.g.padding.left, qa = std::min(left, s.Q), qb = std::clamp(left + s.g.W, qa, s.Q);
  for (i64 q = 0; q < qa; ++q) d[q] = s.qmap[q] >= 0 ? row[s.qmap[q]] : T(0);
  if (qb > qa) std::copy_n(row + (qa - left), qb - qa, d + qa);
  for (i64 q = qb; q < s.Q; ++q) d[q] = s.qmap[q] >= 0 ? row[s.qmap[q]] : T(0);
}
// Validation alone (shared by conv2d_algorithm).
void validate(const Conv2dGeometry& g);
Conv2dAlgo choose(const Conv2dGeometry& g);
// The algorithm of the forward pass (see conv2d_forward_algorithm).
template <class T>
Conv2dAlgo choose_forward(const Conv2dGeometry& g);
// The algorithm of the data gradient: `winograd`, else direct, lanes (the image lanes of
// conv2d_images.cpp, AVX-512 at stride and dilation 1) or gemm.
template <class T>
Conv2dAlgo choose_data(const Conv2dGeometry& g);
// The algorithm of the weight gradient: `winograd` or choose(g).
template <class T>
Conv2dAlgo choose_filter(const Conv2dGeometry& g);

// Runs task(ctx, t) for t in [0, n): in parallel (dynamic schedule, small tasks handed out a few at
// a time; which thread runs a task never changes its result) when `flops` is large and no parallel
// region is active, else serially.
using TaskFn = void (*)(const void* ctx, i64 t);
void run_tasks(i64 n, double flops, TaskFn task, const void* ctx);
// The instruction set the kernels use now: the best the CPU has, unless set_conv2d_isa chose one.
Conv2dIsa isa();

// A task function and the constants of the policy it was compiled with.
struct Kernel {
  TaskFn fn;
  i64 mr, panels, dot_cols;
};

// The algorithms (conv2d_gemm.cpp and conv2d_gemm_filter.cpp, conv2d_direct.cpp, conv2d_lanes.cpp).
namespace gemm {
template <class T> void forward(const Setup& s, const T* x, const T* w, const T* b, T* y);
template <class T> void backward_data(const Setup& s, const T* w, const T* gy, T* gx);
template <class T> void backward_filter(const Setup& s, const T* x, const T* gy, T* gw);
}  // namespace gemm
namespace direct {
template <class T> void forward(const Setup& s, const T* x, const T* w, const T* b, T* y);
template <class T> void backward_data(const Setup& s, const T* w, const T* gy, T* gx);
template <class T> void backward_filter(const Setup& s, const T* x, const T* gy, T* gw);
}  // namespace direct
namespace lanes {  // conv2d_lanes.cpp: forward and filter gradient (the data gradient uses the GEMM path)
template <class T> void forward(const Setup& s, const T* x, const T* w, const T* b, T* y);
// Returns false, doing nothing, when the transposed gY would be too large (then use the GEMM path).
template <class T> bool backward_filter(const Setup& s, const T* x, const T* gy, T* gw);
}  // namespace lanes
namespace rows {  // conv2d_rows.cpp: forward of filter-lanes shapes through F(4, S) along the rows (float, AVX-512)
bool applies(const Conv2dGeometry& g);  // AVX-512, stride and dilation 1, 3 or 5 taps a row, Wo ≥ 8, bounded sizes
void forward(const Setup& s, const float* x, const float* w, const float* b, float* y);
}  // namespace rows
namespace images {  // conv2d_images.cpp: the data gradient with L images in a vector, stride and dilation 1
bool applies(const Conv2dGeometry& g);
template <class T> void backward_data(const Conv2dGeometry& g, const T* w, const T* gy, T* gx);
}  // namespace images
namespace winograd {  // conv2d_winograd*.cpp: 3 × 3 and 5 × 5 filters at stride 1 (forward: or per phase)
bool applies(const Conv2dGeometry& g);  // 3 × 3 or 5 × 5 at stride 1: every pass, any padding
// Whether the forward pass runs at stride s > 1 on the input split into its s_h·s_w phases: no
// dilation, and filters of ⌈R / s_h⌉ = ⌈S / s_w⌉ = 3 or 5 taps per phase.
bool splits_phases(const Conv2dGeometry& g);
// Whether the forward pass is a 3 × 3 filter at stride 2 without dilation, which runs through
// F(4 × 4, 3 × 3) at stride 2 (Wino<3, 4, 2>: 81 products per 4 × 4 outputs instead of 144).
bool halves(const Conv2dGeometry& g);
// Whether its data gradient runs through the adjoint transform (Adjoint<F>, 81 products per 8 × 8
// pixels of ∂L/∂x): zero padding of at most 2 above and left, both even or both odd.
bool halves_data(const Conv2dGeometry& g);
// Whether its weight gradient runs through Wino<3, 4, 2> transposed (81 products per tile of 4 × 4
// outputs, conv2d_winograd_halves_filter.cpp): zero padding.
bool halves_filter(const Conv2dGeometry& g);
// Whether its data gradient is a convolution of gY on the input's pixels alone (padding of at most
// (r − 1)·dilation per side; in a mode other than zeros followed by the sums of the padded frame's
// pixels, added to their sources), not on the whole padded input followed by a fold of its borders.
bool transposes(const Conv2dGeometry& g);
template <class T> void forward(const Setup& s, const T* x, const T* w, const T* b, T* y);
template <class T> void backward_data(const Conv2dGeometry& g, const T* w, const T* gy, T* gx);
template <class T> void backward_filter(const Setup& s, const T* x, const T* gy, T* gw);
// dx += the padded frame's part of the data gradient (conv2d_winograd_frame.cpp): with padding of at
// most (r − 1)·dilation per side in a mode other than zeros, the sums of the padded pixels around
// the input, each added to the pixel it copies.
template <class T> void add_frame(const Conv2dGeometry& g, const T* w, const T* gy, T* gx);
}  // namespace winograd

// Entry points compiled twice: `name##_generic` for any CPU and `name##_avx2` (flattened, so that
// every loop they call is compiled for AVX2+FMA too); `pick` chooses one at run time.
#define SVERTKA_CONV_FLATTEN __attribute__((flatten))
#if defined(__x86_64__) || defined(__i386__)
#define SVERTKA_CONV_X86 1
#define SVERTKA_CONV_AVX2_FN __attribute__((target("avx2,fma"), flatten))
#define SVERTKA_CONV_AVX512_FN __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"), flatten))
#endif

// Defines name_generic, name_avx2, name_avx512 (each `name<Policy, T>` flattened into an entry compiled
// for that instruction set) and pick_name<T>(), the one for isa().
#ifdef SVERTKA_CONV_X86
#define SVERTKA_CONV_ENTRIES(name)                                                                        \
  template <class T>                                                                                     \
  SVERTKA_CONV_FLATTEN void name##_generic(const void* c, i64 t) {                                       \
    name<Generic, T>(c, t);                                                                              \
  }                                                                                                      \
  template <class T>                                                                                     \
  SVERTKA_CONV_AVX2_FN void name##_avx2(const void* c, i64 t) {                                          \
    name<Avx2, T>(c, t);                                                                                 \
  }                                                                                                      \
  template <class T>                                                                                     \
  SVERTKA_CONV_AVX512_FN void name##_avx512(const void* c, i64 t) {                                      \
    name<Avx512, T>(c, t);                                                                               \
  }                                                                                                      \
  template <class T>                                                                                     \
  Kernel pick_##name() {                                                                                 \
    switch (isa()) {                                                                                     \
      case Conv2dIsa::avx512: return {&name##_avx512<T>, Avx512::mr, Avx512::panels, Avx512::dot_cols}; \
      case Conv2dIsa::avx2: return {&name##_avx2<T>, Avx2::mr, Avx2::panels, Avx2::dot_cols};           \
      default: return {&name##_generic<T>, Generic::mr, Generic::panels, Generic::dot_cols};            \
    }                                                                                                    \
  }
#else
#define SVERTKA_CONV_ENTRIES(name)                                                         \
  template <class T>                                                                      \
  SVERTKA_CONV_FLATTEN void name##_generic(const void* c, i64 t) {                        \
    name<Generic, T>(c, t);                                                               \
  }                                                                                       \
  template <class T>                                                                      \
  Kernel pick_##name() {                                                                  \
    return {&name##_generic<T>, Generic::mr, Generic::panels, Generic::dot_cols};         \
  }
#endif

}  // namespace svertka::kernels::conv
