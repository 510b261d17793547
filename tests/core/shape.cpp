#include "support.hpp"

using namespace svtest;

BOOST_AUTO_TEST_SUITE(core_shape)

BOOST_AUTO_TEST_CASE(constexpr_use) {
  constexpr sv::Shape s{2, 3, 4};
  static_assert(s.rank() == 3 && s.numel() == 24 && s[1] == 3 && s.dim(-1) == 4);
  static_assert(s == sv::Shape{2, 3, 4} && !(s == sv::Shape{2, 3}) && !(s == sv::Shape{2, 3, 5}));
  static_assert(sv::Shape{}.numel() == 1 && sv::Shape{}.rank() == 0);
  static_assert(s.product(1, 3) == 12);
  BOOST_TEST(s.str() == "[2,3,4]");
  BOOST_TEST(fmt::format("{}", sv::Shape{5}) == "[5]");
  BOOST_TEST(fmt::format("{}", sv::Shape{}) == "[]");
}

BOOST_AUTO_TEST_CASE(invalid_shapes_throw) {
  BOOST_CHECK_EXCEPTION((sv::Shape{1, 2, 3, 4, 5, 6, 7}), sv::ShapeError, message_has({"rank above 6"}));
  BOOST_CHECK_EXCEPTION((sv::Shape{2, -1}), sv::ShapeError, message_has({"negative"}));
  const sv::Shape s{2, 3};
  BOOST_CHECK_EXCEPTION(s[2], sv::ShapeError, message_has({"out of range"}));
  BOOST_CHECK_EXCEPTION(s.dim(-3), sv::ShapeError, message_has({"out of range"}));
}

BOOST_AUTO_TEST_SUITE_END()
