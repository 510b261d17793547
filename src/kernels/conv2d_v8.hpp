#pragma once
// Internal to the convolution kernels: V8<T>, the 256-bit vector operations (8 floats or 4 doubles)
// the AVX2 policy in conv2d_isa.hpp is written with, and the AVX2 target attributes.

#include "conv2d_impl.hpp"

#ifdef SVERTKA_CONV_X86
#include <immintrin.h>

namespace svertka::kernels::conv {

#define SVERTKA_CONV_AVX2 __attribute__((target("avx2,fma")))
#define SVERTKA_CONV_AVX2_INLINE __attribute__((target("avx2,fma"), always_inline)) inline

template <class T>
struct V8;
template <>
struct V8<float> {
  using V = __m256;
  SVERTKA_CONV_AVX2_INLINE static V zero() { return _mm256_setzero_ps(); }
  SVERTKA_CONV_AVX2_INLINE static V load(const float* p) { return _mm256_load_ps(p); }
  SVERTKA_CONV_AVX2_INLINE static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  SVERTKA_CONV_AVX2_INLINE static void store(float* p, V v) { _mm256_store_ps(p, v); }
  SVERTKA_CONV_AVX2_INLINE static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  SVERTKA_CONV_AVX2_INLINE static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  SVERTKA_CONV_AVX2_INLINE static V set1(float x) { return _mm256_set1_ps(x); }
  SVERTKA_CONV_AVX2_INLINE static V add(V a, V b) { return _mm256_add_ps(a, b); }
  SVERTKA_CONV_AVX2_INLINE static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // the lanes of one vector of a panel whose offsets are at `off` (8 × i32): mask = off ≥ 0
  SVERTKA_CONV_AVX2_INLINE static __m256i mask(const i32* off) {
    return _mm256_cmpgt_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(off)), _mm256_set1_epi32(-1));
  }
  SVERTKA_CONV_AVX2_INLINE static V maskload(const float* p, __m256i m) { return _mm256_maskload_ps(p, m); }
  // lanes l with 0 ≤ start + l < len
  SVERTKA_CONV_AVX2_INLINE static __m256i range(i64 start, i64 len) {
    const __m256i j = _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(static_cast<i32>(start)));
    return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_setzero_si256(), j),
                               _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<i32>(len)), j));
  }
  SVERTKA_CONV_AVX2_INLINE static V and_(V a, __m256i m) { return _mm256_and_ps(a, _mm256_castsi256_ps(m)); }
  // b's lanes where m is set, a's elsewhere
  SVERTKA_CONV_AVX2_INLINE static V blend(V a, V b, __m256i m) { return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(m)); }
  SVERTKA_CONV_AVX2_INLINE static void maskstore(float* p, __m256i m, V v) { _mm256_maskstore_ps(p, m, v); }
  SVERTKA_CONV_AVX2_INLINE static V gather(const float* p, const i32* off) {
    const __m256i idx = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(off));
    const __m256i m = _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(-1));
    return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p, idx, _mm256_castsi256_ps(m), 4);
  }
  // the sums of v0..v3, added to o[0..3]
  SVERTKA_CONV_AVX2_INLINE static void add_sums4(float* o, V v0, V v1, V v2, V v3) {
    const V t = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    _mm_storeu_ps(o, _mm_add_ps(_mm_loadu_ps(o), s));
  }
};
template <>
struct V8<double> {
  using V = __m256d;
  SVERTKA_CONV_AVX2_INLINE static V zero() { return _mm256_setzero_pd(); }
  SVERTKA_CONV_AVX2_INLINE static V load(const double* p) { return _mm256_load_pd(p); }
  SVERTKA_CONV_AVX2_INLINE static V loadu(const double* p) { return _mm256_loadu_pd(p); }
  SVERTKA_CONV_AVX2_INLINE static void store(double* p, V v) { _mm256_store_pd(p, v); }
  SVERTKA_CONV_AVX2_INLINE static void storeu(double* p, V v) { _mm256_storeu_pd(p, v); }
  SVERTKA_CONV_AVX2_INLINE static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  SVERTKA_CONV_AVX2_INLINE static V set1(double x) { return _mm256_set1_pd(x); }
  SVERTKA_CONV_AVX2_INLINE static V add(V a, V b) { return _mm256_add_pd(a, b); }
  SVERTKA_CONV_AVX2_INLINE static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  SVERTKA_CONV_AVX2_INLINE static __m256i mask(const i32* off) {
    const __m128i m = _mm_cmpgt_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(off)), _mm_set1_epi32(-1));
    return _mm256_cvtepi32_epi64(m);
  }
  SVERTKA_CONV_AVX2_INLINE static V maskload(const double* p, __m256i m) { return _mm256_maskload_pd(p, m); }
  SVERTKA_CONV_AVX2_INLINE static __m256i range(i64 start, i64 len) {
    const __m256i j = _mm256_add_epi64(_mm256_setr_epi64x(0, 1, 2, 3), _mm256_set1_epi64x(start));
    return _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_setzero_si256(), j), _mm256_cmpgt_epi64(_mm256_set1_epi64x(len), j));
  }
  SVERTKA_CONV_AVX2_INLINE static V and_(V a, __m256i m) { return _mm256_and_pd(a, _mm256_castsi256_pd(m)); }
  SVERTKA_CONV_AVX2_INLINE static V blend(V a, V b, __m256i m) { return _mm256_blendv_pd(a, b, _mm256_castsi256_pd(m)); }
  SVERTKA_CONV_AVX2_INLINE static void maskstore(double* p, __m256i m, V v) { _mm256_maskstore_pd(p, m, v); }
  SVERTKA_CONV_AVX2_INLINE static V gather(const double* p, const i32* off) {
    const __m128i idx = _mm_loadu_si128(reinterpret_cast<const __m128i*>(off));
    const __m256i m = _mm256_cvtepi32_epi64(_mm_cmpgt_epi32(idx, _mm_set1_epi32(-1)));
    return _mm256_mask_i32gather_pd(_mm256_setzero_pd(), p, idx, _mm256_castsi256_pd(m), 8);
  }
  SVERTKA_CONV_AVX2_INLINE static void add_sums4(double* o, V v0, V v1, V v2, V v3) {
    const V t0 = _mm256_hadd_pd(v0, v1), t1 = _mm256_hadd_pd(v2, v3);
    const V s = _mm256_add_pd(_mm256_permute2f128_pd(t0, t1, 0x20), _mm256_permute2f128_pd(t0, t1, 0x31));
    _mm256_storeu_pd(o, _mm256_add_pd(_mm256_loadu_pd(o), s));
  }
};

}  // namespace svertka::kernels::conv

#endif  // SVERTKA_CONV_X86
