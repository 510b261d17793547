#include "support.hpp"

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(ops_mse_loss)

BOOST_AUTO_TEST_CASE(values) {
  auto p = random({3, 4}, 1), t = random({3, 4}, 2);
  double s = 0;
  for (std::int64_t i = 0; i < 12; ++i) s += (p.data()[i] - t.data()[i]) * (p.data()[i] - t.data()[i]);
  BOOST_TEST(tp::mse_loss(tp::constant(p), tp::constant(t)).value().item() == s / 12, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(tp::mse_loss(tp::constant(p), tp::constant(t), sv::Reduction::sum).value().item() == s,
             boost::test_tools::tolerance(1e-14));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients) {
  auto p = random({3, 4}, 3), t = random({3, 4}, 4);
  BOOST_TEST(gradcheck([](auto& v) { return tp::mse_loss(v[0], v[1]); }, {p, t}));
  BOOST_TEST(gradcheck([](auto& v) { return tp::mse_loss(v[0], v[1], sv::Reduction::sum); }, {p, t}));
}

BOOST_AUTO_TEST_CASE(bad_shapes_are_rejected) {
  auto p = tp::constant(sv::Tensor<double>::zeros({3, 4}));
  auto t = tp::constant(sv::Tensor<double>::zeros({4, 3}));
  BOOST_CHECK_EXCEPTION(tp::mse_loss(p, t), sv::ShapeError, message_has({"mse_loss", "[3,4]", "[4,3]"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
