// Pooling kernels: max (with argmax) and average, forward and backward, over NCHW planes.
//
// Per plane, each output row is split into up to three runs of columns: the left border, the
// interior (windows wholly inside the input), the right border. Rows whose windows leave the input
// (top and bottom borders) are all border. A border output clips its window tap by tap (`taps`); an
// interior run has no clipping at all: each of the kh·kw taps is one pass over the run, a contiguous
// (stride 1) or strided loop that the compiler vectorises, accumulating into the output row itself.
// The column stride is a template parameter for the common strides 1 and 2, so those loops have
// fixed-stride loads; float max-pool runs of those strides have an explicit AVX2 kernel (8 outputs
// per vector, all taps in registers), which the compiler's version of the strided compare-and-blend
// loop did not reach (7.7 → 3–4.5 ms for max-pool 3/2 on [64, 32, 56, 56], one thread).
//
// ISA dispatch: the plane loops are inlined into two entry points, one compiled for the baseline ISA
// and one for AVX2 + FMA; the AVX2 one is chosen at run time when the CPU has it (no -march flag).
// SVERTKA_POOL_FORCE_GENERIC (a compile-time macro) leaves only the baseline one, to test it.

#include "svertka/kernels/pool2d.hpp"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "svertka/core/threads.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && !defined(SVERTKA_POOL_FORCE_GENERIC)
#define SVERTKA_POOL_AVX2 1
#include <immintrin.h>
#endif

namespace svertka::kernels {
namespace {

using i64 = std::int64_t;
using i32 = std::int32_t;

#define SVERTKA_INLINE __attribute__((always_inline)) inline

// Taps of one window along one axis that fall inside [0, n): the first one and how many.
struct Taps {
  i64 first, count;
};
SVERTKA_INLINE Taps taps(i64 o, i64 s, i64 pad, i64 k, i64 d, i64 n) {
  const i64 start = o * s - pad;
  const i64 end = std::min(start + (k - 1) * d + 1, n);
  i64 first = start;
  if (first < 0) first += (-first + d - 1) / d * d;
  return {first, first < end ? (end - first + d - 1) / d : 0};
}

// Outputs [lo, hi) along one axis whose whole window lies inside [0, n).
struct Range {
  i64 lo, hi;
};
Range interior(i64 out, i64 s, i64 pad, i64 k, i64 d, i64 n) {
  const i64 lo = std::min(out, (pad + s - 1) / s);
  const i64 last = n - 1 - (k - 1) * d + pad;  // the largest window start + pad that still fits
  const i64 hi = std::min(out, last < 0 ? 0 : last / s + 1);
  return {lo, std::max(lo, hi)};
}

// Work split: whole planes, at least about this many elements (in + out) per chunk.
constexpr i64 grain_elements = 16384;
i64 plane_grain(const PoolGeometry& g) { return std::max<i64>(1, grain_elements / (g.H * g.W + g.Ho * g.Wo)); }

// PyTorch's average-pool divisor of output (oi, oj) and the clipped window [h0, h1) × [w0, w1).
struct AvgWindow {
  i64 h0, h1, w0, w1, divisor;
};
SVERTKA_INLINE AvgWindow avg_window(const PoolGeometry& g, bool include_pad, i64 oi, i64 oj) {
  i64 h0 = oi * g.sh - g.pad_top, w0 = oj * g.sw - g.pad_left;
  i64 h1 = std::min(h0 + g.kh, g.H + g.pad_bottom), w1 = std::min(w0 + g.kw, g.W + g.pad_right);
  const i64 padded = (h1 - h0) * (w1 - w0);
  h0 = std::max<i64>(h0, 0), w0 = std::max<i64>(w0, 0);
  h1 = std::min(h1, g.H), w1 = std::min(w1, g.W);
  return {h0, h1, w0, w1, include_pad ? padded : (h1 - h0) * (w1 - w0)};
}

// ---- max-pool ------------------------------------------------------------------------------------

// A NaN wins, and stays: v > m is false for a NaN on either side.
template <class T>
SVERTKA_INLINE bool takes(T v, T m) {
  return (v > m) | (v != v);
}

template <class T>
SVERTKA_INLINE void max_one(const PoolGeometry& g, const T* x, i64 oi, i64 oj, T* y, i32* idx) {
  const Taps r = taps(oi, g.sh, g.pad_top, g.kh, g.dh, g.H), c = taps(oj, g.sw, g.pad_left, g.kw, g.dw, g.W);
  T m = -std::numeric_limits<T>::infinity();
  i64 best = r.count && c.count ? r.first * g.W + c.first : -1;
  for (i64 a = 0; a < r.count; ++a)
    for (i64 b = 0; b < c.count; ++b) {
      const i64 k = (r.first + a * g.dh) * g.W + c.first + b * g.dw;
      if (takes(x[k], m)) m = x[k], best = k;
    }
  *y = m;
  *idx = static_cast<i32>(best);
}

// n interior outputs whose first window's top-left tap is x[base]; column stride S (0: g.sw).
template <class T, int S>
SVERTKA_INLINE void max_run(const PoolGeometry& g, const T* __restrict x, i32 base, i32 n, T* __restrict y,
                            i32* __restrict idx) {
  const i32 step = S ? S : static_cast<i32>(g.sw);
  for (i32 j = 0; j < n; ++j) {
    y[j] = x[base + j * step];
    idx[j] = base + j * step;
  }
  for (i64 r = 0; r < g.kh; ++r)
    for (i64 c = 0; c < g.kw; ++c) {
      if (r == 0 && c == 0) continue;
      const i32 off = base + static_cast<i32>(r * g.dh * g.W + c * g.dw);
      const T* __restrict xr = x + off;
      for (i32 j = 0; j < n; ++j) {
        const T v = xr[j * step];
        const bool t = takes(v, y[j]);
        y[j] = t ? v : y[j];
        idx[j] = t ? off + j * step : idx[j];
      }
    }
}

#ifdef SVERTKA_POOL_AVX2
// The interior run for float with column stride S = 1 or 2 and n ≥ 8, in AVX2: 8 outputs per vector
// and block (the last block overlaps the one before instead of a scalar tail), the tap values of a
// block loaded contiguously (S = 1) or deinterleaved from two loads (S = 2). Every load stays inside
// the span of the taps it serves: with S = 2 the first column tap takes the even elements of
// x[p .. p+15] (p+15 is at most the last output's second column tap, so kw ≥ 2 is required), the
// other column taps the odd elements of x[p−1 .. p+14]. Same comparisons, same result as max_run.
template <int S>
__attribute__((target("avx2,fma"), noinline)) void max_run_avx2(const PoolGeometry& g, const float* x, i32 base, i32 n,
                                                                float* y, i32* idx) {
  static_assert(S == 1 || S == 2);
  const __m256i lanes = _mm256_setr_epi32(0, S, 2 * S, 3 * S, 4 * S, 5 * S, 6 * S, 7 * S);
  for (i32 j0 = 0; j0 < n; j0 += 8) {
    if (j0 + 8 > n) j0 = n - 8;
    const i32 first = base + j0 * S;
    __m256 m = _mm256_setzero_ps();
    __m256i arg = _mm256_setzero_si256();
    for (i64 r = 0; r < g.kh; ++r)
      for (i64 c = 0; c < g.kw; ++c) {
        const i32 off = first + static_cast<i32>(r * g.dh * g.W + c * g.dw);
        __m256 v;
        if constexpr (S == 1) {
          v = _mm256_loadu_ps(x + off);
        } else if (c == 0) {
          const __m256 a = _mm256_loadu_ps(x + off), b = _mm256_loadu_ps(x + off + 8);
          v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
        } else {
          const __m256 a = _mm256_loadu_ps(x + off - 1), b = _mm256_loadu_ps(x + off + 7);
          v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
        }
        const __m256i candidate = _mm256_add_epi32(lanes, _mm256_set1_epi32(off));
        if (r == 0 && c == 0) {
          m = v;
          arg = candidate;
          continue;
        }
        const __m256 take = _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        m = _mm256_blendv_ps(m, v, take);
        arg = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(arg), _mm256_castsi256_ps(candidate), take));
      }
    _mm256_storeu_ps(y + j0, m);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(idx + j0), arg);
  }
}

// The interior run for float with column stride S = 1 or 2 and n < 8 outputs (too short for
// max_run_avx2: LeNet's second pool has rows of 5), in one AVX-512 vector: the tap values are loaded
// under a mask of the elements the run reads (masked-out lanes never touch memory) and, for S = 2,
// the even ones picked from them. Same comparisons, same result as max_run.
// GCC 12 takes the pass-through operand _mm512_permutexvar_ps fills with _mm512_undefined_ps() for a
// read of an uninitialised variable (-Wmaybe-uninitialized, once inlined); nothing here reads it
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
template <int S>
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"), noinline)) void max_run_avx512_short(
    const PoolGeometry& g, const float* x, i32 base, i32 n, float* y, i32* idx) {
  static_assert(S == 1 || S == 2);
  const __mmask16 out = static_cast<__mmask16>((1u << n) - 1);
  const __mmask16 span = static_cast<__mmask16>((1u << (S * (n - 1) + 1)) - 1);  // elements read: S·(n−1) + 1
  const __m512i lanes = _mm512_setr_epi32(0, S, 2 * S, 3 * S, 4 * S, 5 * S, 6 * S, 7 * S, 8 * S, 9 * S, 10 * S,
                                          11 * S, 12 * S, 13 * S, 14 * S, 15 * S);
  __m512 m = _mm512_setzero_ps();
  __m512i arg = _mm512_setzero_si512();
  for (i64 r = 0; r < g.kh; ++r)
    for (i64 c = 0; c < g.kw; ++c) {
      const i32 off = base + static_cast<i32>(r * g.dh * g.W + c * g.dw);
      __m512 v = _mm512_maskz_loadu_ps(span, x + off);
      if constexpr (S == 2) v = _mm512_permutexvar_ps(lanes, v);  // lanes 0, 2, 4, ...: n ≤ 7 fit in 13
      const __m512i candidate = _mm512_add_epi32(lanes, _mm512_set1_epi32(off));
      if (r == 0 && c == 0) {
        m = v;
        arg = candidate;
        continue;
      }
      const __mmask16 take = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      m = _mm512_mask_mov_ps(m, take, v);
      arg = _mm512_mask_mov_epi32(arg, take, candidate);
    }
  _mm512_mask_storeu_ps(y, out, m);
  _mm512_mask_storeu_epi32(idx, out, arg);
}
#pragma GCC diagnostic pop

bool has_avx512() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  }();
  return yes;
}
#endif

// Avx2: the caller runs on a CPU with AVX2 (float runs of stride 1 and 2 then use max_run_avx2, or
// max_run_avx512_short for runs under 8 when the CPU has AVX-512).
template <class T, int S, bool Avx2>
SVERTKA_INLINE void max_planes(const PoolGeometry& g, const T* x, T* y, i32* idx, i64 p0, i64 p1) {
  const Range ri = interior(g.Ho, g.sh, g.pad_top, g.kh, g.dh, g.H);
  const Range ci = interior(g.Wo, g.sw, g.pad_left, g.kw, g.dw, g.W);
  for (i64 p = p0; p < p1; ++p) {
    const T* xp = x + p * g.H * g.W;
    for (i64 oi = 0; oi < g.Ho; ++oi) {
      T* yr = y + (p * g.Ho + oi) * g.Wo;
      i32* ir = idx + (p * g.Ho + oi) * g.Wo;
      const bool inside = oi >= ri.lo && oi < ri.hi && ci.lo < ci.hi;
      const i64 lo = inside ? ci.lo : g.Wo, hi = inside ? ci.hi : g.Wo;
      for (i64 oj = 0; oj < lo; ++oj) max_one(g, xp, oi, oj, yr + oj, ir + oj);
      if (inside) {
        const i64 base = (oi * g.sh - g.pad_top) * g.W + lo * g.sw - g.pad_left;
        const auto b = static_cast<i32>(base), n = static_cast<i32>(hi - lo);
        bool vectorised = false;
#ifdef SVERTKA_POOL_AVX2
        if constexpr (Avx2 && std::is_same_v<T, float> && (S == 1 || S == 2)) {
          vectorised = n >= 8 && (S == 1 || g.kw >= 2);
          if (vectorised) {
            max_run_avx2<S>(g, xp, b, n, yr + lo, ir + lo);
          } else if (n < 8 && has_avx512()) {
            max_run_avx512_short<S>(g, xp, b, n, yr + lo, ir + lo);
            vectorised = true;
          }
        }
#endif
        if (!vectorised) max_run<T, S>(g, xp, b, n, yr + lo, ir + lo);
      }
      for (i64 oj = hi; oj < g.Wo; ++oj) max_one(g, xp, oi, oj, yr + oj, ir + oj);
    }
  }
}

template <class T, bool Avx2>
SVERTKA_INLINE void max_forward_range(const PoolGeometry& g, const T* x, T* y, i32* idx, i64 p0, i64 p1) {
  switch (g.sw) {
    case 1: return max_planes<T, 1, Avx2>(g, x, y, idx, p0, p1);
    case 2: return max_planes<T, 2, Avx2>(g, x, y, idx, p0, p1);
    default: return max_planes<T, 0, Avx2>(g, x, y, idx, p0, p1);
  }
}

template <class T>
SVERTKA_INLINE void max_backward_range(const PoolGeometry& g, const T* gy, const i32* idx, T* gx, i64 p0, i64 p1) {
  const i64 plane_out = g.Ho * g.Wo;
  for (i64 p = p0; p < p1; ++p) {
    T* gp = gx + p * g.H * g.W;
    const T* gyp = gy + p * plane_out;
    const i32* ip = idx + p * plane_out;
    for (i64 k = 0; k < plane_out; ++k)
      if (ip[k] >= 0) gp[ip[k]] += gyp[k];
  }
}

// ---- average pool --------------------------------------------------------------------------------

template <class T>
SVERTKA_INLINE void avg_one(const PoolGeometry& g, bool include_pad, const T* x, i64 oi, i64 oj, T* y) {
  const AvgWindow w = avg_window(g, include_pad, oi, oj);
  T s = T(0);
  for (i64 h = w.h0; h < w.h1; ++h)
    for (i64 v = w.w0; v < w.w1; ++v) s += x[h * g.W + v];
  *y = w.h0 < w.h1 && w.w0 < w.w1 ? s / static_cast<T>(w.divisor) : T(0);
}

template <class T, int S>
SVERTKA_INLINE void avg_run(const PoolGeometry& g, const T* __restrict x, i64 base, i64 n, T* __restrict y) {
  const i64 step = S ? S : g.sw;
  const T divisor = static_cast<T>(g.kh * g.kw);
  if (n == 1) {  // one window per row (global pooling): sum it row by row, contiguously
    T s = T(0);
    for (i64 r = 0; r < g.kh; ++r)
      for (i64 c = 0; c < g.kw; ++c) s += x[base + r * g.W + c];
    *y = s / divisor;
    return;
  }
  for (i64 j = 0; j < n; ++j) y[j] = T(0);
  for (i64 r = 0; r < g.kh; ++r)
    for (i64 c = 0; c < g.kw; ++c) {
      const T* __restrict xr = x + base + r * g.W + c;
      for (i64 j = 0; j < n; ++j) y[j] += xr[j * step];
    }
  for (i64 j = 0; j < n; ++j) y[j] /= divisor;
}

template <class T, int S>
SVERTKA_INLINE void avg_planes(const PoolGeometry& g, bool include_pad, const T* x, T* y, i64 p0, i64 p1) {
  const Range ri = interior(g.Ho, g.sh, g.pad_top, g.kh, 1, g.H);
  const Range ci = interior(g.Wo, g.sw, g.pad_left, g.kw, 1, g.W);
  for (i64 p = p0; p < p1; ++p) {
    const T* xp = x + p * g.H * g.W;
    for (i64 oi = 0; oi < g.Ho; ++oi) {
      T* yr = y + (p * g.Ho + oi) * g.Wo;
      const bool inside = oi >= ri.lo && oi < ri.hi && ci.lo < ci.hi;
      const i64 lo = inside ? ci.lo : g.Wo, hi = inside ? ci.hi : g.Wo;
      for (i64 oj = 0; oj < lo; ++oj) avg_one(g, include_pad, xp, oi, oj, yr + oj);
      if (inside) avg_run<T, S>(g, xp, (oi * g.sh - g.pad_top) * g.W + lo * g.sw - g.pad_left, hi - lo, yr + lo);
      for (i64 oj = hi; oj < g.Wo; ++oj) avg_one(g, include_pad, xp, oi, oj, yr + oj);
    }
  }
}

template <class T>
SVERTKA_INLINE void avg_forward_range(const PoolGeometry& g, bool include_pad, const T* x, T* y, i64 p0, i64 p1) {
  switch (g.sw) {
    case 1: return avg_planes<T, 1>(g, include_pad, x, y, p0, p1);
    case 2: return avg_planes<T, 2>(g, include_pad, x, y, p0, p1);
    default: return avg_planes<T, 0>(g, include_pad, x, y, p0, p1);
  }
}

template <class T>
SVERTKA_INLINE void avg_one_backward(const PoolGeometry& g, bool include_pad, T gy, i64 oi, i64 oj, T* gx) {
  const AvgWindow w = avg_window(g, include_pad, oi, oj);
  if (w.h0 >= w.h1 || w.w0 >= w.w1) return;
  const T d = gy / static_cast<T>(w.divisor);
  for (i64 h = w.h0; h < w.h1; ++h)
    for (i64 v = w.w0; v < w.w1; ++v) gx[h * g.W + v] += d;
}

// Interior run of the backward pass, in blocks of `block` outputs whose gy / divisor is computed once.
template <class T, int S>
SVERTKA_INLINE void avg_run_backward(const PoolGeometry& g, const T* __restrict gy, i64 base, i64 n,
                                     T* __restrict gx) {
  constexpr i64 block = 256;
  const i64 step = S ? S : g.sw;
  const T divisor = static_cast<T>(g.kh * g.kw);
  T d[block];
  for (i64 j0 = 0; j0 < n; j0 += block) {
    const i64 m = std::min(block, n - j0);
    for (i64 j = 0; j < m; ++j) d[j] = gy[j0 + j] / divisor;
    for (i64 r = 0; r < g.kh; ++r) {
      T* __restrict gr = gx + base + r * g.W + j0 * step;
      if (m == 1) {  // one window (global pooling)
        for (i64 c = 0; c < g.kw; ++c) gr[c] += d[0];
        continue;
      }
      if (S != 0 && g.kw == S) {  // windows tile the row: one contiguous pass
        for (i64 t = 0; t < m * S; ++t) gr[t] += d[t / S];
        continue;
      }
      for (i64 c = 0; c < g.kw; ++c)
        for (i64 j = 0; j < m; ++j) gr[c + j * step] += d[j];
    }
  }
}

template <class T, int S>
SVERTKA_INLINE void avg_planes_backward(const PoolGeometry& g, bool include_pad, const T* gy, T* gx, i64 p0,
                                        i64 p1) {
  const Range ri = interior(g.Ho, g.sh, g.pad_top, g.kh, 1, g.H);
  const Range ci = interior(g.Wo, g.sw, g.pad_left, g.kw, 1, g.W);
  for (i64 p = p0; p < p1; ++p) {
    T* gp = gx + p * g.H * g.W;
    for (i64 oi = 0; oi < g.Ho; ++oi) {
      const T* gr = gy + (p * g.Ho + oi) * g.Wo;
      const bool inside = oi >= ri.lo && oi < ri.hi && ci.lo < ci.hi;
      const i64 lo = inside ? ci.lo : g.Wo, hi = inside ? ci.hi : g.Wo;
      for (i64 oj = 0; oj < lo; ++oj) avg_one_backward(g, include_pad, gr[oj], oi, oj, gp);
      if (inside)
        avg_run_backward<T, S>(g, gr + lo, (oi * g.sh - g.pad_top) * g.W + lo * g.sw - g.pad_left, hi - lo, gp);
      for (i64 oj = hi; oj < g.Wo; ++oj) avg_one_backward(g, include_pad, gr[oj], oi, oj, gp);
    }
  }
}

template <class T>
SVERTKA_INLINE void avg_backward_range(const PoolGeometry& g, bool include_pad, const T* gy, T* gx, i64 p0, i64 p1) {
  switch (g.sw) {
    case 1: return avg_planes_backward<T, 1>(g, include_pad, gy, gx, p0, p1);
    case 2: return avg_planes_backward<T, 2>(g, include_pad, gy, gx, p0, p1);
    default: return avg_planes_backward<T, 0>(g, include_pad, gy, gx, p0, p1);
  }
}

// ---- ISA dispatch --------------------------------------------------------------------------------

template <class T>
struct Entries {
  void (*max_forward)(const PoolGeometry&, const T*, T*, i32*, i64, i64);
  void (*max_backward)(const PoolGeometry&, const T*, const i32*, T*, i64, i64);
  void (*avg_forward)(const PoolGeometry&, bool, const T*, T*, i64, i64);
  void (*avg_backward)(const PoolGeometry&, bool, const T*, T*, i64, i64);
};

#define SVERTKA_POOL_ENTRIES(isa, attr, avx2)                                                                 \
  template <class T>                                                                                          \
  attr __attribute__((flatten)) void max_forward_##isa(const PoolGeometry& g, const T* x, T* y, i32* idx, i64 a, \
                                                        i64 b) {                                              \
    max_forward_range<T, avx2>(g, x, y, idx, a, b);                                                           \
  }                                                                                                           \
  template <class T>                                                                                          \
  attr __attribute__((flatten)) void max_backward_##isa(const PoolGeometry& g, const T* gy, const i32* idx,      \
                                                         T* gx, i64 a, i64 b) {                               \
    max_backward_range(g, gy, idx, gx, a, b);                                                                 \
  }                                                                                                           \
  template <class T>                                                                                          \
  attr __attribute__((flatten)) void avg_forward_##isa(const PoolGeometry& g, bool inc, const T* x, T* y, i64 a, \
                                                        i64 b) {                                              \
    avg_forward_range(g, inc, x, y, a, b);                                                                    \
  }                                                                                                           \
  template <class T>                                                                                          \
  attr __attribute__((flatten)) void avg_backward_##isa(const PoolGeometry& g, bool inc, const T* gy, T* gx,     \
                                                         i64 a, i64 b) {                                      \
    avg_backward_range(g, inc, gy, gx, a, b);                                                                 \
  }                                                                                                           \
  template <class T>                                                                                          \
  constexpr Entries<T> entries_##isa{&max_forward_##isa<T>, &max_backward_##isa<T>, &avg_forward_##isa<T>,      \
                                     &avg_backward_##isa<T>};

SVERTKA_POOL_ENTRIES(generic, , false)
#ifdef SVERTKA_POOL_AVX2
SVERTKA_POOL_ENTRIES(avx2, __attribute__((target("avx2,fma"))), true)
#endif

template <class T>
const Entries<T>& entries() {
#ifdef SVERTKA_POOL_AVX2
  static const bool avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  if (avx2) return entries_avx2<T>;
#endif
  return entries_generic<T>;
}

}  // namespace

template <class T>
void max_pool2d_forward(const PoolGeometry& g, const T* x, T* y, std::int32_t* argmax) {
  const auto run = entries<T>().max_forward;
  parallel_for(0, g.planes, plane_grain(g), [&](i64 a, i64 b) { run(g, x, y, argmax, a, b); });
}

template <class T>
void max_pool2d_backward(const PoolGeometry& g, const T* gy, const std::int32_t* argmax, T* gx) {
  const auto run = entries<T>().max_backward;
  parallel_for(0, g.planes, plane_grain(g), [&](i64 a, i64 b) { run(g, gy, argmax, gx, a, b); });
}

template <class T>
void avg_pool2d_forward(const PoolGeometry& g, bool count_include_pad, const T* x, T* y) {
  const auto run = entries<T>().avg_forward;
  parallel_for(0, g.planes, plane_grain(g), [&](i64 a, i64 b) { run(g, count_include_pad, x, y, a, b); });
}

template <class T>
void avg_pool2d_backward(const PoolGeometry& g, bool count_include_pad, const T* gy, T* gx) {
  const auto run = entries<T>().avg_backward;
  parallel_for(0, g.planes, plane_grain(g), [&](i64 a, i64 b) { run(g, count_include_pad, gy, gx, a, b); });
}

#define SVERTKA_POOL2D_INSTANTIATE(T)                                                              \
  template void max_pool2d_forward<T>(const PoolGeometry&, const T*, T*, std::int32_t*);           \
  template void max_pool2d_backward<T>(const PoolGeometry&, const T*, const std::int32_t*, T*);    \
  template void avg_pool2d_forward<T>(const PoolGeometry&, bool, const T*, T*);                    \
  template void avg_pool2d_backward<T>(const PoolGeometry&, bool, const T*, T*);
SVERTKA_POOL2D_INSTANTIATE(float)
SVERTKA_POOL2D_INSTANTIATE(double)

}  // namespace svertka::kernels
