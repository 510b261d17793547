#include "support.hpp"

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(ops_linear)

BOOST_AUTO_TEST_CASE(values_in_pytorch_layout) {
  const std::int64_t N = 5, in = 7, out = 3;
  auto x = random({N, in}, 1), w = random({out, in}, 2), b = random({out}, 3);
  auto y = tp::linear(tp::constant(x), tp::constant(w), tp::constant(b)).value();
  auto y0 = tp::linear(tp::constant(x), tp::constant(w)).value();
  BOOST_TEST(y.shape() == (sv::Shape{N, out}));
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < out; ++o) {
      double ref = 0;
      for (std::int64_t i = 0; i < in; ++i) ref += x(n, i) * w(o, i);
      BOOST_TEST(y0(n, o) == ref, boost::test_tools::tolerance(1e-13));
      BOOST_TEST(y(n, o) == ref + b(o), boost::test_tools::tolerance(1e-13));
    }
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients) {
  auto x = random({4, 6}, 4), w = random({3, 6}, 5), b = random({3}, 6);
  BOOST_TEST(gradcheck([](auto& v) { return tp::linear(v[0], v[1], v[2]); }, {x, w, b}));
  BOOST_TEST(gradcheck([](auto& v) { return tp::linear(v[0], v[1]); }, {x, w}));
}

BOOST_AUTO_TEST_CASE(frozen_weight_gets_no_gradient_work) {
  // a constant weight: only the input's gradient is computed
  sv::Parameter<double> x(random({2, 3}, 7));
  auto w = tp::constant(random({4, 3}, 8));
  auto y = tp::linear(tp::param(x), w);
  tp::sum(y).backward();
  BOOST_TEST(!w.requires_grad());
  BOOST_TEST(!w.grad().defined());
  for (std::int64_t i = 0; i < 3; ++i) {
    double col = 0;
    for (std::int64_t o = 0; o < 4; ++o) col += w.value()(o, i);
    BOOST_TEST(x.grad()(0, i) == col, boost::test_tools::tolerance(1e-14));
  }
  tp::clear();
}

BOOST_AUTO_TEST_CASE(bad_shapes_are_rejected) {
  auto x = tp::constant(sv::Tensor<double>::zeros({2, 3}));
  auto w = tp::constant(sv::Tensor<double>::zeros({4, 5}));
  BOOST_CHECK_EXCEPTION(tp::linear(x, w), sv::ShapeError, message_has({"linear", "3 features", "expects 5", "[2,3]", "[4,5]"}));
  auto w2 = tp::constant(sv::Tensor<double>::zeros({4, 3}));
  auto b = tp::constant(sv::Tensor<double>::zeros({5}));
  BOOST_CHECK_EXCEPTION(tp::linear(x, w2, b), sv::ShapeError, message_has({"linear", "bias", "[4]", "[5]"}));
  auto x3 = tp::constant(sv::Tensor<double>::zeros({2, 3, 1}));
  BOOST_CHECK_EXCEPTION(tp::linear(x3, w2), sv::ShapeError, message_has({"linear", "input", "[2,3,1]"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
