// kernels::gemm against a naive triple loop, for float and double, every transpose combination, odd
// sizes (edge tiles in both directions, several k blocks), padded leading dimensions, alpha/beta
// combinations, and bit-identical results at 1, 2 and 3 threads.
#include <boost/test/unit_test.hpp>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "svertka/core/error.hpp"
#include "svertka/kernels/gemm.hpp"

namespace {

using svertka::kernels::gemm;
using svertka::kernels::Trans;
using i64 = std::int64_t;

using svertka::kernels::GemmIsa;
using svertka::kernels::gemm_isa;
using svertka::kernels::gemm_isa_supported;
using svertka::kernels::set_gemm_isa;
const GemmIsa all_isas[] = {GemmIsa::generic, GemmIsa::avx2, GemmIsa::avx512};

struct RestoreGemmIsa {
  ~RestoreGemmIsa() { set_gemm_isa(GemmIsa::automatic); }
};

struct RestoreGemmThreads {
  int saved = omp_get_max_threads();
  ~RestoreGemmThreads() { omp_set_num_threads(saved); }
};

template <class T>
std::vector<T> random_vector(i64 n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<T> u(T(-1), T(1));
  std::vector<T> v(static_cast<std::size_t>(std::max<i64>(n, 1)));
  for (auto& x : v) x = u(gen);
  return v;
}

// One problem, stored with `pad` extra elements at the end of every row of A, B and C.
template <class T>
struct Problem {
  Trans ta, tb;
  i64 M, N, K, pad;
  T alpha, beta;
  i64 lda() const { return (ta == Trans::no ? K : M) + pad; }
  i64 ldb() const { return (tb == Trans::no ? N : K) + pad; }
  i64 ldc() const { return N + pad; }
  i64 a_rows() const { return ta == Trans::no ? M : K; }
  i64 b_rows() const { return tb == Trans::no ? K : N; }
  std::string describe() const {
    std::ostringstream s;
    s << "ta=" << int(ta == Trans::yes) << " tb=" << int(tb == Trans::yes) << " M=" << M << " N=" << N << " K=" << K
      << " pad=" << pad << " alpha=" << alpha << " beta=" << beta;
    return s.str();
  }
};

constexpr double sentinel = 1234.5;  // in the padding of C: gemm must not touch it

// Runs gemm on random A and B and a C that is random (beta != 0) or all NaN (beta == 0), and compares
// every element with a reference accumulated in long double.
//
// Tolerance. Each term alpha·a_ik·b_kj (and beta·c_ij) of an element passes through at most K + 4
// roundings of precision T, whatever the blocking: at most kc in the FMA (or multiply + add) chain of
// its k block, one for alpha (and one for the product without FMA), one when the block is added to C,
// one per later k block, with kc + (number of k blocks) <= K + 1. So the classic bound gives
//   |C - C_exact| <= gamma_{K+4} · (|alpha| Σ_k |a_ik||b_kj| + |beta c_ij|),  gamma_n = n·u / (1 - n·u),
// u = eps/2 the unit roundoff of T. The long double reference (u = 2^-64) is off by a negligible
// fraction of that; the 1% margin covers it.
template <class T>
void check_against_reference(const Problem<T>& p, std::uint64_t seed) {
  BOOST_TEST_CONTEXT(p.describe()) {
    const auto A = random_vector<T>(p.a_rows() * p.lda(), seed);
    const auto B = random_vector<T>(p.b_rows() * p.ldb(), seed + 1);
    std::vector<T> C = random_vector<T>(p.M * p.ldc(), seed + 2);
    for (i64 i = 0; i < p.M; ++i)
      for (i64 j = 0; j < p.ldc(); ++j) {
        T& c = C[static_cast<std::size_t>(i * p.ldc() + j)];
        if (j >= p.N)
          c = T(sentinel);
        else if (p.beta == T(0))
          c = std::numeric_limits<T>::quiet_NaN();
      }
    const std::vector<T> C0 = C;

    gemm<T>(p.ta, p.tb, p.M, p.N, p.K, p.alpha, A.data(), p.lda(), B.data(), p.ldb(), p.beta, C.data(), p.ldc());

    auto a = [&](i64 i, i64 k) {
      return static_cast<long double>(p.ta == Trans::no ? A[static_cast<std::size_t>(i * p.lda() + k)]
                                                        : A[static_cast<std::size_t>(k * p.lda() + i)]);
    };
    auto b = [&](i64 k, i64 j) {
      return static_cast<long double>(p.tb == Trans::no ? B[static_cast<std::size_t>(k * p.ldb() + j)]
                                                        : B[static_cast<std::size_t>(j * p.ldb() + k)]);
    };
    const double u = std::numeric_limits<T>::epsilon() / 2;
    const double n = static_cast<double>(p.K + 4);
    const double gamma = 1.01 * n * u / (1 - n * u);
    i64 bad = 0, bad_padding = 0;
    double worst_ratio = 0;  // largest |error| / bound
    for (i64 i = 0; i < p.M; ++i) {
      for (i64 j = 0; j < p.N; ++j) {
        long double dot = 0, mag = 0;
        for (i64 k = 0; k < p.K; ++k) {
          dot += a(i, k) * b(k, j);
          mag += std::fabs(a(i, k) * b(k, j));
        }
        const std::size_t at = static_cast<std::size_t>(i * p.ldc() + j);
        long double ref = static_cast<long double>(p.alpha) * dot;
        long double bound = std::fabs(static_cast<long double>(p.alpha)) * mag;
        if (p.beta != T(0)) {
          ref += static_cast<long double>(p.beta) * static_cast<long double>(C0[at]);
          bound += std::fabs(static_cast<long double>(p.beta) * static_cast<long double>(C0[at]));
        }
        const double err = static_cast<double>(std::fabs(static_cast<long double>(C[at]) - ref));
        const double tol = gamma * static_cast<double>(bound);
        if (!std::isfinite(C[at]) || err > tol) ++bad;
        if (tol > 0) worst_ratio = std::max(worst_ratio, err / tol);
      }
      for (i64 j = p.N; j < p.ldc(); ++j)
        if (C[static_cast<std::size_t>(i * p.ldc() + j)] != T(sentinel)) ++bad_padding;
    }
    BOOST_TEST(bad == 0, bad << " elements outside the error bound (worst error/bound " << worst_ratio << ")");
    BOOST_TEST(bad_padding == 0, bad_padding << " padding elements of C were written");
  }
}

struct Sizes {
  i64 M, N, K;
};

// Odd sizes around the register tile (6 x 16 floats, 6 x 8 doubles) and the cache blocks, vectors
// (M or N = 1), several k blocks, and sizes above the threshold where OpenMP threads start — for
// the packed path and for the thin path (M = 1, K = 1, N = 1) alike.
const Sizes sizes[] = {{1, 1, 1},     {1, 17, 3},     {3, 1, 7},    {7, 3, 1},       {17, 63, 65},
                       {63, 65, 17},  {65, 130, 257}, {130, 7, 63}, {257, 65, 130},  {1, 257, 130},
                       {257, 1, 65},  {3, 7, 17},     {5, 33, 1000}, {300, 17, 70},  {2, 600, 257},
                       {1, 2000, 700}, {1500, 900, 1}, {1300, 1, 900}};

const Trans no = Trans::no, yes = Trans::yes;
const Trans transposes[][2] = {{no, no}, {no, yes}, {yes, no}, {yes, yes}};

using types = std::tuple<float, double>;

template <class T>
void check_thread_independence(Sizes size) {
  RestoreGemmThreads restore;
  const i64 M = size.M, N = size.N, K = size.K;
  const auto A = random_vector<T>(M * K, 11), B = random_vector<T>(K * N, 12), C0 = random_vector<T>(M * N, 13);
  for (const auto& t : transposes) {
    const i64 lda = t[0] == Trans::no ? K : M, ldb = t[1] == Trans::no ? N : K;
    std::vector<T> first;
    for (const int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<T> C = C0;
      gemm<T>(t[0], t[1], M, N, K, T(0.7), A.data(), lda, B.data(), ldb, T(0.5), C.data(), N);
      if (threads == 1) {
        first = C;
        continue;
      }
      BOOST_TEST_CONTEXT("M=" << M << " N=" << N << " K=" << K << " ta=" << int(t[0] == yes)
                              << " tb=" << int(t[1] == yes) << " threads=" << threads) {
        i64 differ = 0;  // bitwise: the same NaN-free values must have the same bits
        for (std::size_t i = 0; i < C.size(); ++i) differ += std::memcmp(&C[i], &first[i], sizeof(T)) != 0;
        BOOST_TEST(differ == 0, differ << " of " << C.size() << " elements differ from the 1-thread result");
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_gemm)

BOOST_AUTO_TEST_CASE_TEMPLATE(matches_the_naive_product, T, types) {
  struct AlphaBeta {
    T alpha, beta;
  };
  // beta 0 (on a NaN-filled C), beta 1 (accumulate), a general beta; alphas that round
  const AlphaBeta scalars[] = {{T(1), T(0)}, {T(-1.5), T(1)}, {T(0.3), T(0.5)}};
  RestoreGemmIsa restore;
  for (const GemmIsa isa : all_isas) {
    if (!gemm_isa_supported(isa)) continue;
    set_gemm_isa(isa);
    BOOST_TEST_CONTEXT("isa " << static_cast<int>(isa)) {
      std::uint64_t seed = 1;
      for (const auto& s : sizes)
        for (const auto& t : transposes)
          for (const auto& ab : scalars) {
            const i64 pad = (seed % 2) * 5;  // every other problem has row strides larger than the minimum
            check_against_reference(Problem<T>{t[0], t[1], s.M, s.N, s.K, pad, ab.alpha, ab.beta}, seed);
            seed += 3;
          }
    }
  }
}

// The AVX-512 kernels run each element's operations in the AVX2 kernels' order: identical results,
// on the packed path and on the three thin paths.
BOOST_AUTO_TEST_CASE_TEMPLATE(avx512_and_avx2_kernels_agree_bitwise, T, types) {
  if (!gemm_isa_supported(GemmIsa::avx512)) return;
  RestoreGemmIsa restore;
  struct Size {
    i64 M, N, K;
  };
  // packed: edge tiles in both directions, two k blocks; thin: a row (dots of 300 = 9 x 32 + 8 + 4),
  // an outer product (rows of 117 = 3 x 32 + 2 x 8 + 5) and a column
  const Size shapes[] = {{70, 100, 300}, {1, 117, 300}, {70, 117, 1}, {70, 1, 300}};
  for (const auto& [M, N, K] : shapes)
    for (const auto& t : transposes) {
      BOOST_TEST_CONTEXT("M=" << M << " N=" << N << " K=" << K << " ta=" << (t[0] == Trans::yes) << " tb=" << (t[1] == Trans::yes)) {
        const auto A = random_vector<T>(M * K, 21), B = random_vector<T>(K * N, 22), C0 = random_vector<T>(M * N, 23);
        const i64 lda = t[0] == Trans::no ? K : M, ldb = t[1] == Trans::no ? N : K;
        std::vector<T> C[2] = {C0, C0};
        for (int i = 0; i < 2; ++i) {
          set_gemm_isa(i == 0 ? GemmIsa::avx2 : GemmIsa::avx512);
          gemm<T>(t[0], t[1], M, N, K, T(0.7), A.data(), lda, B.data(), ldb, T(0.5), C[i].data(), N);
        }
        i64 differ = 0;
        for (std::size_t i = 0; i < C0.size(); ++i) differ += std::memcmp(&C[0][i], &C[1][i], sizeof(T)) != 0;
        BOOST_TEST(differ == 0, differ << " of " << C0.size() << " elements differ");
      }
    }
}

BOOST_AUTO_TEST_CASE(set_gemm_isa_refuses_what_the_cpu_lacks) {
  RestoreGemmIsa restore;
  for (const GemmIsa isa : all_isas) {
    if (gemm_isa_supported(isa)) {
      set_gemm_isa(isa);
      BOOST_TEST((gemm_isa() == isa));
    } else {
      BOOST_CHECK_THROW(set_gemm_isa(isa), svertka::OptionError);
    }
  }
  set_gemm_isa(GemmIsa::automatic);
  BOOST_TEST((gemm_isa() != GemmIsa::automatic));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(k_zero_or_alpha_zero_scales_c_without_reading_a_and_b, T, types) {
  const i64 M = 7, N = 19, ldc = 23;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const std::vector<T> poison(64 * 64, nan);  // A and B: must not be read
  for (const i64 K : {i64{0}, i64{40}}) {
    const T alpha = K == 0 ? T(2) : T(0);
    for (const T beta : {T(0), T(1), T(0.5), T(-3)}) {
      BOOST_TEST_CONTEXT("K=" << K << " beta=" << beta) {
        std::vector<T> C = random_vector<T>(M * ldc, 7);
        if (beta == T(0)) std::fill(C.begin(), C.end(), nan);
        const std::vector<T> C0 = C;
        gemm<T>(Trans::no, Trans::yes, M, N, K, alpha, poison.data(), 64, poison.data(), 64, beta, C.data(), ldc);
        i64 bad = 0;
        for (i64 i = 0; i < M; ++i)
          for (i64 j = 0; j < ldc; ++j) {
            const std::size_t at = static_cast<std::size_t>(i * ldc + j);
            const bool in = j < N;
            if (!in && !(std::isnan(C[at]) && std::isnan(C0[at])) && C[at] != C0[at]) ++bad;
            if (in && C[at] != (beta == T(0) ? T(0) : beta * C0[at])) ++bad;  // one exact rounding
          }
        BOOST_TEST(bad == 0);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(empty_output_is_a_no_op, T, types) {
  std::vector<T> C(16, T(5));
  const std::vector<T> A(16, T(1));
  gemm<T>(Trans::no, Trans::no, 0, 4, 4, T(1), A.data(), 4, A.data(), 4, T(0), C.data(), 4);
  gemm<T>(Trans::yes, Trans::yes, 4, 0, 4, T(1), A.data(), 4, A.data(), 4, T(0), C.data(), 4);
  gemm<T>(Trans::no, Trans::no, 0, 0, 0, T(1), nullptr, 0, nullptr, 0, T(0), nullptr, 0);
  for (T c : C) BOOST_TEST(c == T(5));
}

BOOST_AUTO_TEST_CASE(bad_sizes_and_strides_throw) {
  std::vector<float> x(100, 1.0f);
  using svertka::ShapeError;
  auto call = [&](i64 M, i64 N, i64 K, Trans ta, Trans tb, i64 lda, i64 ldb, i64 ldc) {
    gemm<float>(ta, tb, M, N, K, 1.0f, x.data(), lda, x.data(), ldb, 0.0f, x.data(), ldc);
  };
  BOOST_CHECK_THROW(call(-1, 2, 2, no, no, 2, 2, 2), ShapeError);
  BOOST_CHECK_THROW(call(2, 2, -3, no, no, 2, 2, 2), ShapeError);
  BOOST_CHECK_THROW(call(2, 3, 4, no, no, 3, 3, 3), ShapeError);   // lda < K
  BOOST_CHECK_THROW(call(2, 3, 4, yes, no, 1, 3, 3), ShapeError);  // lda < M for Aᵀ
  BOOST_CHECK_THROW(call(2, 3, 4, no, yes, 4, 3, 3), ShapeError);  // ldb < K for Bᵀ
  BOOST_CHECK_THROW(call(2, 3, 4, no, no, 4, 3, 2), ShapeError);   // ldc < N
  BOOST_CHECK_NO_THROW(call(2, 3, 4, no, no, 4, 3, 3));
}

// Packed, then thin (row, outer, column) problems large enough to run on several threads.
BOOST_AUTO_TEST_CASE(results_do_not_depend_on_the_thread_count) {
  for (const Sizes size : {Sizes{300, 200, 500}, Sizes{1, 3000, 700}, Sizes{2000, 900, 1}, Sizes{1500, 1, 800}}) {
    check_thread_independence<float>(size);
    check_thread_independence<double>(size);
  }
}

BOOST_AUTO_TEST_SUITE_END()
