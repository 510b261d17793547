#include "support.hpp"

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(ops_binary)

// y[n,c,h,w] from the numpy broadcasting rule written out for rank 4 (size-1 dims stretch)
double at4(const sv::Tensor<double>& t, std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
  std::int64_t idx[4] = {n, c, h, w};
  const int off = 4 - t.rank();
  std::int64_t flat = 0;
  for (int d = 0; d < t.rank(); ++d) flat = flat * t.shape()[d] + (t.shape()[d] == 1 ? 0 : idx[d + off]);
  return t.data()[flat];
}

struct Pair {
  sv::Shape a, b;
};
const std::vector<Pair> pairs = {
    {{2, 3, 4, 5}, {2, 3, 4, 5}},  // same shape
    {{2, 3, 4, 5}, {}},            // scalar (rank 0)
    {{2, 3, 4, 5}, {1}},           // scalar (rank 1)
    {{2, 3, 4, 5}, {3, 1, 1}},     // per-channel bias
    {{2, 3, 4, 5}, {1, 3, 1, 1}},  // per-channel bias, rank 4
    {{2, 3, 4, 5}, {4, 5}},        // trailing block
    {{2, 3, 4, 5}, {2, 3, 1, 1}},  // leading block
    {{3, 1, 1}, {2, 3, 4, 5}},     // broadcast on the left operand
};

BOOST_AUTO_TEST_CASE(values_against_broadcasting_reference) {
  for (const Pair& p : pairs) {
    BOOST_TEST_CONTEXT(p.a.str() << " op " << p.b.str()) {
      auto a = random(p.a, 1, 0.5, 2), b = random(p.b, 2, 0.5, 2);
      auto va = tp::constant(a), vb = tp::constant(b);
      const sv::Tensor<double> ys[4] = {(va + vb).value(), (va - vb).value(), (va * vb).value(), (va / vb).value()};
      for (const auto& y : ys) BOOST_TEST(y.shape() == (sv::Shape{2, 3, 4, 5}));
      for (std::int64_t n = 0; n < 2; ++n)
        for (std::int64_t c = 0; c < 3; ++c)
          for (std::int64_t h = 0; h < 4; ++h)
            for (std::int64_t w = 0; w < 5; ++w) {
              const double x = at4(a, n, c, h, w), z = at4(b, n, c, h, w);
              BOOST_TEST(ys[0](n, c, h, w) == x + z);
              BOOST_TEST(ys[1](n, c, h, w) == x - z);
              BOOST_TEST(ys[2](n, c, h, w) == x * z);
              BOOST_TEST(ys[3](n, c, h, w) == x / z);
            }
    }
  }
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients_with_broadcasting) {
  for (const Pair& p : pairs) {
    BOOST_TEST_CONTEXT(p.a.str() << " op " << p.b.str()) {
      auto a = random(p.a, 3, 0.5, 2), b = random(p.b, 4, 0.5, 2);
      BOOST_TEST(gradcheck([](auto& v) { return v[0] + v[1]; }, {a, b}));
      BOOST_TEST(gradcheck([](auto& v) { return v[0] - v[1]; }, {a, b}));
      BOOST_TEST(gradcheck([](auto& v) { return v[0] * v[1]; }, {a, b}));
      BOOST_TEST(gradcheck([](auto& v) { return v[0] / v[1]; }, {a, b}));
    }
  }
}

BOOST_AUTO_TEST_CASE(large_broadcast_reduction_is_deterministic) {
  // the bias gradient of a big tensor sums over many elements: same bits at 1 and 2 threads
  const int saved = sv::num_threads();
  auto run = [](int threads) {
    sv::set_num_threads(threads);
    sv::Parameter<float> b(sv::Tensor<float>::zeros({16, 1, 1}));
    auto x = tp::constant(random<float>({8, 16, 64, 64}, 5));
    tp::sum(x * tp::param(b)).backward();
    tp::clear();
    return b.grad().clone();
  };
  auto g1 = run(1), g2 = run(2);
  sv::set_num_threads(saved);
  BOOST_TEST(std::memcmp(g1.data(), g2.data(), 16 * sizeof(float)) == 0);
}

BOOST_AUTO_TEST_CASE(incompatible_shapes_are_rejected) {
  auto a = tp::constant(sv::Tensor<double>::zeros({2, 3}));
  auto b = tp::constant(sv::Tensor<double>::zeros({4}));
  BOOST_CHECK_EXCEPTION(a + b, sv::ShapeError, message_has({"add", "[2,3]", "[4]", "cannot be broadcast"}));
  BOOST_CHECK_EXCEPTION(a * b, sv::ShapeError, message_has({"mul", "[2,3]", "[4]"}));
  // both operands broadcast at once (an outer product) is not supported
  auto c = tp::constant(sv::Tensor<double>::zeros({2, 1}));
  auto d = tp::constant(sv::Tensor<double>::zeros({1, 3}));
  BOOST_CHECK_EXCEPTION(c - d, sv::ShapeError, message_has({"sub", "[2,1]", "[1,3]"}));
  // a gap inside the block
  auto e = tp::constant(sv::Tensor<double>::zeros({2, 3, 4}));
  auto f = tp::constant(sv::Tensor<double>::zeros({2, 1, 4}));
  BOOST_CHECK_EXCEPTION(e / f, sv::ShapeError, message_has({"div", "[2,3,4]", "[2,1,4]"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
