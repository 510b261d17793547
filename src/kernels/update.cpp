// Optimizer updates (see svertka/kernels/update.hpp). The AVX2 versions compute each weight with the
// same two roundings as the portable loop (a product, then a difference: no FMA contraction), so the
// weights are bit-identical on every CPU; only the double-precision sum of squared changes is
// accumulated in a different order (sixteen lanes in four vectors, then the tail).

#include "svertka/kernels/update.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SVERTKA_UPDATE_AVX2 1
#endif

namespace svertka::kernels {
namespace {

using i64 = std::int64_t;

template <class T>
double sgd_generic(i64 n, T eta, T wd, T* w, const T* g, i64 from) {
  double sum_sq = 0;
  for (i64 i = from; i < n; ++i) {
    const T old = w[i];
    const T d = wd != T(0) ? g[i] + wd * old : g[i];
    const T prod = eta * d;
    w[i] = old - prod;
    const double delta = static_cast<double>(w[i] - old);
    sum_sq += delta * delta;
  }
  return sum_sq;
}

#ifdef SVERTKA_UPDATE_AVX2
// 16 floats per iteration into four double accumulators (independent add chains).
__attribute__((target("avx2"))) double sgd_avx2(i64 n, float eta, float wd, float* w, const float* g) {
  const __m256 ve = _mm256_set1_ps(eta), vwd = _mm256_set1_ps(wd);
  __m256d s[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  i64 i = 0;
  for (; i + 16 <= n; i += 16)
    for (int h = 0; h < 2; ++h) {
      const __m256 old = _mm256_loadu_ps(w + i + 8 * h);
      __m256 d = _mm256_loadu_ps(g + i + 8 * h);
      if (wd != 0.0f) d = _mm256_add_ps(d, _mm256_mul_ps(vwd, old));
      const __m256 now = _mm256_sub_ps(old, _mm256_mul_ps(ve, d));
      _mm256_storeu_ps(w + i + 8 * h, now);
      const __m256 delta = _mm256_sub_ps(now, old);
      const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(delta));
      const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(delta, 1));
      s[2 * h] = _mm256_add_pd(s[2 * h], _mm256_mul_pd(lo, lo));
      s[2 * h + 1] = _mm256_add_pd(s[2 * h + 1], _mm256_mul_pd(hi, hi));
    }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])));
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + sgd_generic(n, eta, wd, w, g, i);
}

__attribute__((target("avx2"))) double sgd_avx2(i64 n, double eta, double wd, double* w, const double* g) {
  const __m256d ve = _mm256_set1_pd(eta), vwd = _mm256_set1_pd(wd);
  __m256d s[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  i64 i = 0;
  for (; i + 16 <= n; i += 16)
    for (int h = 0; h < 4; ++h) {
      const __m256d old = _mm256_loadu_pd(w + i + 4 * h);
      __m256d d = _mm256_loadu_pd(g + i + 4 * h);
      if (wd != 0.0) d = _mm256_add_pd(d, _mm256_mul_pd(vwd, old));
      const __m256d now = _mm256_sub_pd(old, _mm256_mul_pd(ve, d));
      _mm256_storeu_pd(w + i + 4 * h, now);
      const __m256d delta = _mm256_sub_pd(now, old);
      s[h] = _mm256_add_pd(s[h], _mm256_mul_pd(delta, delta));
    }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])));
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + sgd_generic(n, eta, wd, w, g, i);
}

bool has_avx2() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return yes;
}
#endif

}  // namespace

template <class T>
double sgd_update(i64 n, T eta, T weight_decay, T* w, const T* g) {
#ifdef SVERTKA_UPDATE_AVX2
  if (has_avx2()) return sgd_avx2(n, eta, weight_decay, w, g);
#endif
  return sgd_generic(n, eta, weight_decay, w, g, 0);
}

template double sgd_update<float>(i64, float, float, float*, const float*);
template double sgd_update<double>(i64, double, double, double*, const double*);

}  // namespace svertka::kernels
