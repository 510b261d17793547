// Thin products: M == 1 (a row vector times a matrix), K == 1 (an outer product) and N == 1 with op(A)
// stored by rows (a matrix times a column vector). There each operand element is used once or M
// times at most, so packing would cost as much as the arithmetic: these go straight over the
// operands with dot products and axpys. A strided vector operand is first copied into a contiguous
// per-thread buffer (kept between calls). Threads split the output into fixed contiguous ranges and
// every output element is computed by the same operations whatever the split.

#include <omp.h>

#include <algorithm>
#include <vector>

#include "gemm_internal.hpp"

namespace svertka::kernels::gemm_detail {
namespace {

// The vector loops of the thin path. Generic: plain loops in a fixed order.
struct ThinGeneric {
  template <class T>
  SVERTKA_INLINE static T dot(i64 n, const T* a, const T* b) {
    T s[4] = {};
    i64 k = 0;
    for (; k + 4 <= n; k += 4)
      for (i64 l = 0; l < 4; ++l) s[l] += a[k + l] * b[k + l];
    T r = (s[0] + s[1]) + (s[2] + s[3]);
    for (; k < n; ++k) r += a[k] * b[k];
    return r;
  }
  template <class T>
  SVERTKA_INLINE static void axpy(i64 n, T s, const T* x, T* y) {
    for (i64 j = 0; j < n; ++j) y[j] += s * x[j];
  }
};

#ifdef SVERTKA_GEMM_AVX2
struct ThinAvx2 {
  // Four vector accumulators, combined pairwise, then the lanes in order, then the scalar tail.
  template <class T>
  SVERTKA_AVX2 static T dot(i64 n, const T* a, const T* b) {
    using X = Vec<T>;
    using V = typename X::V;
    constexpr i64 w = 32 / static_cast<i64>(sizeof(T));
    V s0 = X::zero(), s1 = X::zero(), s2 = X::zero(), s3 = X::zero();
    i64 k = 0;
    for (; k + 4 * w <= n; k += 4 * w) {
      s0 = X::fma(X::loadu(a + k), X::loadu(b + k), s0);
      s1 = X::fma(X::loadu(a + k + w), X::loadu(b + k + w), s1);
      s2 = X::fma(X::loadu(a + k + 2 * w), X::loadu(b + k + 2 * w), s2);
      s3 = X::fma(X::loadu(a + k + 3 * w), X::loadu(b + k + 3 * w), s3);
    }
    return dot_finish(k, n, a, b, s0, s1, s2, s3);
  }
  // From element k on: whole vectors into s0, then s0..s3 combined pairwise, the lanes in order, and
  // the scalar tail (shared with the AVX-512 dot, which hands over its halves here).
  template <class T, class V>
  SVERTKA_AVX2_INLINE static T dot_finish(i64 k, i64 n, const T* a, const T* b, V s0, V s1, V s2, V s3) {
    using X = Vec<T>;
    constexpr i64 w = 32 / static_cast<i64>(sizeof(T));
    for (; k + w <= n; k += w) s0 = X::fma(X::loadu(a + k), X::loadu(b + k), s0);
    alignas(32) T lanes[w];
    X::storeu(lanes, X::add(X::add(s0, s1), X::add(s2, s3)));
    T r = 0;
    for (i64 l = 0; l < w; ++l) r += lanes[l];
    for (; k < n; ++k) r += a[k] * b[k];
    return r;
  }
  template <class T>
  SVERTKA_AVX2 static void axpy(i64 n, T s, const T* x, T* y) {
    using X = Vec<T>;
    constexpr i64 w = 32 / static_cast<i64>(sizeof(T));
    const auto vs = X::set1(s);
    i64 j = 0;
    for (; j + 2 * w <= n; j += 2 * w) {
      X::storeu(y + j, X::fma(vs, X::loadu(x + j), X::loadu(y + j)));
      X::storeu(y + j + w, X::fma(vs, X::loadu(x + j + w), X::loadu(y + j + w)));
    }
    axpy_from(j, n, s, x, y);
  }
  // From element j on: whole vectors, then the scalar tail (shared with the AVX-512 axpy).
  template <class T>
  SVERTKA_AVX2_INLINE static void axpy_from(i64 j, i64 n, T s, const T* x, T* y) {
    using X = Vec<T>;
    constexpr i64 w = 32 / static_cast<i64>(sizeof(T));
    const auto vs = X::set1(s);
    for (; j + w <= n; j += w) X::storeu(y + j, X::fma(vs, X::loadu(x + j), X::loadu(y + j)));
    for (; j < n; ++j) y[j] += s * x[j];
  }
};
// AVX-512: the same operations as ThinAvx2 on the same elements, two 256-bit halves per register, so
// the results match it bit for bit: dot's accumulators s0|s1 and s2|s3 are the halves of two 512-bit
// accumulators, split before the tail; axpy is elementwise.
struct ThinAvx512 {
  template <class T>
  SVERTKA_AVX512 static T dot(i64 n, const T* a, const T* b) {
    using Z = Vec512<T>;
    using X = Vec<T>;
    constexpr i64 w = 32 / static_cast<i64>(sizeof(T));  // lanes of a 256-bit half
    typename Z::V s01 = Z::zero(), s23 = Z::zero();
    i64 k = 0;
    for (; k + 4 * w <= n; k += 4 * w) {
      s01 = Z::fma(Z::loadu(a + k), Z::loadu(b + k), s01);
      s23 = Z::fma(Z::loadu(a + k + 2 * w), Z::loadu(b + k + 2 * w), s23);
    }
    alignas(64) T halves[4 * w];
    Z::store(halves, s01);
    Z::store(halves + 2 * w, s23);
    return ThinAvx2::dot_finish(k, n, a, b, X::load(halves), X::load(halves + w), X::load(halves + 2 * w),
                                X::load(halves + 3 * w));
  }
  template <class T>
  SVERTKA_AVX512 static void axpy(i64 n, T s, const T* x, T* y) {
    using Z = Vec512<T>;
    constexpr i64 w = 32 / static_cast<i64>(sizeof(T));
    const auto zs = Z::set1(s);
    i64 j = 0;
    for (; j + 4 * w <= n; j += 4 * w) {
      Z::storeu(y + j, Z::fma(zs, Z::loadu(x + j), Z::loadu(y + j)));
      Z::storeu(y + j + 2 * w, Z::fma(zs, Z::loadu(x + j + 2 * w), Z::loadu(y + j + 2 * w)));
    }
    ThinAvx2::axpy_from(j, n, s, x, y);
  }
};
#endif

enum class ThinCase { none, row, outer, column };

template <class T>
ThinCase thin_case(const Problem<T>& p) {
  if (p.M == 1) return ThinCase::row;
  if (p.K == 1) return ThinCase::outer;
  if (p.N == 1 && p.ta == Trans::no) return ThinCase::column;
  return ThinCase::none;
}

// out = beta·out + alpha·v, without reading out when beta == 0.
template <class T>
T combine(T v, T alpha, T beta, const T* out) {
  return beta == T(0) ? alpha * v : alpha * v + beta * *out;
}

// The thin product on outputs [lo, hi) of its parallel dimension (N for `row`, M otherwise); `vec` is
// the contiguous vector operand: op(A)'s row (row), op(B)'s row (outer) or op(B)'s column (column).
template <class Ops, class T>
void thin_range(const Problem<T>& p, ThinCase c, const T* vec, i64 lo, i64 hi) {
  if (c == ThinCase::row) {
    T* out = p.C;
    if (p.tb == Trans::yes) {  // B is [N, K]: one dot product per output
      for (i64 j = lo; j < hi; ++j) out[j] = combine(Ops::dot(p.K, vec, p.B + j * p.ldb), p.alpha, p.beta, out + j);
      return;
    }
    scale_c(i64{1}, hi - lo, p.beta, out + lo, p.ldc);  // B is [K, N]: rows of B added into C
    for (i64 k = 0; k < p.K; ++k) Ops::axpy(hi - lo, p.alpha * vec[k], p.B + k * p.ldb + lo, out + lo);
  } else if (c == ThinCase::outer) {
    for (i64 i = lo; i < hi; ++i) {
      T* out = p.C + i * p.ldc;
      const T a = p.ta == Trans::no ? p.A[i * p.lda] : p.A[i];
      scale_c(i64{1}, p.N, p.beta, out, p.ldc);
      Ops::axpy(p.N, p.alpha * a, vec, out);
    }
  } else {  // column: op(A) = A is [M, K] by rows
    for (i64 i = lo; i < hi; ++i) {
      T* out = p.C + i * p.ldc;
      *out = combine(Ops::dot(p.K, p.A + i * p.lda, vec), p.alpha, p.beta, out);
    }
  }
}

template <class T>
using ThinRunner = void (*)(const Problem<T>& p, ThinCase c, const T* vec, i64 lo, i64 hi);

template <class T>
__attribute__((flatten)) void thin_generic(const Problem<T>& p, ThinCase c, const T* vec, i64 lo, i64 hi) {
  thin_range<ThinGeneric>(p, c, vec, lo, hi);
}

#ifdef SVERTKA_GEMM_AVX2
template <class T>
SVERTKA_AVX2 __attribute__((flatten)) void thin_avx2(const Problem<T>& p, ThinCase c, const T* vec, i64 lo, i64 hi) {
  thin_range<ThinAvx2>(p, c, vec, lo, hi);
}
template <class T>
SVERTKA_AVX512 __attribute__((flatten)) void thin_avx512(const Problem<T>& p, ThinCase c, const T* vec, i64 lo,
                                                              i64 hi) {
  thin_range<ThinAvx512>(p, c, vec, lo, hi);
}
#endif

template <class T>
ThinRunner<T> thin_runner(GemmIsa isa) {
#ifdef SVERTKA_GEMM_AVX2
  if (isa == GemmIsa::avx512) return &thin_avx512<T>;
  if (isa != GemmIsa::generic) return &thin_avx2<T>;
#endif
  static_cast<void>(isa);
  return &thin_generic<T>;
}

// The vector operand of a thin product, contiguous: a pointer into A or B when it already is, else a
// copy in `buffer`.
template <class T>
const T* thin_vector(const Problem<T>& p, ThinCase c, std::vector<T>& buffer) {
  const T* src;
  i64 n, stride;
  if (c == ThinCase::row) {  // op(A)[0, k]
    src = p.A, n = p.K, stride = p.ta == Trans::no ? 1 : p.lda;
  } else if (c == ThinCase::outer) {  // op(B)[0, j]
    src = p.B, n = p.N, stride = p.tb == Trans::no ? 1 : p.ldb;
  } else {  // op(B)[k, 0]
    src = p.B, n = p.K, stride = p.tb == Trans::no ? p.ldb : 1;
  }
  if (stride == 1) return src;
  if (static_cast<i64>(buffer.size()) < n) buffer.resize(static_cast<std::size_t>(n));
  for (i64 k = 0; k < n; ++k) buffer[static_cast<std::size_t>(k)] = src[k * stride];
  return buffer.data();
}

template <class T>
void run_thin(const Problem<T>& p, ThinCase c, bool parallel) {
  const ThinRunner<T> run = thin_runner<T>(current_isa());
  thread_local std::vector<T> buffer;
  const T* vec = thin_vector(p, c, buffer);
  const i64 n = c == ThinCase::row ? p.N : p.M;
  if (!parallel) return run(p, c, vec, 0, n);
#pragma omp parallel
  {
    const i64 parts = omp_get_num_threads(), id = omp_get_thread_num();
    const i64 lo = std::min(n, ceil_div(n * id / parts, i64{16}) * 16);
    const i64 hi = id + 1 == parts ? n : std::min(n, ceil_div(n * (id + 1) / parts, i64{16}) * 16);
    if (lo < hi) run(p, c, vec, lo, hi);
  }
}

}  // namespace

template <class T>
bool try_thin(const Problem<T>& p, bool parallel) {
  const ThinCase c = thin_case(p);
  if (c == ThinCase::none) return false;
  run_thin(p, c, parallel);
  return true;
}

template bool try_thin<float>(const Problem<float>&, bool);
template bool try_thin<double>(const Problem<double>&, bool);

}  // namespace svertka::kernels::gemm_detail
