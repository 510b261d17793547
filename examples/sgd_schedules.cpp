// SGD on one random object (the seed's i_t) with different step-size schedules, on the regression of
// linear_regression_gd:
//
//   w^t = w^{t-1} − η_t ∇L(y_{i_t}, a(x_{i_t})),   i_t uniform over the ℓ objects
//
// With a constant η the iterates keep jumping around the optimum (one object's gradient is not zero
// there); a step that shrinks, such as the seed's η_t = 0.1 / t^0.3, lets them settle. Every schedule
// sees the same sequence i_t (the same seeded sampler). The full-sample loss Q(w^t) after every step
// goes to a CSV file (first argument; default sgd_schedules.csv in the working directory), one
// column per schedule; a summary goes to stdout.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "svertka/svertka.hpp"

namespace sv = svertka;
namespace opt = svertka::optim;
namespace tp = svertka::tape;

namespace {

constexpr int l = 500, d = 4, steps = 5000;

struct Data {
  sv::Tensor<double> X = sv::Tensor<double>::empty({l, d}), y = sv::Tensor<double>::empty({l, 1});
  Data() {
    sv::Rng rng(2022);
    const double w_true[d] = {1.5, -2.0, 0.5, 3.0};
    for (int i = 0; i < l; ++i) {
      double t = 0;
      for (int j = 0; j < d; ++j) {
        X(i, j) = j + 1 == d ? 1.0 : rng.normal();
        t += w_true[j] * X(i, j);
      }
      y(i, 0) = t + 0.1 * rng.normal();
    }
  }
  //! Q(w) = (1/ℓ) Σ (⟨w, x_i⟩ − y_i)², computed directly.
  double loss(const sv::Tensor<double>& w) const {
    double s = 0;
    for (int i = 0; i < l; ++i) {
      double r = -y(i, 0);
      for (int j = 0; j < d; ++j) r += X(i, j) * w(j, 0);
      s += r * r;
    }
    return s / l;
  }
};

struct Run {
  std::string name;
  std::vector<double> loss;  // Q after each step
};

//! SGD with `schedule` on one random object per step; Q after every step.
template <class S>
Run run(const Data& data, std::string name, S schedule) {
  std::vector<sv::Parameter<double>> params{sv::Parameter<double>(sv::Tensor<double>::zeros({d, 1}))};
  opt::SGD sgd{schedule};
  sv::data::BatchSampler objects{l, {.batch_size = 1, .replacement = true, .seed = 7}};
  auto xi = sv::Tensor<double>::empty({1, d});
  auto yi = sv::Tensor<double>::empty({1, 1});
  Run r{std::move(name), {}};
  for (int t = 1; t <= steps; ++t) {
    const std::int64_t i = objects.next()[0];
    for (int j = 0; j < d; ++j) xi(0, j) = data.X(i, j);
    yi(0, 0) = data.y(i, 0);
    params[0].zero_grad();
    tp::mean(tp::square(tp::matmul(tp::constant(xi), tp::param(params[0])) - tp::constant(yi))).backward();  // ∇L(y_i, a(x_i))
    tp::clear();
    sgd.step(params);
    r.loss.push_back(data.loss(params[0].value()));
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string csv_path = argc > 1 ? argv[1] : "sgd_schedules.csv";
  const Data data;

  std::vector<Run> runs;
  runs.push_back(run(data, "constant_0.05", opt::Constant{0.05}));
  runs.push_back(run(data, "constant_0.005", opt::Constant{0.005}));
  runs.push_back(run(data, "inverse_power_0.1_0.3", opt::InversePower{.eta0 = 0.1, .power = 0.3}));
  runs.push_back(run(data, "inverse_power_0.1_0.6", opt::InversePower{.eta0 = 0.1, .power = 0.6}));
  runs.push_back(run(data, "step_decay", opt::StepDecay{.eta0 = 0.05, .step_size = 1000, .gamma = 0.3}));
  runs.push_back(run(data, "warmup_cosine", opt::Warmup{.warmup_steps = 200, .after = opt::Cosine{.eta_max = 0.05, .period = 4800, .eta_min = 1e-4}}));

  std::FILE* csv = std::fopen(csv_path.c_str(), "w");
  if (!csv) {
    fmt::print(stderr, "sgd_schedules: cannot write {}\n", csv_path);
    return 1;
  }
  fmt::print(csv, "step");
  for (const Run& r : runs) fmt::print(csv, ",{}", r.name);
  fmt::print(csv, "\n");
  for (int t = 0; t < steps; ++t) {
    fmt::print(csv, "{}", t + 1);
    for (const Run& r : runs) fmt::print(csv, ",{:.9g}", r.loss[t]);
    fmt::print(csv, "\n");
  }
  std::fclose(csv);

  // the optimum, by gradient descent to convergence (see linear_regression_gd)
  std::vector<sv::Parameter<double>> best{sv::Parameter<double>(sv::Tensor<double>::zeros({d, 1}))};
  opt::GD gd{opt::Constant{0.1}, opt::StopWhenStepBelow{.eps = 1e-12, .max_steps = 100000}};
  while (!gd.should_stop()) {
    best[0].zero_grad();
    tp::mean(tp::square(tp::matmul(tp::constant(data.X), tp::param(best[0])) - tp::constant(data.y))).backward();
    tp::clear();
    gd.step(best);
  }
  const double q_min = data.loss(best[0].value());

  fmt::print("SGD on one random object, {} steps, {} objects; min Q(w) = {:.6f}\n", steps, l, q_min);
  fmt::print("{:<24} {:>12} {:>12} {:>14}\n", "schedule", "Q(w) last", "Q(w) mean", "excess last");
  fmt::print("{:<24} {:>12} {:>12} {:>14}\n", "", "", "of last 500", "Q - min Q");
  double seed_excess = 0, constant_excess = 0;
  for (const Run& r : runs) {
    double tail = 0;
    for (int t = steps - 500; t < steps; ++t) tail += r.loss[t];
    tail /= 500;
    const double excess = r.loss.back() - q_min;
    fmt::print("{:<24} {:>12.6f} {:>12.6f} {:>14.3e}\n", r.name, r.loss.back(), tail, excess);
    if (r.name == "inverse_power_0.1_0.3") seed_excess = tail - q_min;
    if (r.name == "constant_0.05") constant_excess = tail - q_min;
  }
  fmt::print("loss per step written to {}\n", csv_path);
  // the seed's schedule must settle closer to the optimum than the large constant step, within 5% of it
  const bool ok = seed_excess < constant_excess && seed_excess < 0.05 * q_min;
  if (!ok) fmt::print("unexpected: 0.1/t^0.3 did not settle closer than a constant 0.05 step\n");
  return ok ? 0 : 1;
}
