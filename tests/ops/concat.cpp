#include "support.hpp"

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(ops_concat)

BOOST_AUTO_TEST_CASE(values_along_channels) {
  auto a = random({2, 3, 4, 5}, 1), b = random({2, 2, 4, 5}, 2);
  auto y = tp::concat(tp::constant(a), tp::constant(b)).value();
  BOOST_TEST(y.shape() == (sv::Shape{2, 5, 4, 5}));
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 5; ++c)
      for (std::int64_t h = 0; h < 4; ++h)
        for (std::int64_t w = 0; w < 5; ++w) BOOST_TEST(y(n, c, h, w) == (c < 3 ? a(n, c, h, w) : b(n, c - 3, h, w)));
  auto f = tp::concat(tp::constant(random({3, 2}, 3)), tp::constant(random({3, 4}, 4))).value();
  BOOST_TEST(f.shape() == (sv::Shape{3, 6}));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients) {
  auto a = random({2, 3, 2, 2}, 5), b = random({2, 1, 2, 2}, 6);
  BOOST_TEST(gradcheck([](auto& v) { return tp::concat(v[0], v[1]); }, {a, b}));
}

BOOST_AUTO_TEST_CASE(bad_shapes_are_rejected) {
  auto a = tp::constant(sv::Tensor<double>::zeros({2, 3, 4, 4}));
  auto b = tp::constant(sv::Tensor<double>::zeros({2, 3, 4, 5}));
  BOOST_CHECK_EXCEPTION(tp::concat(a, b), sv::ShapeError, message_has({"concat", "[2,3,4,4]", "[2,3,4,5]"}));
  auto c = tp::constant(sv::Tensor<double>::zeros({2}));
  BOOST_CHECK_EXCEPTION(tp::concat(c, c), sv::ShapeError, message_has({"concat", "[2]"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
