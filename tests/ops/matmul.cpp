#include "support.hpp"

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(ops_matmul)

sv::Tensor<double> naive_matmul(const sv::Tensor<double>& a, const sv::Tensor<double>& b) {
  const auto M = a.dim(0), K = a.dim(1), N = b.dim(1);
  auto y = sv::Tensor<double>::zeros({M, N});
  for (std::int64_t i = 0; i < M; ++i)
    for (std::int64_t j = 0; j < N; ++j)
      for (std::int64_t k = 0; k < K; ++k) y(i, j) += a(i, k) * b(k, j);
  return y;
}

BOOST_AUTO_TEST_CASE(values) {
  for (auto [M, K, N] : {std::array<std::int64_t, 3>{1, 1, 1}, {3, 5, 7}, {17, 64, 9}, {70, 33, 130}}) {
    auto a = random({M, K}, 1), b = random({K, N}, 2);
    auto y = tp::matmul(tp::constant(a), tp::constant(b)).value();
    BOOST_TEST(max_abs_diff(y, naive_matmul(a, b)) < 1e-12);
  }
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients) {
  auto a = random({4, 3}, 3), b = random({3, 5}, 4);
  BOOST_TEST(gradcheck([](auto& v) { return tp::matmul(v[0], v[1]); }, {a, b}));
}

BOOST_AUTO_TEST_CASE(bad_shapes_are_rejected) {
  auto a = tp::constant(sv::Tensor<double>::zeros({2, 3}));
  auto b = tp::constant(sv::Tensor<double>::zeros({4, 5}));
  BOOST_CHECK_EXCEPTION(tp::matmul(a, b), sv::ShapeError, message_has({"matmul: inner dimensions differ (a: [2,3], b: [4,5])"}));
  auto c = tp::constant(sv::Tensor<double>::zeros({3}));
  BOOST_CHECK_EXCEPTION(tp::matmul(a, c), sv::ShapeError, message_has({"matmul", "matrices", "[3]"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
