// SGD (with weight decay), Momentum, Nesterov, Adam and AdamW against PyTorch 1.13's trajectories on a
// fixed problem (tests/data/make_optim_fixtures.py), their state dicts, and their option checks.
#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

using namespace svtest;
namespace opt = svertka::optim;

namespace {

const std::filesystem::path data_dir{SVERTKA_TEST_DATA_DIR};

//! Two parameters, w1 [2, 3] and w2 [4] (ten values), the gradient g = a (x x x) − b set by hand.
template <class T>
struct Problem {
  sv::Tensor<double> pab = sv::io::load_npy<double>(data_dir / "optim_problem.npy");  // rows x0, a, b
  std::vector<sv::Parameter<T>> params;

  Problem() {
    auto w1 = sv::Tensor<T>::empty({2, 3}), w2 = sv::Tensor<T>::empty({4});
    for (int i = 0; i < 10; ++i) at(w1, w2, i) = static_cast<T>(pab(0, i));
    params = {sv::Parameter<T>(w1), sv::Parameter<T>(w2)};
  }
  static T& at(sv::Tensor<T>& w1, sv::Tensor<T>& w2, int i) { return i < 6 ? w1.data()[i] : w2.data()[i - 6]; }
  T& value(int i) { return at(params[0].value(), params[1].value(), i); }
  T& grad(int i) { return at(params[0].grad(), params[1].grad(), i); }
  void fill_grads() {
    for (int i = 0; i < 10; ++i) {
      const T x = value(i);
      grad(i) = static_cast<T>(pab(1, i)) * (x * x * x) - static_cast<T>(pab(2, i));
    }
  }
  //! Steps `o` n times; returns the largest |x − ref| / max(1, |ref|) over the rows first+1..first+n.
  template <class O>
  double run(O& o, int n, const sv::Tensor<double>& ref, int first = 0) {
    double worst = 0;
    for (int s = first + 1; s <= first + n; ++s) {
      fill_grads();
      o.step(params);
      for (int i = 0; i < 10; ++i)
        worst = std::max(worst, std::abs(static_cast<double>(value(i)) - ref(s, i)) / std::max(1.0, std::abs(ref(s, i))));
    }
    return worst;
  }
};

sv::Tensor<double> fixture(const std::string& name) { return sv::io::load_npy<double>(data_dir / ("optim_" + name + ".npy")); }
constexpr int steps = 12;

template <class O>
void check_double(O o, const std::string& name) {
  Problem<double> p;
  const auto ref = fixture(name);
  BOOST_REQUIRE_EQUAL(ref.dim(0), steps + 1);
  const double err = p.run(o, steps, ref);
  BOOST_TEST(err < 1e-13, name << ": largest relative difference from PyTorch " << err);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(optim_pytorch)

BOOST_AUTO_TEST_CASE(sgd_with_weight_decay) { check_double(opt::SGD{0.1, {.weight_decay = 0.05}}, "sgd_wd"); }
BOOST_AUTO_TEST_CASE(momentum) { check_double(opt::Momentum{0.05, {.momentum = 0.9}}, "momentum"); }
BOOST_AUTO_TEST_CASE(momentum_dampening_weight_decay) {
  check_double(opt::Momentum{0.05, {.momentum = 0.8, .dampening = 0.3, .weight_decay = 0.01}}, "momentum_damp_wd");
}
BOOST_AUTO_TEST_CASE(nesterov) { check_double(opt::Nesterov{0.05, {.momentum = 0.9, .weight_decay = 0.01}}, "nesterov"); }
BOOST_AUTO_TEST_CASE(adam) { check_double(opt::Adam{0.01}, "adam"); }
BOOST_AUTO_TEST_CASE(adam_betas_eps_weight_decay) {
  check_double(opt::Adam{0.01, {.beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .weight_decay = 0.1}}, "adam_wd");
}
BOOST_AUTO_TEST_CASE(adamw) { check_double(opt::AdamW{0.01, {.weight_decay = 0.1}}, "adamw"); }

BOOST_AUTO_TEST_CASE(float_parameters_follow_the_same_path) {
  Problem<float> p;
  opt::Adam a{0.01};
  const double err = p.run(a, steps, fixture("adam"));
  BOOST_TEST(err < 1e-5, "float32 Adam: largest relative difference from PyTorch (float64) " << err);
  Problem<float> q;
  opt::Nesterov n{0.05, {.momentum = 0.9, .weight_decay = 0.01}};
  BOOST_TEST(q.run(n, steps, fixture("nesterov")) < 1e-5);
}

BOOST_AUTO_TEST_CASE(step_norm_is_the_change_of_the_parameters) {
  Problem<double> p;
  opt::Momentum m{0.05, {.momentum = 0.9}};
  std::vector<double> before(10);
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < 10; ++i) before[i] = p.value(i);
    p.fill_grads();
    m.step(p.params);
    double sq = 0;
    for (int i = 0; i < 10; ++i) sq += (p.value(i) - before[i]) * (p.value(i) - before[i]);
    BOOST_TEST(m.last_step_norm() == std::sqrt(sq), boost::test_tools::tolerance(1e-14));
  }
}

BOOST_AUTO_TEST_CASE(state_dict_continues_the_same_trajectory) {
  const auto ref = fixture("adamw");
  Problem<double> p;
  opt::AdamW first{0.01, {.weight_decay = 0.1}};
  BOOST_TEST(p.run(first, 5, ref) < 1e-13);
  const sv::TensorDict state = first.state_dict();
  BOOST_TEST(state.get_int("step", "test") == 5);
  BOOST_TEST(state.contains("exp_avg/1"));
  BOOST_TEST(state.contains("exp_avg_sq/0"));
  opt::AdamW second{0.01, {.weight_decay = 0.1}};
  second.load_state_dict(state);
  BOOST_TEST(second.steps() == 5);
  BOOST_TEST(p.run(second, steps - 5, ref, 5) < 1e-13);
  // the saved state is a snapshot: stepping did not change it
  opt::AdamW third{0.01, {.weight_decay = 0.1}};
  third.load_state_dict(state);
  BOOST_TEST(third.state_dict().get<double>("exp_avg/0", "test").data()[0] ==
             state.get<double>("exp_avg/0", "test").data()[0]);
}

BOOST_AUTO_TEST_CASE(mismatched_parameter_lists_are_rejected) {
  Problem<double> p;
  opt::Adam a{0.01};
  p.fill_grads();
  a.step(p.params);
  std::vector<sv::Parameter<double>> fewer{p.params[0]};
  BOOST_CHECK_EXCEPTION(a.step(fewer), sv::OptionError, message_has({"Adam::step", "1 parameters now, 2 before", "reset()"}));
  std::vector<sv::Parameter<double>> other{sv::Parameter<double>(p.params[0].value().clone()), p.params[1]};
  BOOST_CHECK_EXCEPTION(a.step(other), sv::OptionError, message_has({"Adam::step", "parameter 0", "[2,3]", "not the parameter"}));
  std::vector<sv::Parameter<double>> swapped{p.params[1], p.params[0]};
  BOOST_CHECK_EXCEPTION(a.step(swapped), sv::OptionError, message_has({"parameter 0", "[4]"}));
  std::vector<sv::Parameter<float>> floats{sv::Parameter<float>(sv::Tensor<float>::zeros({2, 3}))};
  BOOST_CHECK_EXCEPTION(a.step(floats), sv::OptionError, message_has({"Adam::step", "float32", "float64", "reset()"}));
  std::vector<sv::Parameter<double>> none;
  opt::SGD s{0.1};
  BOOST_CHECK_EXCEPTION(s.step(none), sv::OptionError, message_has({"SGD::step", "empty"}));
  // reset() starts over with new parameters
  a.reset();
  a.step(floats);
  BOOST_TEST(a.steps() == 1);
}

BOOST_AUTO_TEST_CASE(state_of_another_optimizer_or_shape_is_rejected) {
  Problem<double> p;
  opt::Adam a{0.01};
  p.fill_grads();
  a.step(p.params);
  opt::Momentum m{0.1};
  BOOST_CHECK_EXCEPTION(m.load_state_dict(a.state_dict()), sv::OptionError,
                        message_has({"Momentum::load_state_dict", "saved by Adam, not Momentum"}));
  // state for other shapes: the next step refuses the parameters and changes nothing
  Problem<double> q;
  std::vector<sv::Parameter<double>> wrong{sv::Parameter<double>(sv::Tensor<double>::zeros({6})), q.params[1]};
  opt::Adam b{0.01};
  b.load_state_dict(a.state_dict());
  BOOST_CHECK_EXCEPTION(b.step(wrong), sv::OptionError, message_has({"parameter 0 has shape [6]", "[2,3]"}));
  BOOST_TEST(b.steps() == 1);
  // a damaged dict leaves the optimizer as it was
  sv::TensorDict broken = a.state_dict();
  broken.set("exp_avg_sq/1", sv::Tensor<double>::zeros({5}));
  BOOST_CHECK_EXCEPTION(b.load_state_dict(broken), sv::OptionError, message_has({"exp_avg_sq/1", "[5]", "[4]"}));
  BOOST_TEST(b.steps() == 1);
}

BOOST_AUTO_TEST_CASE(bad_options_are_rejected) {
  BOOST_CHECK_EXCEPTION(opt::Momentum(0.1, {.momentum = 1.0}), sv::OptionError,
                        message_has({"Momentum", "momentum must be in [0, 1)", "got 1"}));
  BOOST_CHECK_EXCEPTION(opt::Momentum(0.1, {.momentum = -0.5}), sv::OptionError, message_has({"Momentum", "got -0.5"}));
  BOOST_CHECK_EXCEPTION(opt::Momentum(0.1, {.dampening = 1.5}), sv::OptionError, message_has({"dampening", "got 1.5"}));
  BOOST_CHECK_EXCEPTION(opt::Nesterov(0.1, {.momentum = 0.0}), sv::OptionError,
                        message_has({"Nesterov", "momentum must be in (0, 1)", "got 0"}));
  BOOST_CHECK_EXCEPTION(opt::Adam(0.1, {.beta1 = 1.0}), sv::OptionError, message_has({"Adam", "beta1", "got 1"}));
  BOOST_CHECK_EXCEPTION(opt::Adam(0.1, {.beta2 = -0.1}), sv::OptionError, message_has({"Adam", "beta2", "got -0.1"}));
  BOOST_CHECK_EXCEPTION(opt::AdamW(0.1, {.eps = -1e-8}), sv::OptionError, message_has({"AdamW", "eps", "got -1e-08"}));
  BOOST_CHECK_EXCEPTION(opt::AdamW(0.1, {.weight_decay = -1}), sv::OptionError, message_has({"AdamW", "weight_decay", "got -1"}));
  BOOST_CHECK_EXCEPTION(opt::SGD(-0.1), sv::OptionError, message_has({"Constant", "eta must be > 0", "got -0.1"}));
  BOOST_CHECK_EXCEPTION(opt::SGD(0.1, {.weight_decay = -2}), sv::OptionError, message_has({"SGD", "weight_decay", "got -2"}));
}

BOOST_AUTO_TEST_SUITE_END()
