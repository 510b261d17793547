// The image-lanes data gradient of the convolution (stride and dilation 1): a vector register holds
// L images (L = 16 floats or 8 doubles: one AVX-512 register) at one pixel of ∂L/∂x, and each weight
// is broadcast once per (filter, tap) and multiplied into a run of J columns of CB channels:
//
//   acc[c][j][l] += w[k, c, r, s] · gY[n0 + l, k, i + top − r, j0 + j + left − s]   for every (k, r, s)
//
// ∂L/∂y of the task's L images is transposed once into [k][row][column][L], with zero columns on both
// sides, so that a run reads it without bound checks (the rows outside gY are left out of the sum).
// With few channels and filters (LeNet's second layer: 6 channels, 16 filters of 5 × 5, 14 × 14
// pixels) the GEMM path's product is only 16 deep and its col2im scatter costs as much again; here
// every multiply-add runs on registers.
//
// Padding: zeros of at most R − 1 (S − 1) per side go straight into ∂L/∂x (its pixel (i, j) is
// padded pixel (i + top, j + left)); any other padding goes through the gradient of the padded input,
// a scratch of N·C·Hp·Wp values (calling thread), folded into ∂L/∂x by pad2d's backward kernel.
// Tasks: one per (group of L images, group), which transposes its gY, then writes its own pixels of
// ∂L/∂x in one fixed order (the same for any thread count); the transposes in a parallel region of
// their own, one task per filter, took LeNet's second layer from 0.12 to 0.15 ms at 2 threads. Extra
// memory per task thread: the transposed gY, K/groups · Ho · (max(Wo, Wt + left) + S − 1 + J) · L
// values.

#include <algorithm>
#include <type_traits>

#include "conv2d_avx512.hpp"
#include "svertka/kernels/pad2d.hpp"

// The vectors live inside the always-inlined task of each entry; none crosses a call.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace svertka::kernels::conv::images {
namespace {

// A pass: CB channels × a run of J columns, 21 accumulators, one input vector and three weights in
// registers (2 × 14 spilled to the stack); LeNet's second layer's 6 channels and 14 columns in 2 × 2
constexpr i64 CB = 3, J = 7;

#ifdef SVERTKA_CONV_X86
template <class V>
SVERTKA_CONV_AVX512 inline V broadcast512(const float* x) {
  return (V)_mm512_set1_ps(*x);
}
template <class V>
SVERTKA_CONV_AVX512 inline V broadcast512(const double* x) {
  return (V)_mm512_set1_pd(*x);
}
#endif

template <class T>
struct Lanes {
  typedef T V __attribute__((vector_size(64)));
  static constexpr i64 L = 64 / static_cast<i64>(sizeof(T));
};

// {x, x, …, x}: on AVX-512 one broadcast from memory (V{} + x is an add of 0, then a broadcast)
template <class Isa, class V, class T>
SVERTKA_CONV_INLINE V splat(const T* x) {
#ifdef SVERTKA_CONV_X86
  if constexpr (std::is_same_v<Isa, Avx512>) return broadcast512<V>(x);
#endif
  return V{} + *x;
}

template <class T>
struct Ctx {
  const Conv2dGeometry* g;
  const T *w, *gy;
  T* out;                   // [N][C][Ht][Wt]
  i64 Ht, Wt, top, left;    // target pixel (i, j) is padded pixel (i + top, j + left)
  i64 Cg, Kg, Wg;           // Wg: a transposed row, in pixels
  bool accumulate;
};

// gt[oh][S − 1 + ow][l] = gY[ng·L + l, k, oh, ow], zero in the other columns and past the last image
template <class T>
SVERTKA_CONV_INLINE void transpose(const Ctx<T>& c, i64 ng, i64 k, T* gt) {
  constexpr i64 L = Lanes<T>::L;
  const Conv2dGeometry& g = *c.g;
  const i64 n0 = ng * L, nl = std::min(L, g.N - n0), Ho = g.Ho, Wo = g.Wo;
  const i64 plane = Ho * Wo, stride = g.K * plane;  // from one image's gY plane to the next's
  const T* src = c.gy + (n0 * g.K + k) * plane;
  for (i64 oh = 0; oh < Ho; ++oh) {
    T* row = gt + oh * c.Wg * L;
    std::fill_n(row, (g.S - 1) * L, T(0));
    for (i64 ow = 0; ow < Wo; ++ow) {
      T* dst = row + (g.S - 1 + ow) * L;
      const T* p = src + oh * Wo + ow;
      if (nl == L) {
#pragma GCC unroll 16
        for (i64 l = 0; l < L; ++l) dst[l] = p[l * stride];
      } else {
        for (i64 l = 0; l < L; ++l) dst[l] = l < nl ? p[l * stride] : T(0);
      }
    }
    std::fill(row + (g.S - 1 + Wo) * L, row + c.Wg * L, T(0));
  }
}

template <class Isa, class T>
SVERTKA_CONV_INLINE void data_task(const void* vctx, i64 t) {
  using V = typename Lanes<T>::V;
  constexpr i64 L = Lanes<T>::L;
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const Conv2dGeometry& g = *c.g;
  // task: (image group, group)
  const i64 gi = t % g.groups, ng = t / g.groups;
  const i64 n0 = ng * L, nl = std::min(L, g.N - n0);
  const i64 Ho = g.Ho, R = g.R, S = g.S, Cg = c.Cg, Kg = c.Kg, Wg = c.Wg, RS = R * S;
  T* gt = workspace().task_lanes.get<T>(Kg * Ho * Wg * L);
  for (i64 k = 0; k < Kg; ++k) transpose(c, ng, gi * Kg + k, gt + k * Ho * Wg * L);
  for (i64 c0 = 0; c0 < Cg; c0 += CB) {
    i64 ch[CB];  // the channels of this pass (past Cg: the last again, computed but not stored)
    for (i64 b = 0; b < CB; ++b) ch[b] = std::min(c0 + b, Cg - 1);
    for (i64 i = 0; i < c.Ht; ++i) {
      // the filter rows r that meet gY: oh = i + top − r ∈ [0, Ho)
      const i64 r0 = std::max<i64>(0, i + c.top - (Ho - 1)), r1 = std::min(R - 1, i + c.top);
      for (i64 j0 = 0; j0 < c.Wt; j0 += J) {
        V a[CB][J];
#pragma GCC unroll 3
        for (i64 b = 0; b < CB; ++b)
#pragma GCC unroll 7
          for (i64 j = 0; j < J; ++j) a[b][j] = V{};
        for (i64 k = 0; k < Kg; ++k) {
          const T* wk = c.w + (gi * Kg + k) * Cg * RS;
          for (i64 r = r0; r <= r1; ++r) {
            // column j − s of the run at src + (j − s)·L
            const T* src = gt + ((k * Ho + i + c.top - r) * Wg + S - 1 + j0 + c.left) * L;
            for (i64 s = 0; s < S; ++s) {
              V v[CB];
#pragma GCC unroll 3
              for (i64 b = 0; b < CB; ++b) v[b] = splat<Isa, V>(wk + ch[b] * RS + r * S + s);
              const T* p = src - s * L;
#pragma GCC unroll 7
              for (i64 j = 0; j < J; ++j) {
                V x;
                __builtin_memcpy(&x, p + j * L, sizeof x);
#pragma GCC unroll 3
                for (i64 b = 0; b < CB; ++b) a[b][j] += v[b] * x;
              }
            }
          }
        }
        const i64 nj = std::min(J, c.Wt - j0);
        for (i64 b = 0; b < CB && c0 + b < Cg; ++b) {
          T* o = c.out + ((n0 * g.C + gi * Cg + c0 + b) * c.Ht + i) * c.Wt + j0;
          for (i64 l = 0; l < nl; ++l, o += g.C * c.Ht * c.Wt)
            for (i64 j = 0; j < nj; ++j) o[j] = c.accumulate ? o[j] + a[b][j][l] : a[b][j][l];
        }
      }
    }
  }
}

SVERTKA_CONV_ENTRIES(data_task)

template <class T>
void run(const Conv2dGeometry& g, const T* w, const T* gy, T* out, i64 Ht, i64 Wt, i64 top, i64 left,
         bool accumulate) {
  const i64 Cg = g.C / g.groups, Kg = g.K / g.groups, L = Lanes<T>::L;
  const i64 Wg = std::max(g.Wo, Wt + left) + g.S - 1 + J, ng = ceil_div(g.N, L);
  const Ctx<T> c{&g, w, gy, out, Ht, Wt, top, left, Cg, Kg, Wg, accumulate};
  run_tasks(ng * g.groups, 2.0 * static_cast<double>(g.N * g.K * g.Ho * g.Wo * Cg * g.R * g.S), pick_data_task<T>().fn,
            &c);
}

}  // namespace

bool applies(const Conv2dGeometry& g) {
  return g.stride.h == 1 && g.stride.w == 1 && g.dilation.h == 1 && g.dilation.w == 1;
}

template <class T>
void backward_data(const Conv2dGeometry& g, const T* w, const T* gy, T* gx) {
  validate(g);
  const Padding2d& p = g.padding;
  if (g.mode == PadMode::zeros && p.top < g.R && p.bottom < g.R && p.left < g.S && p.right < g.S) {
    run(g, w, gy, gx, g.H, g.W, p.top, p.left, true);
    return;
  }
  const i64 Hp = g.H + p.top + p.bottom, Wp = g.W + p.left + p.right;
  T* padded = workspace().call_part.get<T>(g.N * g.C * Hp * Wp);
  run(g, w, gy, padded, Hp, Wp, i64{0}, i64{0}, false);
  pad2d_backward(PadGeometry{.planes = g.N * g.C, .H = g.H, .W = g.W, .padding = p, .mode = g.mode}, padded, gx);
}

template void backward_data<float>(const Conv2dGeometry&, const float*, const float*, float*);
template void backward_data<double>(const Conv2dGeometry&, const double*, const double*, double*);

}  // namespace svertka::kernels::conv::images
