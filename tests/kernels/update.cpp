// The optimizer update kernels against plain scalar loops written here: the same operations in the
// same order, so the weights and buffers must match bit for bit (the kernels promise that on every
// instruction set); the sum of squared changes to a relative 1e-12 in double. In float the AVX-512
// kernels square and sum in float within blocks of 32 terms per lane: each square and each addition
// rounds by at most 2^-24 relative, so 32 of them stay below 32 · 6e-8 ≈ 1.9e-6; the test allows 4e-6.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <tuple>
#include <type_traits>
#include <vector>

#include "svertka/kernels/update.hpp"

namespace {

using i64 = std::int64_t;
namespace k = svertka::kernels;

template <class T>
std::vector<T> random_values(i64 n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<T>(u(gen));
  return v;
}

template <class T>
i64 bitwise_differences(const std::vector<T>& a, const std::vector<T>& b) {
  i64 d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
  return d;
}

using types = std::tuple<float, double>;
// shorter than a vector, tails, whole vector blocks, several 1024-element norm blocks and a tail
const i64 lengths[] = {1, 7, 16, 33, 1000, 2500};

template <class T>
constexpr double norm_tolerance = std::is_same_v<T, float> ? 4e-6 : 1e-12;

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels_update)

BOOST_AUTO_TEST_CASE_TEMPLATE(sgd_matches_the_scalar_rule, T, types) {
  for (const i64 n : lengths)
    for (const T wd : {T(0), T(0.01)}) {
      BOOST_TEST_CONTEXT("n=" << n << " weight_decay=" << wd) {
        auto w = random_values<T>(n, 1), g = random_values<T>(n, 2);
        auto ref = w;
        const T eta = T(0.037);
        double ref_sq = 0;
        for (i64 i = 0; i < n; ++i) {
          const T old = ref[i];
          const T d = wd != T(0) ? g[i] + wd * old : g[i];
          const T step = eta * d;
          ref[i] = old - step;
          ref_sq += static_cast<double>(ref[i] - old) * static_cast<double>(ref[i] - old);
        }
        const double sq = k::sgd_update<T>(n, eta, wd, w.data(), g.data());
        BOOST_TEST(bitwise_differences(w, ref) == 0);
        BOOST_TEST(std::abs(sq - ref_sq) <= norm_tolerance<T> * ref_sq);
        BOOST_TEST(sq > 0.0);
      }
    }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(momentum_matches_the_scalar_rule, T, types) {
  for (const i64 n : lengths)
    for (const bool nesterov : {false, true})
      for (const bool first : {true, false})
        for (const T wd : {T(0), T(0.01)}) {
          BOOST_TEST_CONTEXT("n=" << n << " nesterov=" << nesterov << " first=" << first << " wd=" << wd) {
            auto w = random_values<T>(n, 3), g = random_values<T>(n, 4), b = random_values<T>(n, 5);
            auto rw = w, rb = b;
            const k::MomentumStep<T> m{T(0.05), wd, T(0.9), T(0.75), nesterov, first};
            double ref_sq = 0;
            for (i64 i = 0; i < n; ++i) {
              const T old = rw[i];
              const T d = wd != T(0) ? g[i] + wd * old : g[i];
              rb[i] = first ? d : rb[i] * m.momentum + m.keep * d;
              const T dir = nesterov ? d + m.momentum * rb[i] : rb[i];
              const T step = m.eta * dir;
              rw[i] = old - step;
              ref_sq += static_cast<double>(rw[i] - old) * static_cast<double>(rw[i] - old);
            }
            const double sq = k::momentum_update<T>(n, m, w.data(), g.data(), b.data());
            BOOST_TEST(bitwise_differences(w, rw) == 0);
            BOOST_TEST(bitwise_differences(b, rb) == 0);
            BOOST_TEST(std::abs(sq - ref_sq) <= norm_tolerance<T> * ref_sq);
          }
        }
}

BOOST_AUTO_TEST_SUITE_END()
