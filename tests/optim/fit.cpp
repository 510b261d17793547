// fit: a tape model trained on the shipped Fashion-MNIST subset, the callbacks (CSV log, progress
// bar, user callbacks), OnPlateau driven by fit, and a user-defined optimizer plugged in.
#include "support.hpp"
#include "temp_dir.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using namespace svtest;
namespace opt = svertka::optim;
namespace tp = svertka::tape;

namespace {

const std::filesystem::path subset_dir = std::filesystem::path(SVERTKA_TEST_DATA_DIR) / "fashion-mnist-subset";

//! Softmax regression on flattened 28×28 images: logits = x Wᵀ + b.
struct Linear {
  std::vector<sv::Parameter<float>> params;
  explicit Linear(std::uint64_t seed) {
    sv::Rng rng(seed);
    params = {sv::Parameter<float>(sv::Tensor<float>::uniform({10, 784}, rng, -0.03, 0.03)),
              sv::Parameter<float>(sv::Tensor<float>::zeros({10}))};
  }
  tp::Var<float> logits(const sv::Tensor<float>& images) const {
    return tp::linear(tp::constant(images.reshape({images.dim(0), 784})), tp::param(params[0]), tp::param(params[1]));
  }
  //! The mean cross-entropy of a batch; fills the gradients.
  float train_step(const sv::data::Batch<float>& b) const {
    auto loss = tp::cross_entropy(logits(b.images), b.labels);
    loss.backward();
    const float v = loss.value().item();
    tp::clear();
    return v;
  }
  opt::Metrics evaluate(const sv::data::Dataset& d) const {
    tp::NoGrad no_grad;
    auto out = logits(d.images);
    const double loss = tp::cross_entropy(out, d.labels).value().item();
    std::int64_t right = 0;
    for (std::int64_t n = 0; n < d.size(); ++n) {
      std::int64_t best = 0;
      for (std::int64_t c = 1; c < 10; ++c)
        if (out.value()(n, c) > out.value()(n, best)) best = c;
      right += best == d.labels(n);
    }
    tp::clear();
    return {.loss = loss, .accuracy = static_cast<double>(right) / static_cast<double>(d.size())};
  }
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

//! A user's own optimizer: sign descent, w ← w − η sign(g). Only step(params).
struct SignDescent {
  double eta;
  int calls = 0;
  void step(std::span<sv::Parameter<float>> ps) {
    ++calls;
    for (auto& p : ps)
      for (std::int64_t i = 0; i < p.numel(); ++i) {
        const float g = p.grad().data()[i];
        p.value().data()[i] -= static_cast<float>(eta) * static_cast<float>((g > 0) - (g < 0));
      }
  }
};

//! A user's own callback: stops after `at` steps, and counts the hooks it saw.
struct StopAt {
  std::int64_t at;
  int begins = 0, ends = 0, epochs = 0;
  void on_fit_begin(auto&) { ++begins; }
  bool on_step_end(auto& ctx) {
    if (ctx.step < at) return false;
    ctx.stop_reason = "StopAt";
    return true;
  }
  void on_epoch_end(auto&) { ++epochs; }
  void on_fit_end(auto&) { ++ends; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(optim_fit)

BOOST_AUTO_TEST_CASE(tape_model_learns_fashion_mnist_subset_with_callbacks) {
  const auto data = sv::data::fashion_mnist(subset_dir);
  Linear model(1);
  sv::data::Batcher<float> train{data.train, {.batch_size = 50, .seed = 3}};
  opt::Adam adam{opt::StepDecay{.eta0 = 0.01, .step_size = 2, .gamma = 0.5}, {.unit = opt::ScheduleUnit::epoch}};
  TempDir dir;
  std::FILE* bar_out = std::tmpfile();
  const auto before = model.evaluate(data.test);
  const auto r = opt::fit(
      model.params, adam, train, [&](const sv::data::Batch<float>& b) { return model.train_step(b); },
      [&] { return model.evaluate(data.test); }, {.epochs = 4}, opt::CsvLog{dir / "log.csv"},
      opt::ProgressBar{{.out = bar_out, .force = true, .interval = 0}});
  BOOST_TEST(r.epochs == 4);
  BOOST_TEST(r.steps == 80);
  BOOST_TEST(r.stop_reason == "epoch limit: 4 epochs");
  BOOST_REQUIRE(r.history.size() == 4u);
  BOOST_TEST_MESSAGE("test accuracy " << before.accuracy << " -> " << r.history.back().test.accuracy);
  BOOST_TEST(r.history.back().train_loss < 0.6 * r.history.front().train_loss + 0.3);
  BOOST_TEST(r.history.back().test.loss < before.loss);
  BOOST_TEST(r.history.back().test.accuracy > 0.70);
  // per-epoch schedule: 0.01, 0.01, 0.005, 0.005
  BOOST_TEST(r.history[1].eta == 0.01);
  BOOST_TEST(r.history[2].eta == 0.005);

  const auto csv = lines(read_bytes(dir / "log.csv"));
  BOOST_REQUIRE(csv.size() == 5u);
  BOOST_TEST(csv[0] == "epoch,step,train_loss,test_loss,test_accuracy,eta,seconds");
  BOOST_TEST(csv[1].starts_with("1,20,"));
  BOOST_TEST(csv[4].starts_with("4,80,"));
  BOOST_TEST(csv[3].find(",0.005,") != std::string::npos, csv[3]);

  std::rewind(bar_out);
  std::string bar;
  for (int c; (c = std::fgetc(bar_out)) != EOF;) bar += static_cast<char>(c);
  std::fclose(bar_out);
  BOOST_TEST(bar.find("epoch 1/4 [") != std::string::npos);
  BOOST_TEST(bar.find("it/s  ETA ") != std::string::npos);
  BOOST_TEST(bar.find("20/20") != std::string::npos);
  BOOST_TEST(bar.find("test_acc 0.") != std::string::npos);
  BOOST_TEST(std::count(bar.begin(), bar.end(), '\n') == 4);
}

BOOST_AUTO_TEST_CASE(progress_bar_is_silent_off_a_terminal) {
  std::FILE* out = std::tmpfile();
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({1}))};
  sv::data::BatchSampler b{3, {}};
  opt::SGD sgd{0.1};
  opt::ProgressBar bar{{.out = out}};
  opt::fit(ps, sgd, b, [](auto) { return 0.0; }, opt::no_evaluation, {.epochs = 2}, bar);
  BOOST_TEST(!bar.active());
  BOOST_TEST(std::ftell(out) == 0);
  std::fclose(out);
}

BOOST_AUTO_TEST_CASE(user_defined_optimizer_plugs_in) {
  static_assert(opt::Optimizer<SignDescent>);
  static_assert(opt::OptimizerFor<SignDescent, float>);
  static_assert(!opt::OptimizerFor<SignDescent, double>);
  static_assert(opt::Optimizer<opt::Adam<>>);
  static_assert(!opt::Optimizer<int>);
  const auto data = sv::data::fashion_mnist(subset_dir);
  Linear model(2);
  sv::data::Batcher<float> train{data.train, {.batch_size = 100, .seed = 4}};
  SignDescent sign{1e-3};
  const auto before = model.evaluate(data.test);
  const auto r = opt::fit(model.params, sign, train, [&](const auto& b) { return model.train_step(b); },
                          [&] { return model.evaluate(data.test); }, {.epochs = 2});
  BOOST_TEST(sign.calls == 20);
  BOOST_TEST(std::isnan(r.history[0].eta));  // this optimizer does not report a step size
  BOOST_TEST(r.history.back().test.loss < before.loss);
}

BOOST_AUTO_TEST_CASE(user_callback_stops_and_sees_every_hook) {
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({1}))};
  sv::data::BatchSampler b{10, {.batch_size = 3}};  // 4 batches per epoch
  opt::SGD sgd{0.1};
  StopAt stop{6};
  int evaluations = 0;
  const auto r = opt::fit(ps, sgd, b, [](auto) { return 2.0; }, [&] { return ++evaluations * 1.0; }, {.epochs = 5}, stop);
  BOOST_TEST(r.steps == 6);
  BOOST_TEST(r.epochs == 2);  // stopped inside epoch 2, which is still evaluated and reported
  BOOST_TEST(r.stop_reason == "StopAt");
  BOOST_TEST(evaluations == 2);
  BOOST_TEST(r.history[1].test.loss == 2.0);  // a double from evaluate() is the loss
  BOOST_TEST(r.history[1].train_loss == 2.0);
  BOOST_TEST((stop.begins == 1 && stop.ends == 1 && stop.epochs == 2));
}

BOOST_AUTO_TEST_CASE(on_plateau_is_reported_by_fit) {
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({1}))};
  sv::data::BatchSampler b{2, {.batch_size = 2}};
  opt::Momentum m{opt::OnPlateau(0.1, {.factor = 0.5, .patience = 1}), {.momentum = 0.5}};
  // a test loss that never improves after epoch 1: bad epochs 1, 2 (> patience): halve after epoch 3
  const auto r = opt::fit(ps, m, b, [](auto) { return 1.0; }, [] { return 1.0; }, {.epochs = 6});
  BOOST_TEST(r.history[0].eta == 0.1);
  BOOST_TEST(r.history[2].eta == 0.1);
  BOOST_TEST(r.history[3].eta == 0.05);
  BOOST_TEST(r.history[4].eta == 0.05);
  BOOST_TEST(r.history[5].eta == 0.025);
  BOOST_TEST(m.schedule().eta() == 0.025);
}

BOOST_AUTO_TEST_SUITE_END()
