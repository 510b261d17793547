#include "support.hpp"

#include <cmath>
#include <functional>
#include <limits>

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(ops_unary)

struct Case {
  const char* name;
  std::function<tp::Var<double>(const tp::Var<double>&)> f;
  std::function<double(double)> ref;  // written out independently of ops/unary.hpp
  double lo, hi;                      // input range (log, sqrt, pow need x > 0)
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"neg", [](auto& x) { return -x; }, [](double x) { return -x; }, -2, 2},
      {"exp", [](auto& x) { return tp::exp(x); }, [](double x) { return std::exp(x); }, -2, 2},
      {"log", [](auto& x) { return tp::log(x); }, [](double x) { return std::log(x); }, 0.2, 3},
      {"relu", [](auto& x) { return tp::relu(x); }, [](double x) { return x > 0 ? x : 0.0; }, -2, 2},
      {"tanh", [](auto& x) { return tp::tanh(x); }, [](double x) { return std::tanh(x); }, -2, 2},
      {"sigmoid", [](auto& x) { return tp::sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); }, -4, 4},
      {"square", [](auto& x) { return tp::square(x); }, [](double x) { return x * x; }, -2, 2},
      {"sqrt", [](auto& x) { return tp::sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.2, 3},
      {"pow", [](auto& x) { return tp::pow(x, 2.5); }, [](double x) { return std::pow(x, 2.5); }, 0.2, 3},
      {"x+s", [](auto& x) { return x + 1.5; }, [](double x) { return x + 1.5; }, -2, 2},
      {"s-x", [](auto& x) { return 1.5 - x; }, [](double x) { return 1.5 - x; }, -2, 2},
      {"x*s", [](auto& x) { return 3.0 * x; }, [](double x) { return 3 * x; }, -2, 2},
      {"x/s", [](auto& x) { return x / 4.0; }, [](double x) { return x / 4; }, -2, 2},
      {"s/x", [](auto& x) { return 2.0 / x; }, [](double x) { return 2 / x; }, 0.5, 2},
  };
  return c;
}

BOOST_AUTO_TEST_CASE(values_match_reference) {
  for (const Case& c : cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      auto x = random({3, 4, 5}, 1, c.lo, c.hi);
      auto y = c.f(tp::constant(x)).value();
      BOOST_TEST(y.shape() == x.shape());
      for (std::int64_t i = 0; i < x.numel(); ++i) BOOST_TEST(y.data()[i] == c.ref(x.data()[i]), boost::test_tools::tolerance(1e-15));
    }
  }
  tp::clear();
}

BOOST_AUTO_TEST_CASE(float_path_matches_reference) {
  // float path of each op, against the double reference within float rounding
  auto x = random<float>({1000}, 3, 0.2, 3);
  auto check = [&](auto y, auto ref) {
    for (std::int64_t i = 0; i < x.numel(); ++i)
      BOOST_TEST(y.value().data()[i] == static_cast<float>(ref(static_cast<double>(x.data()[i]))),
                 boost::test_tools::tolerance(2e-6f));
  };
  auto v = tp::constant(x);
  check(tp::exp(v), [](double t) { return std::exp(t); });
  check(tp::log(v), [](double t) { return std::log(t); });
  check(tp::tanh(v), [](double t) { return std::tanh(t); });
  check(tp::sigmoid(v), [](double t) { return 1 / (1 + std::exp(-t)); });
  check(tp::sqrt(v), [](double t) { return std::sqrt(t); });
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients) {
  for (const Case& c : cases()) {
    BOOST_TEST_CONTEXT(c.name) {
      auto x = random({2, 3, 4}, 4, c.lo, c.hi);
      if (std::string(c.name) == "relu")  // keep away from the kink at 0, where differences are meaningless
        for (double& v : x) v += v > 0 ? 0.05 : -0.05;
      BOOST_TEST(gradcheck([&](auto& v) { return c.f(v[0]); }, {x}));
    }
  }
}

BOOST_AUTO_TEST_CASE(relu_gradient_at_zero_is_zero) {
  sv::Parameter<double> p(sv::Tensor<double>::from({3}, {-1.0, 0.0, 2.0}));
  tp::sum(tp::relu(tp::param(p))).backward();
  BOOST_TEST(p.grad()(0) == 0.0);
  BOOST_TEST(p.grad()(1) == 0.0);  // PyTorch's choice at the kink
  BOOST_TEST(p.grad()(2) == 1.0);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(relu_backward_selects_rather_than_multiplies) {
  // ∂L/∂y passes where x > 0 and is dropped elsewhere, even when infinite or NaN (PyTorch's rule);
  // a product ∂L/∂y · [x > 0] would give NaN at the first two
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  sv::Parameter<double> p(sv::Tensor<double>::from({4}, {-1.0, 0.0, 2.0, 3.0}));
  tp::relu(tp::param(p)).backward(sv::Tensor<double>::from({4}, {inf, nan, -4.0, inf}));
  BOOST_TEST(p.grad()(0) == 0.0);
  BOOST_TEST(p.grad()(1) == 0.0);
  BOOST_TEST(p.grad()(2) == -4.0);
  BOOST_TEST(p.grad()(3) == inf);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(sigmoid_is_stable_for_large_inputs) {
  auto x = sv::Tensor<double>::from({2}, {-800.0, 800.0});
  auto y = tp::sigmoid(tp::constant(x)).value();
  BOOST_TEST(y(0) == 0.0);
  BOOST_TEST(y(1) == 1.0);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(undefined_input_is_rejected) {
  BOOST_CHECK_EXCEPTION(tp::relu(tp::constant(sv::Tensor<double>{})), sv::ShapeError,
                        message_has({"relu", "undefined"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
