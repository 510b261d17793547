#include "support.hpp"

#include <cmath>

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(ops_log_softmax)

BOOST_AUTO_TEST_CASE(values) {
  auto x = random({4, 6}, 1, -3, 3);
  auto y = tp::log_softmax(tp::constant(x)).value();
  for (std::int64_t n = 0; n < 4; ++n) {
    double z = 0;
    for (std::int64_t c = 0; c < 6; ++c) z += std::exp(x(n, c));
    for (std::int64_t c = 0; c < 6; ++c) BOOST_TEST(y(n, c) == x(n, c) - std::log(z), boost::test_tools::tolerance(1e-13));
  }
  tp::clear();
}

BOOST_AUTO_TEST_CASE(stable_for_large_logits) {
  auto x = sv::Tensor<float>::from({1, 3}, {1000.0f, 1000.0f, -1000.0f});
  auto y = tp::log_softmax(tp::constant(x)).value();
  BOOST_TEST(y(0, 0) == -std::log(2.0f), boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(std::isfinite(y(0, 2)));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients) {
  auto x = random({3, 5}, 2, -2, 2);
  BOOST_TEST(gradcheck([](auto& v) { return tp::log_softmax(v[0]); }, {x}));
  auto x3 = random({2, 3, 4}, 3, -2, 2);  // over the last axis of a rank-3 input
  BOOST_TEST(gradcheck([](auto& v) { return tp::log_softmax(v[0]); }, {x3}));
}

BOOST_AUTO_TEST_CASE(bad_shapes_are_rejected) {
  BOOST_CHECK_EXCEPTION(tp::log_softmax(tp::constant(sv::Tensor<double>::zeros({3, 0}))), sv::ShapeError,
                        message_has({"log_softmax", "[3,0]"}));
  BOOST_CHECK_EXCEPTION(tp::log_softmax(tp::constant(sv::Tensor<double>::zeros({}))), sv::ShapeError,
                        message_has({"log_softmax"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
