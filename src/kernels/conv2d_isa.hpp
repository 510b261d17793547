#pragma once
// Internal to the convolution kernels: the ISA policies (`Generic` for any CPU, `Avx2` for AVX2+FMA)
// and the panel maps they read images through.
//
// A *panel* is NR = 64 bytes / sizeof(T) consecutive columns (output pixels) of one im2col row
// (c, r, s). Its `PanelMap` (conv2d_maps.hpp) says how those NR values are read from the image
// planes: all zero, NR consecutive pixels (one vector load), consecutive with some lanes zero (a
// masked load), pixels within a window of 16 (masked loads and a lane permutation: the padded edges
// of reflect / replicate, stride 2), any pixels of one image (a gather), or pixels of two images.
//
// Policy constants: mr (rows of an A micro-panel), panels (B panels per micro-kernel call), dot_cols.
// Policy functions (T = float or double):
//   micro(kc, a, b, ps, npan, c, ldc, acc)
//                                  C[mr, npan·NR] (=|+=) Σ_k a[k·mr + i]·b_p[k·NR + j], npan ≤ panels
//                                  B panels b_p = b + p·ps; a, b packed, C aligned
//   dot(kc, a, lda, b, ldb, o, ldo) o[j·ldo + i] += Σ_t a[i·lda + t]·b[j·ldb + t], i < 4, j < dot_cols;
//                                  kc a multiple of NR
//   load_panel / scatter_panel     read a panel through its map / add a panel back through it
//   gather_rows                    the col2im of one padded row (see Avx2::gather_rows)
//   add_interleaved4               the col2im of 8 columns × 4 taps at horizontal stride 4 (Avx2)
//   load_deinterleaved4            their im2col rows (Avx2)
//   add_interleaved2 / load_deinterleaved2   the same for 2 taps at horizontal stride 2 (Avx2)
//   taps, dot_taps                 the direct path's row loops (n a multiple of the vector width):
//                                  acc[v] += Σ_t w[t]·src[t][v];  lanes[t] += Σ_v g[v]·src[t][v] by lane
//   taps_k, taps_k2                the direct forward's filter blocks (Avx2, Avx512): up to 6 filters
//                                  per pass over the taps of one output row (taps_k2: two short rows)

#include <cstring>
#include <type_traits>

#include "conv2d_maps.hpp"
#include "conv2d_v8.hpp"

#ifdef SVERTKA_CONV_X86
#include <immintrin.h>
#endif

namespace svertka::kernels::conv {

template <class T>
inline constexpr i64 NR = 64 / static_cast<i64>(sizeof(T));
template <class T>
inline constexpr i64 VW = 32 / static_cast<i64>(sizeof(T));  // lanes of the direct path's vectors

#define SVERTKA_CONV_INLINE __attribute__((always_inline)) inline

// Prefetches p[lo, hi), one 64-byte line at a time.
template <class T>
SVERTKA_CONV_INLINE void prefetch_span(const T* p, i64 lo, i64 hi) {
  for (i64 o = lo; o < hi; o += NR<T>) __builtin_prefetch(p + o);
}

// dst[i] = a[i] for i < k, b[i] for k ≤ i < valid, 0 after (a panel from two padded rows)
template <class T>
SVERTKA_CONV_INLINE void rows_panel_loop(const T* a, const T* b, i64 k, i64 valid, T* dst) {
  for (i64 i = 0; i < NR<T>; ++i) dst[i] = i < k ? a[i] : i < valid ? b[i] : T(0);
}

struct Generic {
  static constexpr i64 mr = 6;
  static constexpr i64 panels = 1;
  static constexpr i64 dot_cols = 3;
  template <class T>
  SVERTKA_CONV_INLINE static void micro(i64 kc, const T* a, const T* b, i64, i64, T* c, i64 ldc, bool acc) {
    constexpr i64 nr = NR<T>;
    T t[mr][nr] = {};
    for (i64 k = 0; k < kc; ++k, a += mr, b += nr)
      for (i64 i = 0; i < mr; ++i)
        for (i64 j = 0; j < nr; ++j) t[i][j] += a[i] * b[j];
    for (i64 i = 0; i < mr; ++i)
      for (i64 j = 0; j < nr; ++j) c[i * ldc + j] = acc ? c[i * ldc + j] + t[i][j] : t[i][j];
  }
  template <class T>
  SVERTKA_CONV_INLINE static void rows_panel(const T* a, const T* b, i64 k, i64 valid, T* dst) {
    rows_panel_loop(a, b, k, valid, dst);
  }
  template <class T>
  SVERTKA_CONV_INLINE static void dot(i64 kc, const T* a, i64 lda, const T* b, i64 ldb, T* o, i64 ldo) {
    for (i64 j = 0; j < 3; ++j)
      for (i64 i = 0; i < 4; ++i) {
        T s{0};
        for (i64 t = 0; t < kc; ++t) s += a[i * lda + t] * b[j * ldb + t];
        o[j * ldo + i] += s;
      }
  }
  template <class T>
  SVERTKA_CONV_INLINE static void load_panel(const PanelMap& m, const T* src, i64 img, const i32* lane_img, T* d) {
    switch (m.kind) {
      case Kind::zero:
        for (i64 i = 0; i < NR<T>; ++i) d[i] = T(0);
        break;
      case Kind::contiguous: {
        const T* p = src + m.image * img + m.base;
        for (i64 i = 0; i < NR<T>; ++i) d[i] = p[i];
        break;
      }
      case Kind::masked:
      case Kind::window:
      case Kind::gather: {
        const T* p = src + m.image * img;
        for (i64 i = 0; i < NR<T>; ++i) d[i] = m.off[i] >= 0 ? p[m.off[i]] : T(0);
        break;
      }
      case Kind::mixed:
        for (i64 i = 0; i < NR<T>; ++i) d[i] = m.off[i] >= 0 ? src[lane_img[i] * img + m.off[i]] : T(0);
        break;
    }
  }
  template <class T>
  SVERTKA_CONV_INLINE static void scatter_panel(const PanelMap& m, T* dst, i64 img, const i32* lane_img, const T* s) {
    switch (m.kind) {
      case Kind::zero: break;
      case Kind::contiguous: {
        T* p = dst + m.image * img + m.base;
        for (i64 i = 0; i < NR<T>; ++i) p[i] += s[i];
        break;
      }
      case Kind::masked:
      case Kind::window:
      case Kind::gather: {
        T* p = dst + m.image * img;
        for (i64 i = 0; i < NR<T>; ++i)
          if (m.off[i] >= 0) p[m.off[i]] += s[i];
        break;
      }
      case Kind::mixed:
        for (i64 i = 0; i < NR<T>; ++i)
          if (m.off[i] >= 0) dst[lane_img[i] * img + m.off[i]] += s[i];
        break;
    }
  }
  template <class T>
  SVERTKA_CONV_INLINE static void taps(i64 n, i64 S, const T* const* src, const T* w, T* acc) {
    for (i64 v = 0; v < n; ++v) {
      T a = acc[v];
      for (i64 s = 0; s < S; ++s) a += w[s] * src[s][v];
      acc[v] = a;
    }
  }
  template <class T>
  SVERTKA_CONV_INLINE static void gather_rows(i64 nq, i64 nrows, const T* const* rows, i64 S, i64 ld, i64 dw, i64 len,
                                              T* out) {
    for (i64 q = 0; q < nq; ++q) {
      T a{0};
      for (i64 s = 0; s < S; ++s) {
        const i64 j = q - s * dw;
        if (j >= 0 && j < len)
          for (i64 i = 0; i < nrows; ++i) a += rows[i][s * ld + j];
      }
      out[q] = a;
    }
  }
  template <class T>
  SVERTKA_CONV_INLINE static void dot_taps(i64 n, i64 S, const T* g, const T* const* src, T* lanes) {
    for (i64 s = 0; s < S; ++s)
      for (i64 v = 0; v < n; v += VW<T>)
        for (i64 l = 0; l < VW<T>; ++l) lanes[s * VW<T> + l] += g[v + l] * src[s][v + l];
  }
};

#ifdef SVERTKA_CONV_X86
// dot_rows (Avx2, Avx512): returns dot_rows_kb<K, sb>(...) for the run-time sb = 1..5. A macro, not
// a generic lambda: the lambda would not take the caller's target attributes, and the vector
// operations inside it would stay out of line.
#define SVERTKA_CONV_DOT_ROWS(K)                                         \
  switch (sb) {                                                          \
    case 1: return dot_rows_kb<K, 1>(n, m, xr, gr, gk, off, lanes, lk);  \
    case 2: return dot_rows_kb<K, 2>(n, m, xr, gr, gk, off, lanes, lk);  \
    case 3: return dot_rows_kb<K, 3>(n, m, xr, gr, gk, off, lanes, lk);  \
    case 4: return dot_rows_kb<K, 4>(n, m, xr, gr, gk, off, lanes, lk);  \
    default: return dot_rows_kb<K, 5>(n, m, xr, gr, gk, off, lanes, lk); \
  }

#define SVERTKA_CONV_ROW(r)             \
  {                                     \
    const V ar = X::bcast(a + (r));     \
    c##r##0 = X::fma(ar, b0, c##r##0);  \
    c##r##1 = X::fma(ar, b1, c##r##1);  \
  }
#define SVERTKA_CONV_STORE(r)                                           \
  {                                                                     \
    T* cr = c + (r) * ldc;                                              \
    if (acc) {                                                          \
      c##r##0 = X::add(c##r##0, X::load(cr));                           \
      c##r##1 = X::add(c##r##1, X::load(cr + W));                       \
    }                                                                   \
    X::store(cr, c##r##0);                                              \
    X::store(cr + W, c##r##1);                                          \
  }

struct Avx2 {
  static constexpr i64 mr = 6;
  static constexpr i64 panels = 1;
  static constexpr i64 dot_cols = 3;
  // C must be 64-byte aligned with ldc a multiple of NR (the packed buffers are).
  template <class T>
  SVERTKA_CONV_AVX2 static void micro(i64 kc, const T* __restrict a, const T* __restrict b, i64, i64, T* c, i64 ldc,
                                      bool acc) {
    using X = V8<T>;
    using V = typename X::V;
    constexpr i64 W = VW<T>;
    V c00 = X::zero(), c01 = X::zero(), c10 = X::zero(), c11 = X::zero(), c20 = X::zero(), c21 = X::zero();
    V c30 = X::zero(), c31 = X::zero(), c40 = X::zero(), c41 = X::zero(), c50 = X::zero(), c51 = X::zero();
#pragma GCC unroll 4
    for (i64 k = 0; k < kc; ++k) {
      const V b0 = X::load(b), b1 = X::load(b + W);
      SVERTKA_CONV_ROW(0) SVERTKA_CONV_ROW(1) SVERTKA_CONV_ROW(2) SVERTKA_CONV_ROW(3) SVERTKA_CONV_ROW(4)
      SVERTKA_CONV_ROW(5)
      a += mr;
      b += 2 * W;
    }
    SVERTKA_CONV_STORE(0) SVERTKA_CONV_STORE(1) SVERTKA_CONV_STORE(2) SVERTKA_CONV_STORE(3) SVERTKA_CONV_STORE(4)
    SVERTKA_CONV_STORE(5)
  }

  template <class T>
  SVERTKA_CONV_AVX2 static void dot(i64 kc, const T* a, i64 lda, const T* b, i64 ldb, T* o, i64 ldo) {
    dot3(kc, a, lda, b, b + ldb, b + 2 * ldb, o, ldo);
  }
  // dot with the 3 b rows anywhere (unaligned): b0p, b1p, b2p
  template <class T>
  SVERTKA_CONV_AVX2 static void dot3(i64 kc, const T* a, i64 lda, const T* b0p, const T* b1p, const T* b2p, T* o,
                                     i64 ldo) {
    using X = V8<T>;
    using V = typename X::V;
    constexpr i64 W = VW<T>;
    V s00 = X::zero(), s01 = X::zero(), s02 = X::zero(), s10 = X::zero(), s11 = X::zero(), s12 = X::zero();
    V s20 = X::zero(), s21 = X::zero(), s22 = X::zero(), s30 = X::zero(), s31 = X::zero(), s32 = X::zero();
    const T *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
#pragma GCC unroll 2
    for (i64 t = 0; t < kc; t += W) {
      const V b0 = X::loadu(b0p + t), b1 = X::loadu(b1p + t), b2 = X::loadu(b2p + t);
      V ai = X::load(a0 + t);
      s00 = X::fma(ai, b0, s00), s01 = X::fma(ai, b1, s01), s02 = X::fma(ai, b2, s02);
      ai = X::load(a1 + t);
      s10 = X::fma(ai, b0, s10), s11 = X::fma(ai, b1, s11), s12 = X::fma(ai, b2, s12);
      ai = X::load(a2 + t);
      s20 = X::fma(ai, b0, s20), s21 = X::fma(ai, b1, s21), s22 = X::fma(ai, b2, s22);
      ai = X::load(a3 + t);
      s30 = X::fma(ai, b0, s30), s31 = X::fma(ai, b1, s31), s32 = X::fma(ai, b2, s32);
    }
    X::add_sums4(o, s00, s10, s20, s30);
    X::add_sums4(o + ldo, s01, s11, s21, s31);
    X::add_sums4(o + 2 * ldo, s02, s12, s22, s32);
  }

  template <class T>
  SVERTKA_CONV_AVX2 static void load_panel(const PanelMap& m, const T* src, i64 img, const i32* lane_img, T* d) {
    using X = V8<T>;
    constexpr i64 W = VW<T>;
    switch (m.kind) {
      case Kind::zero:
        X::store(d, X::zero());
        X::store(d + W, X::zero());
        break;
      case Kind::contiguous: {
        const T* p = src + m.image * img + m.base;
        X::store(d, X::loadu(p));
        X::store(d + W, X::loadu(p + W));
        break;
      }
      case Kind::masked: {
        const T* p = src + m.image * img + m.base;
        X::store(d, X::maskload(p, X::mask(m.off)));
        X::store(d + W, X::maskload(p + W, X::mask(m.off + W)));
        break;
      }
      case Kind::window:
        if constexpr (std::is_same_v<T, float>) {
          const T* p = src + m.image * img;
          X::store(d, window8(p, m.off, m.lo[0], m.span[0]));
          X::store(d + W, window8(p, m.off + W, m.lo[1], m.span[1]));
          break;
        }
        [[fallthrough]];
      case Kind::gather: {
        const T* p = src + m.image * img;
        X::store(d, X::gather(p, m.off));
        X::store(d + W, X::gather(p, m.off + W));
        break;
      }
      case Kind::mixed:
        for (i64 i = 0; i < NR<T>; ++i) d[i] = m.off[i] >= 0 ? src[lane_img[i] * img + m.off[i]] : T(0);
        break;
    }
  }

  // as rows_panel_loop, a vector at a time: masked loads of a and b, merged (lanes of neither are 0)
  template <class T>
  SVERTKA_CONV_AVX2 static void rows_panel(const T* a, const T* b, i64 k, i64 valid, T* dst) {
    using X = V8<T>;
    constexpr i64 W = VW<T>;
    for (i64 h = 0; h < NR<T>; h += W) {
      if (k >= h + W) {
        X::store(dst + h, X::loadu(a + h));
        continue;
      }
      const __m256i in_a = X::range(h, k), in_b = _mm256_andnot_si256(in_a, X::range(h, valid));
      X::store(dst + h, X::blend(X::maskload(a + h, in_a), X::maskload(b + h, in_b), in_b));
    }
  }
  template <class T>
  SVERTKA_CONV_AVX2 static void scatter_panel(const PanelMap& m, T* dst, i64 img, const i32* lane_img, const T* s) {
    using X = V8<T>;
    constexpr i64 W = VW<T>;
    switch (m.kind) {
      case Kind::zero: break;
      case Kind::contiguous: {
        T* p = dst + m.image * img + m.base;
        X::storeu(p, X::add(X::loadu(p), X::load(s)));
        X::storeu(p + W, X::add(X::loadu(p + W), X::load(s + W)));
        break;
      }
      case Kind::masked: {
        T* p = dst + m.image * img + m.base;
        for (i64 h = 0; h < 2; ++h) {
          const __m256i mk = X::mask(m.off + h * W);
          if (m.inside[h])  // whole vector inside the plane: add 0 where no lane lands
            X::storeu(p + h * W, X::add(X::loadu(p + h * W), X::and_(X::load(s + h * W), mk)));
          else
            X::maskstore(p + h * W, mk, X::add(X::maskload(p + h * W, mk), X::load(s + h * W)));
        }
        break;
      }
      case Kind::window:
        if constexpr (std::is_same_v<T, float>) {
          T* p = dst + m.image * img;
          scatter_window8(p, m, 0, s);
          scatter_window8(p, m, 1, s + W);
          break;
        }
        [[fallthrough]];
      case Kind::gather: {
        T* p = dst + m.image * img;
        for (i64 i = 0; i < NR<T>; ++i)
          if (m.off[i] >= 0) p[m.off[i]] += s[i];
        break;
      }
      case Kind::mixed:
        for (i64 i = 0; i < NR<T>; ++i)
          if (m.off[i] >= 0) dst[lane_img[i] * img + m.off[i]] += s[i];
        break;
    }
  }

  // dst[4i + j] += d[j·ld + i] for i < 8, j < 4 (rows j ≥ taps read as zero): the col2im of 8
  // output columns at horizontal stride 4 for 4 neighbouring taps, whose 32 input columns are
  // consecutive. A 4 × 8 transpose in registers, then 4 whole-vector adds.
  SVERTKA_CONV_AVX2 static void add_interleaved4(float* dst, const float* d, i64 ld, i64 taps) {
    const __m256 z = _mm256_setzero_ps();
    const __m256 v0 = _mm256_loadu_ps(d), v1 = taps > 1 ? _mm256_loadu_ps(d + ld) : z;
    const __m256 v2 = taps > 2 ? _mm256_loadu_ps(d + 2 * ld) : z, v3 = taps > 3 ? _mm256_loadu_ps(d + 3 * ld) : z;
    const __m256 t0 = _mm256_unpacklo_ps(v0, v1), t1 = _mm256_unpackhi_ps(v0, v1);  // columns 0 1 | 4 5, 2 3 | 6 7
    const __m256 t2 = _mm256_unpacklo_ps(v2, v3), t3 = _mm256_unpackhi_ps(v2, v3);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);  // column 0 | 4, 1 | 5
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);  // column 2 | 6, 3 | 7
    const __m256 o[4] = {_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u2, u3, 0x20),
                         _mm256_permute2f128_ps(u0, u1, 0x31), _mm256_permute2f128_ps(u2, u3, 0x31)};
    for (int q = 0; q < 4; ++q) _mm256_storeu_ps(dst + 8 * q, _mm256_add_ps(_mm256_loadu_ps(dst + 8 * q), o[q]));
  }

  // d[j·ld + i] = src[4i + j] for i < 8, j < taps ≤ 4: the im2col rows of 4 neighbouring taps at
  // horizontal stride 4 for 8 output columns, from 32 consecutive input columns (the inverse of
  // add_interleaved4).
  SVERTKA_CONV_AVX2 static void load_deinterleaved4(const float* src, float* d, i64 ld, i64 taps) {
    const __m256 a0 = _mm256_loadu_ps(src), a1 = _mm256_loadu_ps(src + 8);
    const __m256 a2 = _mm256_loadu_ps(src + 16), a3 = _mm256_loadu_ps(src + 24);
    const __m256 u0 = _mm256_permute2f128_ps(a0, a2, 0x20), u1 = _mm256_permute2f128_ps(a0, a2, 0x31);  // column 0 | 4, 1 | 5
    const __m256 u2 = _mm256_permute2f128_ps(a1, a3, 0x20), u3 = _mm256_permute2f128_ps(a1, a3, 0x31);  // column 2 | 6, 3 | 7
    const __m256 t0 = _mm256_unpacklo_ps(u0, u1), t1 = _mm256_unpackhi_ps(u0, u1);
    const __m256 t2 = _mm256_unpacklo_ps(u2, u3), t3 = _mm256_unpackhi_ps(u2, u3);
    _mm256_storeu_ps(d, _mm256_shuffle_ps(t0, t2, 0x44));
    if (taps > 1) _mm256_storeu_ps(d + ld, _mm256_shuffle_ps(t0, t2, 0xee));
    if (taps > 2) _mm256_storeu_ps(d + 2 * ld, _mm256_shuffle_ps(t1, t3, 0x44));
    if (taps > 3) _mm256_storeu_ps(d + 3 * ld, _mm256_shuffle_ps(t1, t3, 0xee));
  }

  // dst[2i + j] += d[j·ld + i] for i < 8, j < 2 (row 1 read as zero when taps is 1): the col2im of 8
  // output columns at horizontal stride 2 for 2 neighbouring taps, whose 16 input columns are
  // consecutive. Two unpacks and two lane swaps, then 2 whole-vector adds.
  SVERTKA_CONV_AVX2 static void add_interleaved2(float* dst, const float* d, i64 ld, i64 taps) {
    add_pairs(dst, _mm256_loadu_ps(d), taps > 1 ? _mm256_loadu_ps(d + ld) : _mm256_setzero_ps());
  }
  // dst[2i] += v0[i], dst[2i + 1] += v1[i] for i < 8
  SVERTKA_CONV_AVX2 static void add_pairs(float* dst, __m256 v0, __m256 v1) {
    const __m256 t0 = _mm256_unpacklo_ps(v0, v1), t1 = _mm256_unpackhi_ps(v0, v1);  // columns 0 1 | 4 5, 2 3 | 6 7
    _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_loadu_ps(dst), _mm256_permute2f128_ps(t0, t1, 0x20)));
    _mm256_storeu_ps(dst + 8, _mm256_add_ps(_mm256_loadu_ps(dst + 8), _mm256_permute2f128_ps(t0, t1, 0x31)));
  }

  // dst[2i] += d[ld + i], dst[2i + 1] += d[2·ld + i] + d[i + 1] for i < 8: the col2im of 3 taps at
  // horizontal stride 2 (rows 0, 1, 2 of d, ld apart), whose tap 2 of column i and tap 0 of column
  // i + 1 land on one input column: 16 consecutive input columns from tap 1 of column 0 to tap 0
  // of column 8, each added to once.
  SVERTKA_CONV_AVX2 static void add_interleaved3(float* dst, const float* d, i64 ld) {
    add_pairs(dst, _mm256_loadu_ps(d + ld), _mm256_add_ps(_mm256_loadu_ps(d + 2 * ld), _mm256_loadu_ps(d + 1)));
  }

  // d[j·ld + i] = src[2i + j] for i < 8, j < taps ≤ 2: the im2col rows of 2 neighbouring taps at
  // horizontal stride 2 for 8 output columns, from 16 consecutive input columns (the inverse of
  // add_interleaved2).
  SVERTKA_CONV_AVX2 static void load_deinterleaved2(const float* src, float* d, i64 ld, i64 taps) {
    const __m256 a0 = _mm256_loadu_ps(src), a1 = _mm256_loadu_ps(src + 8);
    const __m256 u0 = _mm256_permute2f128_ps(a0, a1, 0x20), u1 = _mm256_permute2f128_ps(a0, a1, 0x31);  // 0-3 | 8-11, 4-7 | 12-15
    _mm256_storeu_ps(d, _mm256_shuffle_ps(u0, u1, 0x88));
    if (taps > 1) _mm256_storeu_ps(d + ld, _mm256_shuffle_ps(u0, u1, 0xdd));
  }

  // Adds the 8 floats s (half h of a window panel) to p at their offsets: for each 8-float piece of
  // the window, the lanes landing there are permuted into place (a level per lane sharing an offset)
  // and added; a piece inside the plane is loaded and stored whole (AMD's masked stores are slow),
  // others with a masked load / store touching only the positions hit.
  SVERTKA_CONV_AVX2 static void scatter_window8(float* p, const PanelMap& m, int h, const float* s) {
    const __m256 v = _mm256_load_ps(s);
    for (int o = 0; o < 2 && 8 * o < m.span[h]; ++o) {
      __m256i has = _mm256_setzero_si256();
      __m256 add = _mm256_setzero_ps();
      for (int l = 0; l < m.levels[h]; ++l) {
        const __m256i inv = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(m.inv[h][o][l])));
        const __m256i hl = _mm256_cmpgt_epi32(inv, _mm256_set1_epi32(-1));
        add = _mm256_add_ps(add, _mm256_and_ps(_mm256_permutevar8x32_ps(v, inv), _mm256_castsi256_ps(hl)));
        if (l == 0) has = hl;
      }
      float* q = p + m.lo[h] + 8 * o;
      if (m.inside[h] & (1u << o))
        _mm256_storeu_ps(q, _mm256_add_ps(_mm256_loadu_ps(q), add));
      else
        _mm256_maskstore_ps(q, has, _mm256_add_ps(_mm256_maskload_ps(q, has), add));
    }
    for (unsigned bits = m.extra[h]; bits; bits &= bits - 1) {
      const int i = __builtin_ctz(bits);
      p[m.off[8 * h + i]] += s[i];
    }
  }

  // 8 floats at offsets off[0..8) (−1: zero) that lie within [lo, lo + span), span ≤ 16: masked loads
  // of the window (never touching memory outside it) and a lane permutation.
  SVERTKA_CONV_AVX2 static __m256 window8(const float* p, const i32* off, i32 lo, i32 span) {
    const __m256i o = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(off));
    const __m256i valid = _mm256_cmpgt_epi32(o, _mm256_set1_epi32(-1));
    const __m256i idx = _mm256_sub_epi32(o, _mm256_set1_epi32(lo));
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 v0 = _mm256_maskload_ps(p + lo, _mm256_cmpgt_epi32(_mm256_set1_epi32(span), iota));
    __m256 r = _mm256_permutevar8x32_ps(v0, idx);
    if (span > 8) {
      const __m256 v1 = _mm256_maskload_ps(p + lo + 8, _mm256_cmpgt_epi32(_mm256_set1_epi32(span - 8), iota));
      const __m256 hi = _mm256_castsi256_ps(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32(7)));
      r = _mm256_blendv_ps(r, _mm256_permutevar8x32_ps(v1, idx), hi);
    }
    return _mm256_and_ps(r, _mm256_castsi256_ps(valid));
  }

  // e, f += the lanes m of rows[i] + o, even rows into e, odd ones into f
  template <class V, class M, class T>
  SVERTKA_CONV_AVX2_INLINE static void gather_tap(M m, const T* const* rows, i64 nrows, i64 o, V& e, V& f) {
    using X = V8<T>;
    i64 i = 0;
    for (; i + 2 <= nrows; i += 2) {
      e = X::add(e, X::maskload(rows[i] + o, m));
      f = X::add(f, X::maskload(rows[i + 1] + o, m));
    }
    if (i < nrows) e = X::add(e, X::maskload(rows[i] + o, m));
  }
  // out[q] = Σ_s Σ_i rows[i][s·ld + q − s·dw] over the taps s with 0 ≤ q − s·dw < len (masked loads:
  // the lanes outside are never read): the col2im of one padded row, rows[i] the im2col rows (r, s = 0)
  // of the filter rows r that reach it; nq a multiple of the vector width. Four sums in flight.
  template <class T>
  SVERTKA_CONV_AVX2 static void gather_rows(i64 nq, i64 nrows, const T* const* rows, i64 S, i64 ld, i64 dw, i64 len,
                                            T* out) {
    using X = V8<T>;
    using V = typename X::V;
    constexpr i64 W = VW<T>;
    for (i64 q = 0; q < nq; q += W) {
      V a0 = X::zero(), a1 = X::zero(), a2 = X::zero(), a3 = X::zero();
      i64 s = 0;
      for (; s + 2 <= S; s += 2) {  // taps s and s + 1 into separate sums
        const i64 start = q - s * dw;
        gather_tap(X::range(start, len), rows, nrows, s * ld + start, a0, a1);
        gather_tap(X::range(start - dw, len), rows, nrows, (s + 1) * ld + start - dw, a2, a3);
      }
      if (s < S) gather_tap(X::range(q - s * dw, len), rows, nrows, s * ld + q - s * dw, a0, a1);
      X::storeu(out + q, X::add(X::add(a0, a1), X::add(a2, a3)));
    }
  }

  template <class T>
  SVERTKA_CONV_AVX2 static void taps(i64 n, i64 S, const T* const* src, const T* w, T* acc) {
    using X = V8<T>;
    using V = typename X::V;
    constexpr i64 W = VW<T>;
    i64 v = 0;
    for (; v + 4 * W <= n; v += 4 * W) {
      V a0 = X::loadu(acc + v), a1 = X::loadu(acc + v + W), a2 = X::loadu(acc + v + 2 * W), a3 = X::loadu(acc + v + 3 * W);
      for (i64 s = 0; s < S; ++s) {
        const V ws = X::bcast(w + s);
        const T* p = src[s] + v;
        a0 = X::fma(ws, X::loadu(p), a0);
        a1 = X::fma(ws, X::loadu(p + W), a1);
        a2 = X::fma(ws, X::loadu(p + 2 * W), a2);
        a3 = X::fma(ws, X::loadu(p + 3 * W), a3);
      }
      X::storeu(acc + v, a0), X::storeu(acc + v + W, a1), X::storeu(acc + v + 2 * W, a2), X::storeu(acc + v + 3 * W, a3);
    }
    for (; v < n; v += W) {  // the last 1 to 3 vectors: two chains (even and odd taps), not one long one
      V a0 = X::loadu(acc + v), a1 = X::zero();
      i64 s = 0;
      for (; s + 2 <= S; s += 2) {
        a0 = X::fma(X::bcast(w + s), X::loadu(src[s] + v), a0);
        a1 = X::fma(X::bcast(w + s + 1), X::loadu(src[s + 1] + v), a1);
      }
      if (s < S) a0 = X::fma(X::bcast(w + s), X::loadu(src[s] + v), a0);
      X::storeu(acc + v, X::add(a0, a1));
    }
  }
  // lanes[s·W + l] += Σ_v g[v·W + l]·src[s][v·W + l]: four taps at a time share each load of g
  template <class T>
  SVERTKA_CONV_AVX2 static void dot_taps(i64 n, i64 S, const T* g, const T* const* src, T* lanes) {
    using X = V8<T>;
    using V = typename X::V;
    constexpr i64 W = VW<T>;
    i64 s = 0;
    for (; s + 4 <= S; s += 4) {
      V a0 = X::loadu(lanes + s * W), a1 = X::loadu(lanes + (s + 1) * W), a2 = X::loadu(lanes + (s + 2) * W),
        a3 = X::loadu(lanes + (s + 3) * W);
      const T *p0 = src[s], *p1 = src[s + 1], *p2 = src[s + 2], *p3 = src[s + 3];
      for (i64 v = 0; v < n; v += W) {
        const V gv = X::loadu(g + v);
        a0 = X::fma(gv, X::loadu(p0 + v), a0);
        a1 = X::fma(gv, X::loadu(p1 + v), a1);
        a2 = X::fma(gv, X::loadu(p2 + v), a2);
        a3 = X::fma(gv, X::loadu(p3 + v), a3);
      }
      X::storeu(lanes + s * W, a0), X::storeu(lanes + (s + 1) * W, a1);
      X::storeu(lanes + (s + 2) * W, a2), X::storeu(lanes + (s + 3) * W, a3);
    }
    for (; s < S; ++s) {
      V a = X::loadu(lanes + s * W);
      for (i64 v = 0; v < n; v += W) a = X::fma(X::loadu(g + v), X::loadu(src[s] + v), a);
      X::storeu(lanes + s * W, a);
    }
  }

  // The direct forward's filter blocks: taps_k computes up to 6 filters per pass over the taps, so
  // each input vector is loaded once for the whole block; a row that fits one vector takes two rows
  // per pass (taps_k2). A block holds 6 filters × 2 vectors in 12 ymm accumulators.
  static constexpr i64 taps_filters = 6;
  static constexpr bool taps_any_k = true;  // taps_k takes every filter of the group at once
  template <class T>
  static constexpr i64 taps_lanes = VW<T>;  // lanes of one vector of taps_k

  // out[k·ldo + v] = b[k] + Σ_t w[t·kb + k]·src[t][v] for k < K, v < n (b null: no b[k]), with w in
  // blocks of 6 filters (block j at w + 6j·S, laid out [tap][filter in block]). The src rows are read
  // up to n rounded up to the vector width; lanes past n are not written. Two vectors of the row at a
  // time through every filter block before the next two, so the input those vectors read stays in
  // cache while the filters stream through. Against block by block over the whole row, alexnet_c1's
  // direct forward went from about 1.07x to 1.2x the GEMM path at 2 threads and replicate_5x5 stayed
  // at 1.3x; splitting the taps into L1-sized chunks was no better.
  template <class T>
  SVERTKA_CONV_AVX2 static void taps_k(i64 n, i64 S, const T* const* src, const T* w, i64 K, const T* b, T* out,
                                       i64 ldo) {
    constexpr i64 W = VW<T>;
    for (i64 v = 0; v < n; v += 2 * W)
      for (i64 k0 = 0; k0 < K; k0 += taps_filters) {
        const i64 kb = std::min(taps_filters, K - k0);
        const T* wk = w + k0 * S;
        const T* bk = b ? b + k0 : nullptr;
        T* o = out + k0 * ldo + v;
        if (v + W < n)  // two vectors, the second one with at least one lane to store
          taps_pair<true>(kb, S, src, v, std::min(W, n - v), src, v + W, std::min(W, n - v - W), wk, bk, o, o + W, ldo);
        else
          taps_pair<false>(kb, S, src, v, n - v, src, v, 0, wk, bk, o, o, ldo);
      }
  }
  // The direct weight gradient's register block: lanes[k·lk + s·W + l] += Σ_i Σ_v gr[i][k·gk + v] ·
  // xr[i][off[s] + v], v ≡ l (mod W), for k < kb ≤ 2, s < sb ≤ 5, v < n (a multiple of W): kb filters
  // and sb taps over m row pairs (an output-gradient row and the input row it meets) in 10 ymm
  // accumulators until the end. Rows are read up to n.
  static constexpr i64 dot_filters = 2;
  static constexpr i64 dot_taps_max = 5;
  template <class T>
  SVERTKA_CONV_AVX2 static void dot_rows(i64 n, i64 m, const T* const* xr, const T* const* gr, i64 gk, const i64* off,
                                         i64 kb, i64 sb, T* lanes, i64 lk) {
    if (kb == 1) SVERTKA_CONV_DOT_ROWS(1)
    SVERTKA_CONV_DOT_ROWS(2)
  }
  template <i64 KB, i64 SB, class T>
  SVERTKA_CONV_AVX2_INLINE static void dot_rows_kb(i64 n, i64 m, const T* const* xr, const T* const* gr, i64 gk,
                                                   const i64* off, T* lanes, i64 lk) {
    using X = V8<T>;
    using V = typename X::V;
    constexpr i64 W = VW<T>;
    V acc[KB][SB];
#pragma GCC unroll 2
    for (i64 k = 0; k < KB; ++k)
#pragma GCC unroll 5
      for (i64 s = 0; s < SB; ++s) acc[k][s] = X::zero();
    for (i64 v = 0; v < n; v += W)
      for (i64 i = 0; i < m; ++i) {
        const T* x = xr[i] + v;
        V g[KB];
#pragma GCC unroll 2
        for (i64 k = 0; k < KB; ++k) g[k] = X::loadu(gr[i] + k * gk + v);
#pragma GCC unroll 5
        for (i64 s = 0; s < SB; ++s) {
          const V xs = X::loadu(x + off[s]);
#pragma GCC unroll 2
          for (i64 k = 0; k < KB; ++k) acc[k][s] = X::fma(g[k], xs, acc[k][s]);
        }
      }
#pragma GCC unroll 2
    for (i64 k = 0; k < KB; ++k)
#pragma GCC unroll 5
      for (i64 s = 0; s < SB; ++s) {
        T* l = lanes + k * lk + s * W;
        X::storeu(l, X::add(X::loadu(l), acc[k][s]));
      }
  }

  // taps_k for two output rows at once when a row fits one vector (n ≤ W): out0 from the taps src0,
  // out1 from src1.
  template <class T>
  SVERTKA_CONV_AVX2 static void taps_k2(i64 n, i64 S, const T* const* src0, const T* const* src1, const T* w, i64 kb,
                                        const T* b, T* out0, T* out1, i64 ldo) {
    taps_pair<true>(kb, S, src0, 0, n, src1, 0, n, w, b, out0, out1, ldo);
  }
  // The register block of both: out0[k·ldo + l] = b[k] + Σ_t w[t·kb + k]·src0[t][o0 + l] for l < n0,
  // and (Two) the same for out1 from src1 at o1, l < n1.
  template <bool Two, class T>
  SVERTKA_CONV_AVX2_INLINE static void taps_pair(i64 kb, i64 S, const T* const* src0, i64 o0, i64 n0,
                                                 const T* const* src1, i64 o1, i64 n1, const T* w, const T* b,
                                                 T* out0, T* out1, i64 ldo) {
    switch (kb) {
      case 1: return taps_block<1, Two>(S, src0, o0, n0, src1, o1, n1, w, b, out0, out1, ldo);
      case 2: return taps_block<2, Two>(S, src0, o0, n0, src1, o1, n1, w, b, out0, out1, ldo);
      case 3: return taps_block<3, Two>(S, src0, o0, n0, src1, o1, n1, w, b, out0, out1, ldo);
      case 4: return taps_block<4, Two>(S, src0, o0, n0, src1, o1, n1, w, b, out0, out1, ldo);
      case 5: return taps_block<5, Two>(S, src0, o0, n0, src1, o1, n1, w, b, out0, out1, ldo);
      default: return taps_block<6, Two>(S, src0, o0, n0, src1, o1, n1, w, b, out0, out1, ldo);
    }
  }
  template <i64 KB, bool Two, class T>
  SVERTKA_CONV_AVX2_INLINE static void taps_block(i64 S, const T* const* src0, i64 o0, i64 n0, const T* const* src1,
                                                  i64 o1, i64 n1, const T* w, const T* b, T* out0, T* out1, i64 ldo) {
    using X = V8<T>;
    using V = typename X::V;
    V a0[KB], a1[KB];
#pragma GCC unroll 6
    for (i64 k = 0; k < KB; ++k) a0[k] = a1[k] = b ? X::bcast(b + k) : X::zero();
    for (i64 t = 0; t < S; ++t, w += KB) {
      const V x0 = X::loadu(src0[t] + o0);
      const V x1 = Two ? X::loadu(src1[t] + o1) : X::zero();
#pragma GCC unroll 6
      for (i64 k = 0; k < KB; ++k) {
        const V wk = X::bcast(w + k);
        a0[k] = X::fma(wk, x0, a0[k]);
        if constexpr (Two) a1[k] = X::fma(wk, x1, a1[k]);
      }
    }
#pragma GCC unroll 6
    for (i64 k = 0; k < KB; ++k) {
      store_lanes(out0 + k * ldo, n0, a0[k]);
      if constexpr (Two) store_lanes(out1 + k * ldo, n1, a1[k]);
    }
  }
  // p[l] = v[l] for l < n (n ≤ the vector width)
  template <class T, class V>
  SVERTKA_CONV_AVX2_INLINE static void store_lanes(T* p, i64 n, V v) {
    if (n >= VW<T>) return V8<T>::storeu(p, v);
    alignas(32) T t[VW<T>];
    V8<T>::store(t, v);
    for (i64 l = 0; l < n; ++l) p[l] = t[l];
  }
};
#undef SVERTKA_CONV_ROW
#undef SVERTKA_CONV_STORE
#endif  // SVERTKA_CONV_X86

}  // namespace svertka::kernels::conv
