#pragma once
// Internal to the GEMM (gemm.cpp: the packed path; gemm_thin.cpp: products with one row, one column
// or a depth of one): the problem as given, the AVX2 and AVX-512 vector traits both use, and the ISA
// in force.

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "svertka/kernels/gemm.hpp"

// SVERTKA_GEMM_FORCE_GENERIC (a compile-time macro) disables the vector kernels, to test the fallback.
#if (defined(__x86_64__) || defined(__i386__)) && !defined(SVERTKA_GEMM_FORCE_GENERIC)
#define SVERTKA_GEMM_AVX2 1
#include <immintrin.h>
#endif

namespace svertka::kernels::gemm_detail {

using i64 = std::int64_t;

#define SVERTKA_INLINE __attribute__((always_inline)) inline

inline i64 ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }

// C[M,N] = alpha · op(A) · op(B) + beta · C, as gemm() received it.
template <class T>
struct Problem {
  Trans ta, tb;
  i64 M, N, K;
  T alpha, beta;
  const T *A, *B;
  T* C;
  i64 lda, ldb, ldc;
};

// C = beta * C, without reading C when beta == 0.
template <class T>
void scale_c(i64 M, i64 N, T beta, T* C, i64 ldc) {
  if (beta == T(1)) return;
  for (i64 i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    if (beta == T(0))
      std::fill_n(c, N, T(0));
    else
      for (i64 j = 0; j < N; ++j) c[j] *= beta;
  }
}

// The micro-kernel in force: set_gemm_isa's choice, else the best the CPU has.
extern std::atomic<GemmIsa> chosen_isa;
GemmIsa current_isa();

// Runs p on the thin path and returns true when p is a thin product (M = 1, K = 1, or N = 1 with
// op(A) = A); returns false, doing nothing, otherwise. `parallel`: threads may split it.
template <class T>
bool try_thin(const Problem<T>& p, bool parallel);
extern template bool try_thin<float>(const Problem<float>&, bool);
extern template bool try_thin<double>(const Problem<double>&, bool);

#ifdef SVERTKA_GEMM_AVX2
#define SVERTKA_AVX2 __attribute__((target("avx2,fma")))
#define SVERTKA_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

template <class T>
struct Vec;

template <>
struct Vec<float> {
  using V = __m256;
  SVERTKA_AVX2_INLINE static V zero() { return _mm256_setzero_ps(); }
  SVERTKA_AVX2_INLINE static V set1(float x) { return _mm256_set1_ps(x); }
  SVERTKA_AVX2_INLINE static V load(const float* p) { return _mm256_load_ps(p); }
  SVERTKA_AVX2_INLINE static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  SVERTKA_AVX2_INLINE static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  SVERTKA_AVX2_INLINE static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  SVERTKA_AVX2_INLINE static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  SVERTKA_AVX2_INLINE static V add(V a, V b) { return _mm256_add_ps(a, b); }
  SVERTKA_AVX2_INLINE static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  SVERTKA_AVX2_INLINE static void store6(float* p, V v) {  // the first 6 lanes
    _mm_storeu_ps(p, _mm256_castps256_ps128(v));
    _mm_storel_pi(reinterpret_cast<__m64*>(p + 4), _mm256_extractf128_ps(v, 1));
  }
  // r[i] = 8 consecutive k of row i  ->  r[k] = rows 0..7 at that k
  SVERTKA_AVX2_INLINE static void transpose(V r[8]) {
    V t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);      // a0 b0 a1 b1 | a4 b4 a5 b5
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  // a2 b2 a3 b3 | a6 b6 a7 b7
    }
    for (int i = 0; i < 8; i += 4) {
      u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);      // a0 b0 c0 d0 | a4 b4 c4 d4
      u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);  // a1 b1 c1 d1 | a5 b5 c5 d5
      u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int k = 0; k < 4; ++k) {
      r[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
      r[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
    }
  }
};

template <>
struct Vec<double> {
  using V = __m256d;
  SVERTKA_AVX2_INLINE static V zero() { return _mm256_setzero_pd(); }
  SVERTKA_AVX2_INLINE static V set1(double x) { return _mm256_set1_pd(x); }
  SVERTKA_AVX2_INLINE static V load(const double* p) { return _mm256_load_pd(p); }
  SVERTKA_AVX2_INLINE static V loadu(const double* p) { return _mm256_loadu_pd(p); }
  SVERTKA_AVX2_INLINE static void storeu(double* p, V v) { _mm256_storeu_pd(p, v); }
  SVERTKA_AVX2_INLINE static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  SVERTKA_AVX2_INLINE static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  SVERTKA_AVX2_INLINE static V add(V a, V b) { return _mm256_add_pd(a, b); }
  SVERTKA_AVX2_INLINE static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  SVERTKA_AVX2_INLINE static void store2(double* p, V v) { _mm_storeu_pd(p, _mm256_castpd256_pd128(v)); }
  // r[i] = 4 consecutive k of row i  ->  r[k] = rows 0..3 at that k
  SVERTKA_AVX2_INLINE static void transpose(V r[4]) {
    const V t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);  // a0 b0 | a2 b2, a1 b1 | a3 b3
    const V t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }
};

// The AVX-512 counterparts (the packed path's micro-kernel and the thin path).
#define SVERTKA_AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma")))
#define SVERTKA_AVX512_INLINE __attribute__((target("avx512f,avx512dq,avx2,fma"), always_inline)) inline

template <class T>
struct Vec512;
template <>
struct Vec512<float> {
  using V = __m512;
  SVERTKA_AVX512_INLINE static V zero() { return _mm512_setzero_ps(); }
  SVERTKA_AVX512_INLINE static V set1(float x) { return _mm512_set1_ps(x); }
  SVERTKA_AVX512_INLINE static V load(const float* p) { return _mm512_load_ps(p); }
  SVERTKA_AVX512_INLINE static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  SVERTKA_AVX512_INLINE static void store(float* p, V v) { _mm512_store_ps(p, v); }
  SVERTKA_AVX512_INLINE static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  SVERTKA_AVX512_INLINE static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  SVERTKA_AVX512_INLINE static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  SVERTKA_AVX512_INLINE static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
};
template <>
struct Vec512<double> {
  using V = __m512d;
  SVERTKA_AVX512_INLINE static V zero() { return _mm512_setzero_pd(); }
  SVERTKA_AVX512_INLINE static V set1(double x) { return _mm512_set1_pd(x); }
  SVERTKA_AVX512_INLINE static V load(const double* p) { return _mm512_load_pd(p); }
  SVERTKA_AVX512_INLINE static V loadu(const double* p) { return _mm512_loadu_pd(p); }
  SVERTKA_AVX512_INLINE static void store(double* p, V v) { _mm512_store_pd(p, v); }
  SVERTKA_AVX512_INLINE static void storeu(double* p, V v) { _mm512_storeu_pd(p, v); }
  SVERTKA_AVX512_INLINE static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  SVERTKA_AVX512_INLINE static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  SVERTKA_AVX512_INLINE static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
};
#endif  // SVERTKA_GEMM_AVX2

}  // namespace svertka::kernels::gemm_detail
