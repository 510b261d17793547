// Schedules: exact values (computed by hand in the comments), wrappers, OnPlateau against PyTorch,
// bad options, and a user-defined schedule plugged into an optimizer.
#include "support.hpp"

#include <cmath>
#include <filesystem>

using namespace svtest;
namespace opt = svertka::optim;
using boost::test_tools::tolerance;

BOOST_AUTO_TEST_SUITE(optim_schedules)

BOOST_AUTO_TEST_CASE(closed_form_values) {
  BOOST_TEST(opt::Constant{0.5}(1) == 0.5);
  BOOST_TEST(opt::Constant{0.5}(1000) == 0.5);

  const opt::InversePower seed{};                                // 0.1 / t^0.3
  BOOST_TEST(seed(1) == 0.1);
  BOOST_TEST(seed(2) == 0.08122523963562355, tolerance(1e-15));  // 2^0.3 = 1.2311444133449163
  BOOST_TEST(seed(10) == 0.05011872336272722, tolerance(1e-15)); // 10^0.3 = 1.9952623149688795
  BOOST_TEST((opt::InversePower{.eta0 = 0.2, .power = 0.5}(4)) == 0.1, tolerance(1e-15));
  BOOST_TEST((opt::InversePower{.eta0 = 0.2, .power = 0.0}(77)) == 0.2);

  const opt::StepDecay step{.eta0 = 1.0, .step_size = 3, .gamma = 0.5};
  for (int t : {1, 2, 3}) BOOST_TEST(step(t) == 1.0);
  for (int t : {4, 5, 6}) BOOST_TEST(step(t) == 0.5);
  BOOST_TEST(step(7) == 0.25);

  const opt::Exponential ex{.eta0 = 2.0, .gamma = 0.5};
  BOOST_TEST(ex(1) == 2.0);
  BOOST_TEST(ex(2) == 1.0);
  BOOST_TEST(ex(4) == 0.25);

  // (1 + cos(pi/4)) / 2 = 0.8535533905932737, (1 + cos(3pi/4)) / 2 = 0.14644660940672627
  const opt::Cosine cos{.eta_max = 1.0, .period = 4};
  BOOST_TEST(cos(1) == 1.0);
  BOOST_TEST(cos(2) == 0.8535533905932737, tolerance(1e-15));
  BOOST_TEST(cos(3) == 0.5, tolerance(1e-15));
  BOOST_TEST(cos(4) == 0.14644660940672627, tolerance(1e-14));
  BOOST_TEST(cos(5) == 0.0);
  BOOST_TEST(cos(50) == 0.0);  // stays at eta_min after the period
  const opt::Cosine sgdr{.eta_max = 1.0, .period = 4, .eta_min = 0.2, .restarts = true};
  BOOST_TEST(sgdr(3) == 0.6, tolerance(1e-15));  // 0.2 + 0.8 * 0.5
  BOOST_TEST(sgdr(5) == 1.0);                    // restart
  BOOST_TEST(sgdr(7) == 0.6, tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(warmup_and_chain) {
  const opt::Warmup w{.warmup_steps = 3, .after = opt::Constant{0.8}};
  BOOST_TEST(w(1) == 0.2, tolerance(1e-15));
  BOOST_TEST(w(2) == 0.4, tolerance(1e-15));
  BOOST_TEST(w(3) == 0.6, tolerance(1e-15));
  BOOST_TEST(w(4) == 0.8);
  BOOST_TEST(w(9) == 0.8);
  // the wrapped schedule starts at its own t = 1 after the ramp
  const opt::Warmup ws{.warmup_steps = 2, .after = opt::StepDecay{.eta0 = 1.0, .step_size = 2, .gamma = 0.5}};
  BOOST_TEST(ws(1) == 1.0 / 3, tolerance(1e-15));
  BOOST_TEST(ws(2) == 2.0 / 3, tolerance(1e-15));
  BOOST_TEST(ws(3) == 1.0);
  BOOST_TEST(ws(4) == 1.0);
  BOOST_TEST(ws(5) == 0.5);
  const opt::Warmup none{.warmup_steps = 0, .after = opt::InversePower{}};
  BOOST_TEST(none(5) == opt::InversePower{}(5));

  const opt::Chain c{.first = opt::Constant{0.1}, .switch_at = 3, .second = opt::Exponential{.eta0 = 1.0, .gamma = 0.5}};
  BOOST_TEST(c(1) == 0.1);
  BOOST_TEST(c(2) == 0.1);
  BOOST_TEST(c(3) == 1.0);
  BOOST_TEST(c(4) == 0.5);
  BOOST_TEST(c(5) == 0.25);
  // wrappers nest
  const opt::Chain nested{.first = opt::Warmup{.warmup_steps = 1, .after = opt::Constant{1.0}}, .switch_at = 3,
                          .second = opt::Cosine{.eta_max = 1.0, .period = 2}};
  BOOST_TEST(nested(1) == 0.5);
  BOOST_TEST(nested(2) == 1.0);
  BOOST_TEST(nested(3) == 1.0);
  BOOST_TEST(nested(4) == 0.5, tolerance(1e-15));
  BOOST_TEST(nested(5) == 0.0);
}

BOOST_AUTO_TEST_CASE(on_plateau_matches_pytorch) {
  // tests/data/optim_plateau.npy: ReduceLROnPlateau(lr=1, factor 0.5, patience 2, threshold 0.1 rel,
  // cooldown 1, min_lr 0.1): column 0 the metric, column 1 the lr after step(metric)
  const auto ref = sv::io::load_npy<double>(std::filesystem::path(SVERTKA_TEST_DATA_DIR) / "optim_plateau.npy");
  opt::OnPlateau s(1.0, {.factor = 0.5, .patience = 2, .threshold = 0.1, .threshold_mode = opt::Threshold::rel,
                         .cooldown = 1, .min_eta = 0.1});
  BOOST_REQUIRE(ref.dim(0) > 10);
  for (std::int64_t i = 0; i < ref.dim(0); ++i) {
    s.report(ref(i, 0));
    BOOST_TEST(s(i + 1) == ref(i, 1), "report " << i << ": eta " << s.eta() << " vs PyTorch " << ref(i, 1));
  }
  BOOST_TEST(s.eta() == 0.1);  // reached min_eta
}

BOOST_AUTO_TEST_CASE(on_plateau_rules_by_hand) {
  // patience 1, abs threshold 0.5: 10 -> best; 9.7 is not better by 0.5 (bad 1); 9.6 (bad 2 > 1): reduce
  opt::OnPlateau s(1.0, {.factor = 0.1, .patience = 1, .threshold = 0.5, .threshold_mode = opt::Threshold::abs});
  s.report(10);
  BOOST_TEST(s.eta() == 1.0);
  s.report(9.7);
  BOOST_TEST(s.eta() == 1.0);
  BOOST_TEST(s.bad_reports() == 1);
  s.report(9.6);
  BOOST_TEST(s.eta() == 0.1, tolerance(1e-15));
  BOOST_TEST(s.bad_reports() == 0);
  s.report(9.0);  // better than 10 − 0.5: a new best
  BOOST_TEST(s.best() == 9.0);
  // NaN never improves
  s.report(std::nan(""));
  BOOST_TEST(s.bad_reports() == 1);
  // state round trip
  opt::OnPlateau copy(5.0);
  copy.load_state_dict(s.state_dict());
  BOOST_TEST(copy.eta() == s.eta());
  BOOST_TEST(copy.best() == 9.0);
  BOOST_TEST(copy.bad_reports() == 1);
}

BOOST_AUTO_TEST_CASE(schedule_drives_the_optimizer_per_step_or_per_epoch) {
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({2}))};
  ps[0].grad().fill(1.0);
  opt::SGD per_step{opt::InversePower{}};
  for (int t = 1; t <= 3; ++t) {
    BOOST_TEST(per_step.eta() == opt::InversePower{}(t));
    per_step.step(ps);
    BOOST_TEST(per_step.last_eta() == opt::InversePower{}(t));
  }
  opt::SGD per_epoch{opt::InversePower{}, {.unit = opt::ScheduleUnit::epoch}};
  per_epoch.step(ps);
  per_epoch.step(ps);
  BOOST_TEST(per_epoch.last_eta() == 0.1);  // still epoch 1
  per_epoch.set_epoch(2);
  per_epoch.step(ps);
  BOOST_TEST(per_epoch.last_eta() == opt::InversePower{}(2));
  BOOST_CHECK_EXCEPTION(per_epoch.set_epoch(0), sv::OptionError, message_has({"SGD::set_epoch", "got 0"}));
}

//! A user's own schedule: only operator() — no base class, no validate().
struct Halving {
  double operator()(std::int64_t t) const { return std::ldexp(1.0, static_cast<int>(-t)); }
};

BOOST_AUTO_TEST_CASE(user_defined_schedule_plugs_in) {
  static_assert(opt::Schedule<Halving>);
  static_assert(!opt::Schedule<int>);
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({1}))};
  ps[0].grad().fill(1.0);
  opt::SGD sgd{Halving{}};
  sgd.step(ps);  // -0.5
  sgd.step(ps);  // -0.25
  sgd.step(ps);  // -0.125
  BOOST_TEST(ps[0].value()(0) == -0.875);
  // and inside the wrappers
  const opt::Warmup w{.warmup_steps = 1, .after = Halving{}};
  BOOST_TEST(w(1) == 0.25);
  BOOST_TEST(w(2) == 0.5);
}

BOOST_AUTO_TEST_CASE(bad_options_are_rejected) {
  auto sgd = [](auto s) { return opt::SGD{s}; };
  BOOST_CHECK_EXCEPTION(sgd(opt::Constant{0.0}), sv::OptionError, message_has({"Constant", "eta must be > 0", "got 0"}));
  BOOST_CHECK_EXCEPTION(sgd(opt::Constant{-0.1}), sv::OptionError, message_has({"Constant", "got -0.1"}));
  BOOST_CHECK_EXCEPTION(sgd(opt::InversePower{.eta0 = 0.1, .power = -0.3}), sv::OptionError,
                        message_has({"InversePower", "power must be >= 0", "got -0.3"}));
  BOOST_CHECK_EXCEPTION(sgd(opt::InversePower{.eta0 = -1}), sv::OptionError, message_has({"InversePower", "eta0", "got -1"}));
  BOOST_CHECK_EXCEPTION(sgd(opt::StepDecay{.eta0 = 1, .step_size = 0}), sv::OptionError,
                        message_has({"StepDecay", "step_size must be >= 1", "got 0"}));
  BOOST_CHECK_EXCEPTION(sgd(opt::Exponential{.eta0 = 1, .gamma = 0}), sv::OptionError, message_has({"Exponential", "gamma"}));
  BOOST_CHECK_EXCEPTION(sgd(opt::Cosine{.eta_max = 1, .period = 0}), sv::OptionError, message_has({"Cosine", "period", "got 0"}));
  BOOST_CHECK_EXCEPTION(sgd(opt::Cosine{.eta_max = 1, .period = 5, .eta_min = 2}), sv::OptionError,
                        message_has({"Cosine", "eta_min", "got 2"}));
  BOOST_CHECK_EXCEPTION(sgd(opt::Warmup{.warmup_steps = -1, .after = opt::Constant{1}}), sv::OptionError,
                        message_has({"Warmup", "warmup_steps", "got -1"}));
  BOOST_CHECK_EXCEPTION(sgd(opt::Warmup{.warmup_steps = 2, .after = opt::Constant{-2}}), sv::OptionError,
                        message_has({"Constant", "got -2"}));
  BOOST_CHECK_EXCEPTION(sgd(opt::Chain{.first = opt::Constant{1}, .switch_at = 0, .second = opt::Constant{1}}),
                        sv::OptionError, message_has({"Chain", "switch_at", "got 0"}));
  BOOST_CHECK_EXCEPTION(opt::OnPlateau(0.1, {.factor = 1.0}), sv::OptionError, message_has({"OnPlateau", "factor", "got 1"}));
  BOOST_CHECK_EXCEPTION(opt::OnPlateau(0.1, {.patience = -1}), sv::OptionError, message_has({"OnPlateau", "patience", "got -1"}));
  BOOST_CHECK_EXCEPTION(opt::OnPlateau(0.0), sv::OptionError, message_has({"OnPlateau", "eta", "got 0"}));
  // a user schedule that goes negative is caught when it is used
  struct Bad {
    double operator()(std::int64_t t) const { return 0.5 - static_cast<double>(t); }
  };
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({1}))};
  opt::SGD s{Bad{}};
  BOOST_CHECK_EXCEPTION(s.step(ps), sv::OptionError, message_has({"SGD", "step size of -0.5", "t = 1"}));
  BOOST_TEST(ps[0].value()(0) == 0.0);  // nothing happened
}

BOOST_AUTO_TEST_SUITE_END()
