#pragma once
// Internal to the convolution kernels: the AVX-512 policy. Same layouts as the AVX2 one (a panel is
// 64 bytes: one zmm), wider work per call:
//   micro: C[8, 2 panels] from one A micro-panel [k][8] and two B panels — 16 zmm accumulators,
//          A broadcast from memory; one panel alone when the block has an odd count
//   dot:   4 gY rows × 6 im2col rows — 24 zmm accumulators
//   panels through k-masked loads / stores (fast on AVX-512, unlike AVX2's vmaskmov stores), window
//   panels with one two-source permutation when the whole panel spans ≤ 32 pixels.
// The direct path's single-filter row loops are the AVX2 ones (inherited); taps_k / taps_k2 and
// dot_rows are its own.

#include <algorithm>

#include "conv2d_isa.hpp"

#ifdef SVERTKA_CONV_X86

namespace svertka::kernels::conv {

#define SVERTKA_CONV_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define SVERTKA_CONV_AVX512_INLINE \
  __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma"), always_inline)) inline

template <class T>
struct Z;
template <>
struct Z<float> {
  using V = __m512;
  using Half = __m256;
  SVERTKA_CONV_AVX512_INLINE static V zero() { return _mm512_setzero_ps(); }
  SVERTKA_CONV_AVX512_INLINE static V load(const float* p) { return _mm512_load_ps(p); }
  SVERTKA_CONV_AVX512_INLINE static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  SVERTKA_CONV_AVX512_INLINE static void store(float* p, V v) { _mm512_store_ps(p, v); }
  SVERTKA_CONV_AVX512_INLINE static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  SVERTKA_CONV_AVX512_INLINE static V set1(const float* p) { return _mm512_set1_ps(*p); }
  SVERTKA_CONV_AVX512_INLINE static V add(V a, V b) { return _mm512_add_ps(a, b); }
  SVERTKA_CONV_AVX512_INLINE static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  // lanes whose offset (16 × i32 at off) is ≥ 0
  SVERTKA_CONV_AVX512_INLINE static __mmask16 valid(const i32* off) {
    return _mm512_cmpgt_epi32_mask(_mm512_loadu_si512(off), _mm512_set1_epi32(-1));
  }
  SVERTKA_CONV_AVX512_INLINE static V maskz_loadu(__mmask16 k, const float* p) { return _mm512_maskz_loadu_ps(k, p); }
  SVERTKA_CONV_AVX512_INLINE static void mask_storeu(float* p, __mmask16 k, V v) { _mm512_mask_storeu_ps(p, k, v); }
  SVERTKA_CONV_AVX512_INLINE static V gather(__mmask16 k, const float* p, const i32* off) {
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, _mm512_loadu_si512(off), p, 4);
  }
  // the two 8-lane halves added (through memory: GCC 12's 512 → 256 casts warn falsely)
  SVERTKA_CONV_AVX512_INLINE static Half fold(V v) {
    alignas(64) float t[16];
    _mm512_store_ps(t, v);
    return _mm256_add_ps(_mm256_load_ps(t), _mm256_load_ps(t + 8));
  }
};
template <>
struct Z<double> {
  using V = __m512d;
  using Half = __m256d;
  SVERTKA_CONV_AVX512_INLINE static V zero() { return _mm512_setzero_pd(); }
  SVERTKA_CONV_AVX512_INLINE static V load(const double* p) { return _mm512_load_pd(p); }
  SVERTKA_CONV_AVX512_INLINE static V loadu(const double* p) { return _mm512_loadu_pd(p); }
  SVERTKA_CONV_AVX512_INLINE static void store(double* p, V v) { _mm512_store_pd(p, v); }
  SVERTKA_CONV_AVX512_INLINE static void storeu(double* p, V v) { _mm512_storeu_pd(p, v); }
  SVERTKA_CONV_AVX512_INLINE static V set1(const double* p) { return _mm512_set1_pd(*p); }
  SVERTKA_CONV_AVX512_INLINE static V add(V a, V b) { return _mm512_add_pd(a, b); }
  SVERTKA_CONV_AVX512_INLINE static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  SVERTKA_CONV_AVX512_INLINE static __mmask8 valid(const i32* off) {
    return _mm256_cmpgt_epi32_mask(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(off)), _mm256_set1_epi32(-1));
  }
  SVERTKA_CONV_AVX512_INLINE static V maskz_loadu(__mmask8 k, const double* p) { return _mm512_maskz_loadu_pd(k, p); }
  SVERTKA_CONV_AVX512_INLINE static void mask_storeu(double* p, __mmask8 k, V v) { _mm512_mask_storeu_pd(p, k, v); }
  SVERTKA_CONV_AVX512_INLINE static V gather(__mmask8 k, const double* p, const i32* off) {
    return _mm512_mask_i32gather_pd(_mm512_setzero_pd(), k, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(off)), p, 8);
  }
  SVERTKA_CONV_AVX512_INLINE static Half fold(V v) {
    alignas(64) double t[8];
    _mm512_store_pd(t, v);
    return _mm256_add_pd(_mm256_load_pd(t), _mm256_load_pd(t + 4));
  }
};

#define SVERTKA_CONV_ROW2(r)              \
  {                                       \
    const V ar = X::set1(a + (r));        \
    c##r##0 = X::fma(ar, b0, c##r##0);    \
    c##r##1 = X::fma(ar, b1, c##r##1);    \
  }
#define SVERTKA_CONV_STORE2(r)                                                \
  {                                                                           \
    T* cr = c + (r) * ldc;                                                    \
    X::store(cr, acc ? X::add(c##r##0, X::load(cr)) : c##r##0);               \
    X::store(cr + nr, acc ? X::add(c##r##1, X::load(cr + nr)) : c##r##1);     \
  }
#define SVERTKA_CONV_ROW1(r) c##r##0 = X::fma(X::set1(a + (r)), b0, c##r##0);
#define SVERTKA_CONV_STORE1(r) \
  X::store(c + (r) * ldc, acc ? X::add(c##r##0, X::load(c + (r) * ldc)) : c##r##0);
#define SVERTKA_CONV_8(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)

struct Avx512 : Avx2 {
  static constexpr i64 mr = 8;
  static constexpr i64 panels = 2;
  static constexpr i64 dot_cols = 6;
  static constexpr i64 taps_filters = 12;  // taps_k computes up to 12 filters per pass
  template <class T>
  static constexpr i64 taps_lanes = NR<T>;
  static constexpr bool taps_any_k = false;  // taps_k: one block of ≤ taps_filters filters per call
  static constexpr i64 dot_filters = 3;  // dot_rows: up to 3 filters × 5 taps per pass
  static constexpr i64 dot_taps_max = 5;

  // out[k·ldo + v] = b[k] + Σ_t w[t·kb + k]·src[t][v] for k < kb ≤ 12, v < n (b null: no b[k]): every
  // filter of a block in one pass over the taps, so each input vector is loaded once for kb filters
  // (24 zmm accumulators: 12 filters × 2 vectors; with 6, the loop's loads and bookkeeping per
  // multiply-add made a 7 × 7 layer, 64 channels at 56 × 56, 11% slower and alexnet_c1 5% at one
  // thread). Lanes past n are neither read nor written.
  template <class T>
  SVERTKA_CONV_AVX512 static void taps_k(i64 n, i64 S, const T* const* src, const T* w, i64 kb, const T* b, T* out,
                                         i64 ldo) {
    using M = decltype(Z<T>::valid(nullptr));
    constexpr i64 W = NR<T>;
    const auto lanes = [](i64 cnt) { return static_cast<M>(cnt >= W ? ~0u : cnt <= 0 ? 0u : (1u << cnt) - 1); };
    for (i64 v = 0; v < n; v += 2 * W)
      taps_pair(kb, S, src, v, lanes(n - v), src, v + W, lanes(n - v - W), w, b, out + v, out + v + W, ldo);
  }

  // lanes[k·lk + s·VW + l] += Σ_i Σ_v gr[i][k·gk + v] · xr[i][off[s] + v], v ≡ l (mod VW), for
  // k < kb ≤ 3, s < sb ≤ 5, v < n (a multiple of VW): the weight gradient of kb filters and sb taps
  // over m row pairs (an output-gradient row and the input row it meets), all in 15 zmm accumulators
  // until the end. Lanes past n are not read.
  template <class T>
  SVERTKA_CONV_AVX512 static void dot_rows(i64 n, i64 m, const T* const* xr, const T* const* gr, i64 gk, const i64* off,
                                           i64 kb, i64 sb, T* lanes, i64 lk) {
    if (kb == 1) SVERTKA_CONV_DOT_ROWS(1)
    if (kb == 2) SVERTKA_CONV_DOT_ROWS(2)
    SVERTKA_CONV_DOT_ROWS(3)
  }
  template <i64 KB, i64 SB, class T>
  SVERTKA_CONV_AVX512_INLINE static void dot_rows_kb(i64 n, i64 m, const T* const* xr, const T* const* gr, i64 gk,
                                                     const i64* off, T* lanes, i64 lk) {
    using X = Z<T>;
    using V = typename X::V;
    using M = decltype(X::valid(nullptr));
    constexpr i64 W = NR<T>;
    const auto lanes_of = [](i64 cnt) { return static_cast<M>(cnt >= W ? ~0u : cnt <= 0 ? 0u : (1u << cnt) - 1); };
    V acc[KB][SB];
#pragma GCC unroll 3
    for (i64 k = 0; k < KB; ++k)
#pragma GCC unroll 5
      for (i64 s = 0; s < SB; ++s) acc[k][s] = X::zero();
    if (n <= W) {  // rows fit one vector: two row pairs per pass (the second vector holds row i + 1)
      const M m0 = lanes_of(n);
      for (i64 i = 0; i < m; i += 2) {
        const bool two = i + 1 < m;
        const i64 i1 = two ? i + 1 : i;
        dot_step<KB, SB>(acc, xr[i], gr[i], m0, xr[i1], gr[i1], two ? m0 : M(0), gk, off);
      }
    } else {  // two vectors of each row per pass
      for (i64 v = 0; v < n; v += 2 * W) {
        const M m0 = lanes_of(n - v), m1 = lanes_of(n - v - W);
        for (i64 i = 0; i < m; ++i)
          dot_step<KB, SB>(acc, xr[i] + v, gr[i] + v, m0, xr[i] + v + W, gr[i] + v + W, m1, gk, off);
      }
    }
#pragma GCC unroll 3
    for (i64 k = 0; k < KB; ++k)
#pragma GCC unroll 5
      for (i64 s = 0; s < SB; ++s) {
        T* l = lanes + k * lk + s * VW<T>;
        if constexpr (std::is_same_v<T, float>)
          _mm256_storeu_ps(l, _mm256_add_ps(_mm256_loadu_ps(l), X::fold(acc[k][s])));
        else
          _mm256_storeu_pd(l, _mm256_add_pd(_mm256_loadu_pd(l), X::fold(acc[k][s])));
      }
  }

  // acc[k][s] += g0_k·x0_s + g1_k·x1_s: two vectors of gY (filter k at g + k·gk) against the tap
  // s runs of the input (at x + off[s]), each under its lane mask.
  template <i64 KB, i64 SB, class T, class V, class M>
  SVERTKA_CONV_AVX512_INLINE static void dot_step(V (&acc)[KB][SB], const T* x0, const T* g0p, M m0, const T* x1,
                                                  const T* g1p, M m1, i64 gk, const i64* off) {
    using X = Z<T>;
    V g0[KB], g1[KB];
#pragma GCC unroll 3
    for (i64 k = 0; k < KB; ++k) {
      g0[k] = X::maskz_loadu(m0, g0p + k * gk);
      g1[k] = X::maskz_loadu(m1, g1p + k * gk);
    }
#pragma GCC unroll 5
    for (i64 s = 0; s < SB; ++s) {
      const V v0 = X::maskz_loadu(m0, x0 + off[s]), v1 = X::maskz_loadu(m1, x1 + off[s]);
#pragma GCC unroll 3
      for (i64 k = 0; k < KB; ++k) acc[k][s] = X::fma(g1[k], v1, X::fma(g0[k], v0, acc[k][s]));
    }
  }

  // taps_k for two output rows at once when a row fits one vector (n ≤ NR): out0 from the taps src0,
  // out1 from src1, so both vectors of the register block carry useful lanes.
  template <class T>
  SVERTKA_CONV_AVX512 static void taps_k2(i64 n, i64 S, const T* const* src0, const T* const* src1, const T* w,
                                          i64 kb, const T* b, T* out0, T* out1, i64 ldo) {
    using M = decltype(Z<T>::valid(nullptr));
    const M m = static_cast<M>(n >= NR<T> ? ~0u : (1u << n) - 1);
    taps_pair(kb, S, src0, 0, m, src1, 0, m, w, b, out0, out1, ldo);
  }
  // The register block of both: out0[k·ldo + l] = b[k] + Σ_t w[t·kb + k]·src0[t][o0 + l] over the
  // lanes of m0, and the same for out1 from src1 at o1 under m1.
  template <class T, class M>
  SVERTKA_CONV_AVX512_INLINE static void taps_pair(i64 kb, i64 S, const T* const* src0, i64 o0, M m0,
                                                   const T* const* src1, i64 o1, M m1, const T* w, const T* b,
                                                   T* out0, T* out1, i64 ldo) {
    switch (kb) {
      case 1: return taps_block<1>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      case 2: return taps_block<2>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      case 3: return taps_block<3>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      case 4: return taps_block<4>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      case 5: return taps_block<5>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      case 6: return taps_block<6>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      case 7: return taps_block<7>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      case 8: return taps_block<8>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      case 9: return taps_block<9>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      case 10: return taps_block<10>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      case 11: return taps_block<11>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
      default: return taps_block<12>(S, src0, o0, m0, src1, o1, m1, w, b, out0, out1, ldo);
    }
  }
  template <i64 KB, class T, class M>
  SVERTKA_CONV_AVX512_INLINE static void taps_block(i64 S, const T* const* src0, i64 o0, M m0, const T* const* src1,
                                                    i64 o1, M m1, const T* w, const T* b, T* out0, T* out1, i64 ldo) {
    using X = Z<T>;
    using V = typename X::V;
    V a0[KB], a1[KB];
#pragma GCC unroll 12
    for (i64 k = 0; k < KB; ++k) a0[k] = a1[k] = b ? X::set1(b + k) : X::zero();
    for (i64 t = 0; t < S; ++t, w += KB) {
      const V x0 = X::maskz_loadu(m0, src0[t] + o0), x1 = X::maskz_loadu(m1, src1[t] + o1);
#pragma GCC unroll 12
      for (i64 k = 0; k < KB; ++k) {
        const V wk = X::set1(w + k);
        a0[k] = X::fma(wk, x0, a0[k]);
        a1[k] = X::fma(wk, x1, a1[k]);
      }
    }
#pragma GCC unroll 12
    for (i64 k = 0; k < KB; ++k) {
      X::mask_storeu(out0 + k * ldo, m0, a0[k]);
      X::mask_storeu(out1 + k * ldo, m1, a1[k]);
    }
  }

  // C[8, npan panels] (=|+=) A·B; the second panel at b + ps; C 64-byte aligned, ldc a multiple of NR.
  template <class T>
  SVERTKA_CONV_AVX512 static void micro(i64 kc, const T* __restrict a, const T* __restrict b, i64 ps, i64 npan,
                                        T* c, i64 ldc, bool acc) {
    using X = Z<T>;
    using V = typename X::V;
    constexpr i64 nr = NR<T>;
    if (npan == 2) {
      const T* __restrict b2 = b + ps;
      V c00 = X::zero(), c01 = X::zero(), c10 = X::zero(), c11 = X::zero(), c20 = X::zero(), c21 = X::zero();
      V c30 = X::zero(), c31 = X::zero(), c40 = X::zero(), c41 = X::zero(), c50 = X::zero(), c51 = X::zero();
      V c60 = X::zero(), c61 = X::zero(), c70 = X::zero(), c71 = X::zero();
#pragma GCC unroll 4
      for (i64 k = 0; k < kc; ++k) {
        const V b0 = X::load(b + k * nr), b1 = X::load(b2 + k * nr);
        SVERTKA_CONV_8(SVERTKA_CONV_ROW2)
        a += mr;
      }
      SVERTKA_CONV_8(SVERTKA_CONV_STORE2)
    } else {
      V c00 = X::zero(), c10 = X::zero(), c20 = X::zero(), c30 = X::zero(), c40 = X::zero(), c50 = X::zero();
      V c60 = X::zero(), c70 = X::zero();
#pragma GCC unroll 4
      for (i64 k = 0; k < kc; ++k) {
        const V b0 = X::load(b + k * nr);
        SVERTKA_CONV_8(SVERTKA_CONV_ROW1)
        a += mr;
      }
      SVERTKA_CONV_8(SVERTKA_CONV_STORE1)
    }
  }

  // o[j·ldo + i] += Σ_t a[i·lda + t]·b[j·ldb + t], i < 4, j < 6; kc a multiple of NR.
  template <class T>
  SVERTKA_CONV_AVX512 static void dot(i64 kc, const T* a, i64 lda, const T* b, i64 ldb, T* o, i64 ldo) {
    const T* p[6] = {b, b + ldb, b + 2 * ldb, b + 3 * ldb, b + 4 * ldb, b + 5 * ldb};
    dot6(kc, a, lda, p, o, ldo);
  }
  // dot6 for the a rows [0, kn), 4 at a time (o advancing by 4 sums), in a function of its own:
  // inlined into the weight gradient's task, the loop once got fewer free registers and read the b
  // rows from memory at every multiply-add (four loads, not one, per b vector: strided_3x3's weight
  // gradient 20 → 28 ms at one thread), and a call per 4 rows cost 2-3%.
  template <class T>
  __attribute__((noinline)) SVERTKA_CONV_AVX512 static void dot6_rows(i64 kn, i64 kc, const T* a, i64 lda,
                                                                   const T* const (&b)[6], T* o, i64 ldo) {
    for (i64 k = 0; k < kn; k += 4) dot6(kc, a + k * lda, lda, b, o + k, ldo);
  }
  // dot with the 6 b rows anywhere (unaligned): o[j·ldo + i] += Σ_t a[i·lda + t]·b[j][t]
  template <class T>
  SVERTKA_CONV_AVX512_INLINE static void dot6(i64 kc, const T* a, i64 lda, const T* const (&b)[6], T* o, i64 ldo) {
    using X = Z<T>;
    using V = typename X::V;
    constexpr i64 W = NR<T>;
#define SVERTKA_CONV_DECL(i) V s##i##0 = X::zero(), s##i##1 = X::zero(), s##i##2 = X::zero(), \
                             s##i##3 = X::zero(), s##i##4 = X::zero(), s##i##5 = X::zero();
    SVERTKA_CONV_DECL(0) SVERTKA_CONV_DECL(1) SVERTKA_CONV_DECL(2) SVERTKA_CONV_DECL(3)
#undef SVERTKA_CONV_DECL
    const T *p0 = b[0], *p1 = b[1], *p2 = b[2], *p3 = b[3], *p4 = b[4], *p5 = b[5];
    for (i64 t = 0; t < kc; t += W) {
      const V b0 = X::loadu(p0 + t), b1 = X::loadu(p1 + t), b2 = X::loadu(p2 + t);
      const V b3 = X::loadu(p3 + t), b4 = X::loadu(p4 + t), b5 = X::loadu(p5 + t);
#define SVERTKA_CONV_DOTROW(i)                                                                    \
  {                                                                                               \
    const V ai = X::load(a + (i) * lda + t);                                                      \
    s##i##0 = X::fma(ai, b0, s##i##0), s##i##1 = X::fma(ai, b1, s##i##1), s##i##2 = X::fma(ai, b2, s##i##2); \
    s##i##3 = X::fma(ai, b3, s##i##3), s##i##4 = X::fma(ai, b4, s##i##4), s##i##5 = X::fma(ai, b5, s##i##5); \
  }
      SVERTKA_CONV_DOTROW(0) SVERTKA_CONV_DOTROW(1) SVERTKA_CONV_DOTROW(2) SVERTKA_CONV_DOTROW(3)
#undef SVERTKA_CONV_DOTROW
    }
#define SVERTKA_CONV_SUMS(j) \
  V8<T>::add_sums4(o + (j) * ldo, X::fold(s0##j), X::fold(s1##j), X::fold(s2##j), X::fold(s3##j));
    SVERTKA_CONV_SUMS(0) SVERTKA_CONV_SUMS(1) SVERTKA_CONV_SUMS(2) SVERTKA_CONV_SUMS(3) SVERTKA_CONV_SUMS(4)
    SVERTKA_CONV_SUMS(5)
#undef SVERTKA_CONV_SUMS
  }

  // e, f += the lanes m of rows[i] + o, even rows into e, odd ones into f
  template <class V, class M, class T>
  SVERTKA_CONV_AVX512_INLINE static void gather_tap(M m, const T* const* rows, i64 nrows, i64 o, V& e, V& f) {
    using X = Z<T>;
    i64 i = 0;
    for (; i + 2 <= nrows; i += 2) {
      e = X::add(e, X::maskz_loadu(m, rows[i] + o));
      f = X::add(f, X::maskz_loadu(m, rows[i + 1] + o));
    }
    if (i < nrows) e = X::add(e, X::maskz_loadu(m, rows[i] + o));
  }

  // as Avx2::gather_rows, 16 floats (8 doubles) at a time; nq a multiple of that
  template <class T>
  SVERTKA_CONV_AVX512 static void gather_rows(i64 nq, i64 nrows, const T* const* rows, i64 S, i64 ld, i64 dw, i64 len,
                                              T* out) {
    using X = Z<T>;
    using V = typename X::V;
    using M = decltype(X::valid(nullptr));
    constexpr i64 W = NR<T>;
    auto mask = [len, W](i64 start) {  // lanes l with 0 ≤ start + l < len
      const i64 lo = std::max<i64>(0, -start), hi = std::min<i64>(W, len - start);
      return static_cast<M>(hi <= lo ? 0u : ((hi >= 32 ? ~0u : (1u << hi) - 1) & ~((1u << lo) - 1)));
    };
    for (i64 q = 0; q < nq; q += W) {
      V a0 = X::zero(), a1 = X::zero(), a2 = X::zero(), a3 = X::zero();
      i64 s = 0;
      for (; s + 2 <= S; s += 2) {  // taps s and s + 1 into separate sums
        const i64 start = q - s * dw;
        gather_tap(mask(start), rows, nrows, s * ld + start, a0, a1);
        gather_tap(mask(start - dw), rows, nrows, (s + 1) * ld + start - dw, a2, a3);
      }
      if (s < S) gather_tap(mask(q - s * dw), rows, nrows, s * ld + q - s * dw, a0, a1);
      X::storeu(out + q, X::add(X::add(a0, a1), X::add(a2, a3)));
    }
  }

  // The mask of the first k of 16 lanes (none for k ≤ 0)
  SVERTKA_CONV_AVX512_INLINE static __mmask16 first16(i64 k) {
    return static_cast<__mmask16>(k >= 16 ? 0xffffu : k <= 0 ? 0u : (1u << k) - 1);
  }
  // dst[2i] += d[ld + i], dst[2i + 1] += d[2·ld + i] + (i < next ? d[i + 1] : 0) for i < n ≤ 16,
  // next ≤ n: Avx2::add_interleaved3 over 16 output columns, and over the n < 16 left at the end
  // of a run through masks (neither d nor dst is touched past them), where that one stops at 8
  // whole columns and leaves the rest to one tap at a time.
  SVERTKA_CONV_AVX512 static void add_interleaved3_n(float* dst, const float* d, i64 ld, i64 n, i64 next) {
    const __m512 v1 = _mm512_maskz_loadu_ps(first16(n), d + ld);
    const __m512 v2 = _mm512_add_ps(_mm512_maskz_loadu_ps(first16(n), d + 2 * ld), _mm512_maskz_loadu_ps(first16(next), d + 1));
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 a = _mm512_permutex2var_ps(v1, lo, v2), b = _mm512_permutex2var_ps(v1, hi, v2);
    if (n == 16) {
      _mm512_storeu_ps(dst, _mm512_add_ps(_mm512_loadu_ps(dst), a));
      _mm512_storeu_ps(dst + 16, _mm512_add_ps(_mm512_loadu_ps(dst + 16), b));
      return;
    }
    const __mmask16 ma = first16(2 * n), mb = first16(2 * n - 16);
    _mm512_mask_storeu_ps(dst, ma, _mm512_add_ps(_mm512_maskz_loadu_ps(ma, dst), a));
    if (n > 8) _mm512_mask_storeu_ps(dst + 16, mb, _mm512_add_ps(_mm512_maskz_loadu_ps(mb, dst + 16), b));
  }

  // d[b·plane + j] = padded column SW·j + b of input row `row` for j < L, b < SW (SW = 2 or 4): the
  // phases of a row at horizontal stride SW. Padded column q is input column q − left where that
  // lies in [0, W) and q < Q, else 0 (a caller with another padding mode puts in what it wants
  // there). 16 columns of every phase from 16·SW consecutive input columns: masked loads at the
  // row's ends, a masked store at L.
  template <int SW>
  SVERTKA_CONV_AVX512 static void split_phases(const float* row, i64 W, i64 left, i64 Q, i64 L, float* d, i64 plane) {
    static_assert(SW == 2 || SW == 4);
    constexpr i64 span = 16 * SW;
    for (i64 j0 = 0; j0 < L; j0 += 16) {
      const i64 w0 = SW * j0 - left;  // window lane u: input column w0 + u, padded column SW·j0 + u
      const i64 lo = std::max<i64>(0, -w0), hi = std::min({span, W - w0, Q - SW * j0});
      __m512 v[SW];
      for (int k = 0; k < SW; ++k) {
        const __mmask16 m = static_cast<__mmask16>(first16(hi - 16 * k) & ~first16(lo - 16 * k));
        v[k] = m ? _mm512_maskz_loadu_ps(m, row + w0 + 16 * k) : _mm512_setzero_ps();
      }
      const __mmask16 out = first16(L - j0);
      for (int b = 0; b < SW; ++b) {
        __m512 p;
        if constexpr (SW == 2) {
          const __m512i idx = _mm512_add_epi32(_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
                                               _mm512_set1_epi32(b));
          p = _mm512_permutex2var_ps(v[0], idx, v[1]);
        } else {
          // lanes 0-7 from each pair of vectors, then the two sets of 8 together
          const __m512i idx = _mm512_add_epi32(_mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0),
                                               _mm512_set1_epi32(b));
          const __m512i halves = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
          p = _mm512_permutex2var_ps(_mm512_permutex2var_ps(v[0], idx, v[1]), halves,
                                     _mm512_permutex2var_ps(v[2], idx, v[3]));
        }
        _mm512_mask_storeu_ps(d + b * plane + j0, out, p);
      }
    }
  }

  template <class T>
  SVERTKA_CONV_AVX512 static void load_panel(const PanelMap& m, const T* src, i64 img, const i32* lane_img, T* d) {
    using X = Z<T>;
    switch (m.kind) {
      case Kind::zero: X::store(d, X::zero()); break;
      case Kind::contiguous: X::store(d, X::loadu(src + m.image * img + m.base)); break;
      case Kind::masked: X::store(d, X::maskz_loadu(X::valid(m.off), src + m.image * img + m.base)); break;
      case Kind::window:
        if constexpr (std::is_same_v<T, float>) {
          const float* p = src + m.image * img;
          const i32 lo = m.span[0] == 0 ? m.lo[1] : m.span[1] == 0 ? m.lo[0] : std::min(m.lo[0], m.lo[1]);
          const i32 hi = std::max(m.span[0] ? m.lo[0] + m.span[0] : 0, m.span[1] ? m.lo[1] + m.span[1] : 0);
          if (hi - lo <= 32) {  // two masked loads of the window, one permutation
            const __m512i o = _mm512_loadu_si512(m.off);
            const __mmask16 k = _mm512_cmpgt_epi32_mask(o, _mm512_set1_epi32(-1));
            const i32 span = hi - lo;
            const __mmask16 k0 = static_cast<__mmask16>(span >= 16 ? 0xFFFF : (1u << span) - 1);
            const __mmask16 k1 = static_cast<__mmask16>(span >= 32 ? 0xFFFF : span <= 16 ? 0 : (1u << (span - 16)) - 1);
            const __m512 v0 = _mm512_maskz_loadu_ps(k0, p + lo), v1 = _mm512_maskz_loadu_ps(k1, p + lo + 16);
            const __m512i idx = _mm512_sub_epi32(o, _mm512_set1_epi32(lo));
            X::store(d, _mm512_maskz_permutex2var_ps(k, v0, idx, v1));
          } else {
            _mm256_store_ps(d, window8(p, m.off, m.lo[0], m.span[0]));
            _mm256_store_ps(d + 8, window8(p, m.off + 8, m.lo[1], m.span[1]));
          }
          break;
        }
        [[fallthrough]];
      case Kind::gather: X::store(d, X::gather(X::valid(m.off), src + m.image * img, m.off)); break;
      case Kind::mixed:
        for (i64 i = 0; i < NR<T>; ++i) d[i] = m.off[i] >= 0 ? src[lane_img[i] * img + m.off[i]] : T(0);
        break;
    }
  }

  // dst = a's lanes [0, k), b's lanes [k, valid), zeros after: two masked loads
  template <class T>
  SVERTKA_CONV_AVX512 static void rows_panel(const T* a, const T* b, i64 k, i64 valid, T* dst) {
    const unsigned lo = (1u << k) - 1, all = (1u << valid) - 1;
    if constexpr (std::is_same_v<T, float>)
      _mm512_store_ps(dst, _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(static_cast<__mmask16>(lo & all), a),
                                                static_cast<__mmask16>(all & ~lo), b));
    else
      _mm512_store_pd(dst, _mm512_mask_loadu_pd(_mm512_maskz_loadu_pd(static_cast<__mmask8>(lo & all), a),
                                                static_cast<__mmask8>(all & ~lo), b));
  }

  template <class T>
  SVERTKA_CONV_AVX512 static void scatter_panel(const PanelMap& m, T* dst, i64 img, const i32* lane_img, const T* s) {
    using X = Z<T>;
    switch (m.kind) {
      case Kind::contiguous: {
        T* p = dst + m.image * img + m.base;
        X::storeu(p, X::add(X::loadu(p), X::load(s)));
        break;
      }
      case Kind::masked: {
        T* p = dst + m.image * img + m.base;
        const auto k = X::valid(m.off);
        X::mask_storeu(p, k, X::add(X::maskz_loadu(k, p), X::load(s)));
        break;
      }
      case Kind::window:
        if constexpr (std::is_same_v<T, float>) {
          if (m.wone) {
            float* p = dst + m.image * img + m.wlo;
            const __m512 v = X::load(s);
            const __m512i i0 = _mm512_maskz_cvtepi8_epi32(0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(m.winv)));
            const __m512i i1 = _mm512_maskz_cvtepi8_epi32(0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(m.winv + 16)));
            const __mmask16 k0 = _mm512_cmpgt_epi32_mask(i0, _mm512_set1_epi32(-1));
            const __mmask16 k1 = _mm512_cmpgt_epi32_mask(i1, _mm512_set1_epi32(-1));
            _mm512_mask_storeu_ps(p, k0, _mm512_add_ps(_mm512_maskz_loadu_ps(k0, p), _mm512_maskz_permutexvar_ps(k0, i0, v)));
            if (k1)
              _mm512_mask_storeu_ps(p + 16, k1,
                                    _mm512_add_ps(_mm512_maskz_loadu_ps(k1, p + 16), _mm512_maskz_permutexvar_ps(k1, i1, v)));
            break;
          }
        }
        Avx2::scatter_panel(m, dst, img, lane_img, s);
        break;
      default: Avx2::scatter_panel(m, dst, img, lane_img, s); break;
    }
  }
};

#undef SVERTKA_CONV_ROW2
#undef SVERTKA_CONV_STORE2
#undef SVERTKA_CONV_ROW1
#undef SVERTKA_CONV_STORE1
#undef SVERTKA_CONV_8

}  // namespace svertka::kernels::conv

#endif  // SVERTKA_CONV_X86
