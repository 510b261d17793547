// Each stopping rule triggers when it should and not before — alone, and as a fit callback.
#include "support.hpp"

#include <span>
#include <vector>

using namespace svtest;
namespace opt = svertka::optim;

namespace {

//! fit on a one-parameter problem whose loss is irrelevant; evaluate() replays `errors` as test errors.
struct Scripted {
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({1}))};
  sv::data::BatchSampler batches{4, {.batch_size = 2, .seed = 1}};
  std::vector<double> errors;
  std::size_t next = 0;
  std::int64_t steps_seen = 0;

  template <class... C>
  opt::FitResult run(std::int64_t epochs, C&&... callbacks) {
    opt::SGD sgd{0.1};
    return opt::fit(
        ps, sgd, batches,
        [&](std::span<const std::int64_t>) {
          ps[0].grad().fill(1.0);
          ++steps_seen;
          return 1.0;
        },
        [&] { return opt::Metrics{.loss = 0.0, .accuracy = 1 - errors.at(next++)}; }, {.epochs = epochs},
        std::forward<C>(callbacks)...);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(optim_stopping)

BOOST_AUTO_TEST_CASE(step_below_is_strict) {
  const opt::StopWhenStepBelow s{.eps = 0.5, .max_steps = 10};
  BOOST_TEST(!s.should_stop(0.5, 1));  // ‖Δw‖ = ε: not yet
  BOOST_TEST(s.should_stop(0.49, 1));
  BOOST_TEST(!s.should_stop(1.0, 9));
  BOOST_TEST(s.should_stop(1.0, 10));
  const opt::StopWhenStepBelow unlimited{.eps = 0.5};
  BOOST_TEST(!unlimited.should_stop(1.0, 1'000'000'000));
}

BOOST_AUTO_TEST_CASE(early_stopping_counts_epochs_without_improvement) {
  opt::EarlyStopping es{.patience = 2, .min_delta = 0.1};
  BOOST_TEST(!es.update(1.0));   // best 1.0
  BOOST_TEST(!es.update(0.95));  // not below 1.0 − 0.1: bad 1
  BOOST_TEST(!es.update(0.85));  // below 0.9: best 0.85, bad 0
  BOOST_TEST(!es.update(0.8));   // not below 0.75: bad 1
  BOOST_TEST(es.update(0.9));    // bad 2 = patience: stop
  BOOST_TEST(es.best == 0.85);
  BOOST_TEST(es.best_epoch == 3);
}

BOOST_AUTO_TEST_CASE(early_stopping_in_fit_stops_when_test_error_stops_falling) {
  // the seed: "stop when the error on the test sample stops falling"
  Scripted s;
  s.errors = {0.5, 0.4, 0.3, 0.31, 0.29, 0.3, 0.32, 0.33, 0.1, 0.1};
  opt::EarlyStopping es{.patience = 3};
  const auto r = s.run(10, es);
  // best 0.29 at epoch 5; epochs 6, 7, 8 do not improve: stop after epoch 8, not before
  BOOST_TEST(r.epochs == 8);
  BOOST_TEST(r.history.size() == 8u);
  BOOST_TEST(es.best == 0.29, boost::test_tools::tolerance(1e-12));  // 1 − (1 − 0.29)
  BOOST_TEST(r.stop_reason.find("early stopping") != std::string::npos);
  BOOST_TEST(r.stop_reason.find("epoch 5") != std::string::npos, r.stop_reason);
}

BOOST_AUTO_TEST_CASE(early_stopping_on_test_loss_or_train_loss) {
  Scripted s;
  s.errors.assign(10, 0.0);
  // evaluate() gives loss 0 every epoch: with patience 2 on test_loss, stop after epoch 3
  opt::EarlyStopping es{.patience = 2, .monitor = opt::Monitor::test_loss};
  BOOST_TEST(s.run(10, es).epochs == 3);
  // a monitored value the evaluation does not give is an error naming it
  sv::data::BatchSampler b{2, {}};
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({1}))};
  opt::SGD sgd{0.1};
  BOOST_CHECK_EXCEPTION(opt::fit(ps, sgd, b, [](auto) { return 1.0; }, opt::no_evaluation, {.epochs = 2},
                                 opt::EarlyStopping{.patience = 1, .monitor = opt::Monitor::test_error}),
                        sv::OptionError, message_has({"EarlyStopping", "test_error", "no accuracy"}));
}

BOOST_AUTO_TEST_CASE(max_epochs) {
  const opt::MaxEpochs m{3};
  BOOST_TEST(!m.should_stop(1));
  BOOST_TEST(!m.should_stop(2));
  BOOST_TEST(m.should_stop(3));
  Scripted s;
  s.errors.assign(10, 0.5);
  const auto r = s.run(10, opt::MaxEpochs{3});
  BOOST_TEST(r.epochs == 3);
  BOOST_TEST(r.stop_reason == "epoch limit: 3 epochs");
  BOOST_TEST(s.steps_seen == 6);  // 2 batches per epoch
}

BOOST_AUTO_TEST_CASE(step_rule_as_a_callback_and_gd_in_fit) {
  // loss (w − 3)², gradient 2(w − 3): the step shrinks by (1 − 2η) each time
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({1}))};
  sv::data::BatchSampler all{1, {.batch_size = 1, .shuffle = false}};
  auto grad = [&](auto) {
    const double w = ps[0].value()(0);
    ps[0].grad()(0) = 2 * (w - 3);
    return (w - 3) * (w - 3);
  };
  // step norms 0.6 · 0.8^(t−1): below 0.01 first at t = 20 (0.6·0.8^19 = 0.0086, 0.6·0.8^18 = 0.0108)
  opt::SGD sgd{0.1};
  const auto r = opt::fit(ps, sgd, all, grad, opt::no_evaluation, {.epochs = 1000}, opt::StopWhenStepBelow{.eps = 0.01});
  BOOST_TEST(r.steps == 20);
  BOOST_TEST(r.stop_reason.find("step below eps") != std::string::npos);
  // the same rule inside GD
  ps[0].value()(0) = 0;
  opt::GD gd{opt::Constant{0.1}, opt::StopWhenStepBelow{.eps = 0.01}};
  const auto g = opt::fit(ps, gd, all, grad, opt::no_evaluation, {.epochs = 1000});
  BOOST_TEST(g.steps == 20);
  BOOST_TEST(g.stop_reason.find("step below eps") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_options_are_rejected) {
  BOOST_CHECK_EXCEPTION((opt::EarlyStopping{.patience = 0}.validate()), sv::OptionError,
                        message_has({"EarlyStopping", "patience must be >= 1", "got 0"}));
  BOOST_CHECK_EXCEPTION((opt::EarlyStopping{.patience = 2, .min_delta = -1}.validate()), sv::OptionError,
                        message_has({"EarlyStopping", "min_delta", "got -1"}));
  BOOST_CHECK_EXCEPTION(opt::MaxEpochs{0}.validate(), sv::OptionError, message_has({"MaxEpochs", "got 0"}));
  // fit validates its callbacks before training
  Scripted s;
  s.errors.assign(10, 0.5);
  BOOST_CHECK_EXCEPTION(s.run(5, opt::EarlyStopping{.patience = 0}), sv::OptionError, message_has({"patience", "got 0"}));
  BOOST_TEST(s.steps_seen == 0);
  BOOST_CHECK_EXCEPTION(s.run(0), sv::OptionError, message_has({"fit", "epochs must be >= 1", "got 0"}));
}

BOOST_AUTO_TEST_SUITE_END()
