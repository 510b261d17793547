#include "support.hpp"

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(ops_reshape)

BOOST_AUTO_TEST_CASE(values_and_views) {
  auto x = random({2, 3, 4, 5}, 1);
  auto v = tp::constant(x);
  auto f = tp::flatten(v).value();
  BOOST_TEST(f.shape() == (sv::Shape{2, 60}));
  BOOST_TEST(f.shares_storage(x));
  BOOST_TEST(f(1, 59) == x(1, 2, 3, 4));
  BOOST_TEST(f(0, 5) == x(0, 0, 1, 0));
  auto r = tp::reshape(v, {-1, 4}).value();
  BOOST_TEST(r.shape() == (sv::Shape{30, 4}));
  BOOST_TEST(tp::reshape(v, sv::Shape{120}).value()(119) == x(1, 2, 3, 4));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients) {
  auto x = random({2, 3, 4}, 2);
  auto w = random({2, 12}, 3);
  // weight the reshaped values so every element's gradient is distinct
  BOOST_TEST(gradcheck([](auto& v) { return tp::sum(tp::flatten(v[0]) * v[1]); }, {x, w}));
  BOOST_TEST(gradcheck([](auto& v) { return tp::reshape(v[0], {4, -1}); }, {x}));
}

BOOST_AUTO_TEST_CASE(bad_shapes_are_rejected) {
  auto v = tp::constant(sv::Tensor<double>::zeros({2, 3}));
  BOOST_CHECK_EXCEPTION(tp::reshape(v, sv::Shape{4, 2}), sv::ShapeError, message_has({"reshape", "[4,2]", "[2,3]"}));
  BOOST_CHECK_EXCEPTION(tp::flatten(tp::constant(sv::Tensor<double>::zeros({}))), sv::ShapeError,
                        message_has({"flatten", "rank"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
