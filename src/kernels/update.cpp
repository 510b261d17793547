// Optimizer updates (see svertka/kernels/update.hpp). The vector versions (AVX2; AVX-512 for float)
// compute each weight with the same roundings as the portable loop (a product, then a difference: no
// FMA contraction), so the weights are bit-identical on every CPU; only the sum of squared changes is
// accumulated differently (AVX2: in double, lanes in four vectors, then the tail; AVX-512: see below).
// This file is compiled with -ffp-contract=off (src/meson.build): with AVX-512 enabled the compiler
// could otherwise fuse a product and a difference into one FMA, rounding once instead of twice.

#include "svertka/kernels/update.hpp"

#include <algorithm>
#include <type_traits>

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

template <class T>
double momentum_generic(i64 n, const MomentumStep<T>& m, T* w, const T* g, T* b, i64 from) {
  double sum_sq = 0;
  for (i64 i = from; i < n; ++i) {
    const T old = w[i];
    const T d = m.weight_decay != T(0) ? g[i] + m.weight_decay * old : g[i];
    b[i] = m.first ? d : b[i] * m.momentum + m.keep * d;
    const T dir = m.nesterov ? d + m.momentum * b[i] : b[i];
    const T prod = m.eta * dir;
    w[i] = old - prod;
    const double delta = static_cast<double>(w[i] - old);
    sum_sq += delta * delta;
  }
  return sum_sq;
}

#ifdef SVERTKA_UPDATE_AVX2
// 256-bit vectors of T: the operations the momentum update needs.
template <class T>
struct V8;
template <>
struct V8<float> {
  using V = __m256;
  static constexpr i64 lanes = 8;
  __attribute__((target("avx2"), always_inline)) static V load(const float* p) { return _mm256_loadu_ps(p); }
  __attribute__((target("avx2"), always_inline)) static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  __attribute__((target("avx2"), always_inline)) static V set1(float x) { return _mm256_set1_ps(x); }
  __attribute__((target("avx2"), always_inline)) static V add(V a, V b) { return _mm256_add_ps(a, b); }
  __attribute__((target("avx2"), always_inline)) static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  __attribute__((target("avx2"), always_inline)) static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  // Σ of squares of the lanes, into two double accumulators
  __attribute__((target("avx2"), always_inline)) static void square_into(V d, __m256d& s0, __m256d& s1) {
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(d)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));
    s0 = _mm256_add_pd(s0, _mm256_mul_pd(lo, lo));
    s1 = _mm256_add_pd(s1, _mm256_mul_pd(hi, hi));
  }
};
template <>
struct V8<double> {
  using V = __m256d;
  static constexpr i64 lanes = 4;
  __attribute__((target("avx2"), always_inline)) static V load(const double* p) { return _mm256_loadu_pd(p); }
  __attribute__((target("avx2"), always_inline)) static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  __attribute__((target("avx2"), always_inline)) static V set1(double x) { return _mm256_set1_pd(x); }
  __attribute__((target("avx2"), always_inline)) static V add(V a, V b) { return _mm256_add_pd(a, b); }
  __attribute__((target("avx2"), always_inline)) static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  __attribute__((target("avx2"), always_inline)) static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  __attribute__((target("avx2"), always_inline)) static void square_into(V d, __m256d& s0, __m256d&) {
    s0 = _mm256_add_pd(s0, _mm256_mul_pd(d, d));
  }
};

// The same operations as momentum_generic, a vector at a time (two in flight).
template <class T>
__attribute__((target("avx2"))) double momentum_avx2(i64 n, const MomentumStep<T>& m, T* w, const T* g, T* b) {
  using X = V8<T>;
  using V = typename X::V;
  constexpr i64 L = X::lanes;
  const V eta = X::set1(m.eta), wd = X::set1(m.weight_decay), mu = X::set1(m.momentum), keep = X::set1(m.keep);
  __m256d s[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  i64 i = 0;
  for (; i + 2 * L <= n; i += 2 * L)
    for (int h = 0; h < 2; ++h) {
      const i64 j = i + h * L;
      const V old = X::load(w + j);
      V d = X::load(g + j);
      if (m.weight_decay != T(0)) d = X::add(d, X::mul(wd, old));
      const V nb = m.first ? d : X::add(X::mul(X::load(b + j), mu), X::mul(keep, d));
      X::store(b + j, nb);
      const V dir = m.nesterov ? X::add(d, X::mul(mu, nb)) : nb;
      const V now = X::sub(old, X::mul(eta, dir));
      X::store(w + j, now);
      X::square_into(X::sub(now, old), s[2 * h], s[2 * h + 1]);
    }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])));
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + momentum_generic(n, m, w, g, b, i);
}

// The same operations as sgd_generic, a vector at a time (two in flight).
template <class T>
__attribute__((target("avx2"))) double sgd_avx2(i64 n, T eta, T wd, T* w, const T* g) {
  using X = V8<T>;
  using V = typename X::V;
  constexpr i64 L = X::lanes;
  const V ve = X::set1(eta), vwd = X::set1(wd);
  __m256d s[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
  i64 i = 0;
  for (; i + 2 * L <= n; i += 2 * L)
    for (int h = 0; h < 2; ++h) {
      const i64 j = i + h * L;
      const V old = X::load(w + j);
      V d = X::load(g + j);
      if (wd != T(0)) d = X::add(d, X::mul(vwd, old));
      const V now = X::sub(old, X::mul(ve, d));
      X::store(w + j, now);
      X::square_into(X::sub(now, old), s[2 * h], s[2 * h + 1]);
    }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])));
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + sgd_generic(n, eta, wd, w, g, i);
}

// AVX-512, float: sixteen lanes. The squared changes are summed in float within blocks of 1024 elements (32 terms per lane) and the block
// sums in double: converting every change to double halved this loop's speed, and a float partial sum
// of 32 terms is within about 2e-6 relative.
#define SVERTKA_UPDATE_AVX512 __attribute__((target("avx512f"), always_inline)) inline
struct Z16 {
  using V = __m512;
  SVERTKA_UPDATE_AVX512 static V load(const float* p) { return _mm512_loadu_ps(p); }
  SVERTKA_UPDATE_AVX512 static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  SVERTKA_UPDATE_AVX512 static V set1(float x) { return _mm512_set1_ps(x); }
  SVERTKA_UPDATE_AVX512 static V add(V a, V b) { return _mm512_add_ps(a, b); }
  SVERTKA_UPDATE_AVX512 static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  SVERTKA_UPDATE_AVX512 static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
};

// One SGD step on the 16 weights at j; returns their changes.
struct SgdZ16 {
  float* w;
  const float* g;
  __m512 eta, wd;
  bool decay;
  SVERTKA_UPDATE_AVX512 __m512 operator()(i64 j) const {
    const __m512 old = Z16::load(w + j);
    __m512 d = Z16::load(g + j);
    if (decay) d = Z16::add(d, Z16::mul(wd, old));
    const __m512 now = Z16::sub(old, Z16::mul(eta, d));
    Z16::store(w + j, now);
    return Z16::sub(now, old);
  }
};

// One momentum step on the 16 weights and buffer values at j; returns the weights' changes.
struct MomentumZ16 {
  const MomentumStep<float>& m;
  float* w;
  const float* g;
  float* b;
  __m512 eta, wd, mu, keep;
  SVERTKA_UPDATE_AVX512 __m512 operator()(i64 j) const {
    const __m512 old = Z16::load(w + j);
    __m512 d = Z16::load(g + j);
    if (m.weight_decay != 0.0f) d = Z16::add(d, Z16::mul(wd, old));
    const __m512 nb = m.first ? d : Z16::add(Z16::mul(Z16::load(b + j), mu), Z16::mul(keep, d));
    Z16::store(b + j, nb);
    const __m512 dir = m.nesterov ? Z16::add(d, Z16::mul(mu, nb)) : nb;
    const __m512 now = Z16::sub(old, Z16::mul(eta, dir));
    Z16::store(w + j, now);
    return Z16::sub(now, old);
  }
};

// Runs `step` over [0, n) two vectors at a time and returns Σ change² (blocked as above) and, in
// `done`, where the vector part stopped.
template <class Step>
__attribute__((target("avx512f"))) double run_z16(i64 n, const Step& step, i64& done) {
  constexpr i64 block = 1024;
  double total = 0;
  i64 i = 0;
  while (i + 32 <= n) {
    const i64 stop = i + std::min(block, (n - i) / 32 * 32);
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    for (; i < stop; i += 32) {
      const __m512 d0 = step(i), d1 = step(i + 16);
      s0 = _mm512_fmadd_ps(d0, d0, s0);
      s1 = _mm512_fmadd_ps(d1, d1, s1);
    }
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, _mm512_add_ps(s0, s1));
    for (const float l : lanes) total += static_cast<double>(l);
  }
  done = i;
  return total;
}

__attribute__((target("avx512f"))) double sgd_avx512(i64 n, float eta, float wd, float* w, const float* g) {
  i64 done = 0;
  const double sum = run_z16(n, SgdZ16{w, g, Z16::set1(eta), Z16::set1(wd), wd != 0.0f}, done);
  return sum + sgd_generic(n, eta, wd, w, g, done);
}

__attribute__((target("avx512f"))) double momentum_avx512(i64 n, const MomentumStep<float>& m, float* w,
                                                          const float* g, float* b) {
  i64 done = 0;
  const MomentumZ16 step{m, w, g, b, Z16::set1(m.eta), Z16::set1(m.weight_decay), Z16::set1(m.momentum),
                         Z16::set1(m.keep)};
  const double sum = run_z16(n, step, done);
  return sum + momentum_generic(n, m, w, g, b, done);
}

bool has_avx2() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return yes;
}

bool has_avx512() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return yes;
}
#endif

}  // namespace

template <class T>
double sgd_update(i64 n, T eta, T weight_decay, T* w, const T* g) {
#ifdef SVERTKA_UPDATE_AVX2
  if constexpr (std::is_same_v<T, float>)
    if (has_avx512()) return sgd_avx512(n, eta, weight_decay, w, g);
  if (has_avx2()) return sgd_avx2(n, eta, weight_decay, w, g);
#endif
  return sgd_generic(n, eta, weight_decay, w, g, 0);
}

template <class T>
double momentum_update(i64 n, const MomentumStep<T>& m, T* w, const T* g, T* buffer) {
#ifdef SVERTKA_UPDATE_AVX2
  if constexpr (std::is_same_v<T, float>)
    if (has_avx512()) return momentum_avx512(n, m, w, g, buffer);
  if (has_avx2()) return momentum_avx2(n, m, w, g, buffer);
#endif
  return momentum_generic(n, m, w, g, buffer, 0);
}

template double sgd_update<float>(i64, float, float, float*, const float*);
template double momentum_update<float>(i64, const MomentumStep<float>&, float*, const float*, float*);
template double momentum_update<double>(i64, const MomentumStep<double>&, double*, const double*, double*);
template double sgd_update<double>(i64, double, double, double*, const double*);

}  // namespace svertka::kernels
