#include "support.hpp"

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(ops_reduce)

BOOST_AUTO_TEST_CASE(sum_and_mean_of_all) {
  auto x = random({3, 4, 5}, 1);
  double s = 0;
  for (double v : x) s += v;
  auto v = tp::constant(x);
  BOOST_TEST(tp::sum(v).value().shape() == sv::Shape{});
  BOOST_TEST(tp::sum(v).value().item() == s, boost::test_tools::tolerance(1e-13));
  BOOST_TEST(tp::mean(v).value().item() == s / 60, boost::test_tools::tolerance(1e-13));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(over_an_axis) {
  auto x = random({3, 4, 5}, 2);
  auto v = tp::constant(x);
  for (int axis : {0, 1, 2, -1}) {
    BOOST_TEST_CONTEXT("axis " << axis) {
      const int a = axis < 0 ? axis + 3 : axis;
      auto y = tp::sum(v, axis).value();
      auto m = tp::mean(v, axis).value();
      BOOST_TEST(y.rank() == 2);
      for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t j = 0; j < 4; ++j)
          for (std::int64_t k = 0; k < 5; ++k) {
            // recompute the reduced entry each time: naive, independent of the kernel's order
            double ref = 0;
            const std::int64_t n = x.shape()[a];
            for (std::int64_t r = 0; r < n; ++r) ref += a == 0 ? x(r, j, k) : a == 1 ? x(i, r, k) : x(i, j, r);
            const double got = a == 0 ? y(j, k) : a == 1 ? y(i, k) : y(i, j);
            const double gotm = a == 0 ? m(j, k) : a == 1 ? m(i, k) : m(i, j);
            BOOST_TEST(got == ref, boost::test_tools::tolerance(1e-13));
            BOOST_TEST(gotm == ref / static_cast<double>(n), boost::test_tools::tolerance(1e-13));
          }
    }
  }
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients) {
  auto x = random({3, 4, 5}, 3);
  BOOST_TEST(gradcheck([](auto& v) { return tp::sum(v[0]); }, {x}));
  BOOST_TEST(gradcheck([](auto& v) { return tp::mean(v[0]); }, {x}));
  for (int axis : {0, 1, 2, -2}) {
    BOOST_TEST(gradcheck([axis](auto& v) { return tp::sum(v[0], axis); }, {x}));
    BOOST_TEST(gradcheck([axis](auto& v) { return tp::mean(v[0], axis); }, {x}));
  }
}

BOOST_AUTO_TEST_CASE(bad_axis_is_rejected) {
  auto v = tp::constant(sv::Tensor<double>::zeros({3, 4}));
  BOOST_CHECK_EXCEPTION(tp::sum(v, 2), sv::ShapeError, message_has({"sum", "axis 2", "rank 2", "[3,4]"}));
  BOOST_CHECK_EXCEPTION(tp::mean(v, -3), sv::ShapeError, message_has({"mean", "axis -3"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
