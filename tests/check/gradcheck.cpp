#include "support.hpp"

using namespace svtest;
namespace tp = svertka::tape;

namespace {
// An op whose backward is deliberately wrong (it forgets the factor 2 of d(x²)/dx): gradcheck must
// catch it.
struct BrokenSquare {
  static constexpr std::string_view name = "broken_square";
  constexpr sv::Shape output_shape(const sv::Shape& x) const { return x; }
  template <class T>
  sv::ops::NoSaved forward(const sv::Tensor<T>& x, sv::Tensor<T>& y) const {
    for (std::int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] * x.data()[i];
    return {};
  }
  template <class T>
  void backward(const sv::ops::NoSaved&, const sv::Tensor<T>& x, const sv::Tensor<T>&, const sv::Tensor<T>& gy,
                sv::Tensor<T>* gx) const {
    if (gx)
      for (std::int64_t i = 0; i < x.numel(); ++i) gx->data()[i] += gy.data()[i] * x.data()[i];
  }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(check_gradcheck)

BOOST_AUTO_TEST_CASE(a_wrong_gradient_fails_and_is_located) {
  auto x = sv::Tensor<double>::from({2, 2}, {0.5, -1.0, 2.0, 3.0});
  for (bool fast : {false, true}) {
    const auto r = sv::check::gradcheck([](auto& v) { return tp::sum(tp::apply(BrokenSquare{}, v[0])); }, {x},
                                        {.fast = fast});
    BOOST_TEST(!r.passed);
    BOOST_TEST(r.reason.find("differ") != std::string::npos);
    if (!fast) {
      BOOST_TEST(r.inputs[0].worst == 3);  // the largest |x| has the largest error
      BOOST_TEST(r.inputs[0].analytic == 3.0, boost::test_tools::tolerance(1e-12));
      BOOST_TEST(r.inputs[0].numeric == 6.0, boost::test_tools::tolerance(1e-6));
      const std::string text = fmt::format("{}", r);
      BOOST_TEST(text.find("FAILED") != std::string::npos);
      BOOST_TEST(text.find("worst at (1,1)") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_right_gradient_passes_in_both_modes) {
  auto x = random({3, 4}, 1);
  for (bool fast : {false, true}) {
    const auto r = sv::check::gradcheck([](auto& v) { return tp::tanh(v[0]) * v[0]; }, {x}, {.fast = fast});
    BOOST_TEST(r.passed);
    BOOST_TEST(fmt::format("{}", r).find("PASSED") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(an_all_zero_gradient_fails_unless_expected) {
  auto x = sv::Tensor<double>::from({3}, {-1.0, -2.0, -3.0});  // relu is flat here
  const auto r = sv::check::gradcheck([](auto& v) { return tp::sum(tp::relu(v[0])); }, {x});
  BOOST_TEST(!r.passed);
  BOOST_TEST(r.reason.find("every checked gradient is zero") != std::string::npos);
  BOOST_TEST(r.inputs[0].zero);
  BOOST_TEST(fmt::format("{}", r).find("all zero") != std::string::npos);
  BOOST_TEST(sv::check::gradcheck([](auto& v) { return tp::sum(tp::relu(v[0])); }, {x}, {.expect_zero = true}).passed);
}

BOOST_AUTO_TEST_CASE(non_finite_gradients_fail) {
  auto x = sv::Tensor<double>::from({2}, {0.0, 1.0});
  const auto r = sv::check::gradcheck([](auto& v) { return tp::sum(tp::sqrt(v[0])); }, {x});
  BOOST_TEST(!r.passed);
  BOOST_TEST(!r.inputs[0].finite);
}

BOOST_AUTO_TEST_CASE(bad_options_are_rejected) {
  auto x = random({2}, 1);
  auto f = [](auto& v) { return tp::sum(v[0]); };
  BOOST_CHECK_EXCEPTION(sv::check::gradcheck(f, {x}, {.eps = 0}), sv::OptionError, message_has({"gradcheck", "eps"}));
  BOOST_CHECK_EXCEPTION(sv::check::gradcheck(f, {}, {}), sv::OptionError, message_has({"gradcheck", "no inputs"}));
}

BOOST_AUTO_TEST_SUITE_END()
