// GD reaches the least-squares solution with the seed's stopping rule; SGD on one random object with
// the seed's decaying step converges on a convex problem.
#include "support.hpp"

#include <cmath>
#include <vector>

using namespace svtest;
namespace opt = svertka::optim;
namespace tp = svertka::tape;

namespace {

//! Synthetic regression: X [l, d] (last column 1, the bias), y = X w_true + noise.
struct Regression {
  int l, d;
  sv::Tensor<double> X, y;
  Regression(int l_, int d_, std::uint64_t seed) : l(l_), d(d_), X(sv::Tensor<double>::empty({l_, d_})), y(sv::Tensor<double>::empty({l_, 1})) {
    sv::Rng rng(seed);
    for (int i = 0; i < l; ++i) {
      double t = 0;
      for (int j = 0; j < d; ++j) {
        X(i, j) = j + 1 == d ? 1.0 : rng.normal();
        t += (j + 1.0) * (j % 2 ? -1 : 1) * X(i, j);
      }
      y(i, 0) = t + 0.1 * rng.normal();
    }
  }
  //! The least-squares solution from the normal equations XᵀX w = Xᵀy, by Cholesky (independent of svertka).
  std::vector<double> least_squares() const {
    std::vector<double> A(d * d, 0.0), b(d, 0.0), L(d * d, 0.0), z(d), w(d);
    for (int i = 0; i < l; ++i)
      for (int j = 0; j < d; ++j) {
        b[j] += X(i, j) * y(i, 0);
        for (int k = 0; k < d; ++k) A[j * d + k] += X(i, j) * X(i, k);
      }
    for (int j = 0; j < d; ++j) {
      double s = A[j * d + j];
      for (int k = 0; k < j; ++k) s -= L[j * d + k] * L[j * d + k];
      L[j * d + j] = std::sqrt(s);
      for (int i = j + 1; i < d; ++i) {
        double t = A[i * d + j];
        for (int k = 0; k < j; ++k) t -= L[i * d + k] * L[j * d + k];
        L[i * d + j] = t / L[j * d + j];
      }
    }
    for (int i = 0; i < d; ++i) {
      double s = b[i];
      for (int k = 0; k < i; ++k) s -= L[i * d + k] * z[k];
      z[i] = s / L[i * d + i];
    }
    for (int i = d - 1; i >= 0; --i) {
      double s = z[i];
      for (int k = i + 1; k < d; ++k) s -= L[k * d + i] * w[k];
      w[i] = s / L[i * d + i];
    }
    return w;
  }
  //! Q(w) = (1/ℓ) Σ (⟨w, x_i⟩ − y_i)² on the tape; backward fills w.grad().
  double full_loss_backward(const sv::Parameter<double>& w) const {
    auto Q = tp::mean(tp::square(tp::matmul(tp::constant(X), tp::param(w)) - tp::constant(y)));
    Q.backward();
    const double v = Q.value().item();
    tp::clear();
    return v;
  }
  double loss(const std::vector<double>& w) const {
    double s = 0;
    for (int i = 0; i < l; ++i) {
      double r = -y(i, 0);
      for (int j = 0; j < d; ++j) r += X(i, j) * w[j];
      s += r * r;
    }
    return s / l;
  }
};

std::vector<double> values(const sv::Parameter<double>& w) { return {w.value().begin(), w.value().end()}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(optim_gd_sgd)

BOOST_AUTO_TEST_CASE(gd_reaches_the_least_squares_solution) {
  const Regression r(400, 5, 11);
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({5, 1}))};
  opt::GD gd{opt::Constant{0.2}, opt::StopWhenStepBelow{.eps = 1e-10, .max_steps = 100000}};
  std::vector<double> norms;
  while (!gd.should_stop()) {
    ps[0].zero_grad();
    r.full_loss_backward(ps[0]);
    gd.step(ps);
    norms.push_back(gd.last_step_norm());
  }
  // the rule triggered on the first step below eps, not before, and not through the step limit
  BOOST_TEST(norms.back() < 1e-10);
  for (std::size_t i = 0; i + 1 < norms.size(); ++i) BOOST_TEST_REQUIRE(norms[i] >= 1e-10);
  BOOST_TEST(gd.steps() < 100000);
  BOOST_TEST(gd.stop_reason().find("step below eps") != std::string::npos);
  const auto w_ls = r.least_squares();
  const auto w = values(ps[0]);
  for (int j = 0; j < 5; ++j) BOOST_TEST(std::abs(w[j] - w_ls[j]) < 1e-6, "w[" << j << "] = " << w[j] << " vs " << w_ls[j]);
}

BOOST_AUTO_TEST_CASE(gd_step_limit) {
  const Regression r(50, 3, 12);
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({3, 1}))};
  opt::GD gd{opt::Constant{0.01}, opt::StopWhenStepBelow{.eps = 1e-300, .max_steps = 7}};
  int steps = 0;
  while (!gd.should_stop()) {
    BOOST_TEST(gd.stop_reason().empty());
    ps[0].zero_grad();
    r.full_loss_backward(ps[0]);
    gd.step(ps);
    ++steps;
  }
  BOOST_TEST(steps == 7);
  BOOST_TEST(gd.stop_reason() == "step limit: 7 steps");
  BOOST_CHECK_EXCEPTION((opt::GD{opt::Constant{0.1}, opt::StopWhenStepBelow{0.0}}), sv::OptionError,
                        message_has({"StopWhenStepBelow", "eps must be > 0", "got 0"}));
  BOOST_CHECK_EXCEPTION((opt::GD{opt::Constant{0.1}, opt::StopWhenStepBelow{.eps = 1e-3, .max_steps = -1}}),
                        sv::OptionError, message_has({"StopWhenStepBelow", "max_steps", "got -1"}));
}

BOOST_AUTO_TEST_CASE(sgd_on_one_random_object_converges_with_a_decaying_step) {
  // the seed: w^t = w^{t-1} − η_t ∇L(y_{i_t}, a(x_{i_t})), i_t uniform, η_t = 0.1 / t^0.3
  const Regression r(200, 4, 13);
  const auto w_ls = r.least_squares();
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({4, 1}))};
  opt::SGD sgd{opt::InversePower{.eta0 = 0.1, .power = 0.3}};
  sv::data::BatchSampler objects{r.l, {.batch_size = 1, .replacement = true, .seed = 2022}};
  auto xi = sv::Tensor<double>::empty({1, 4});
  auto yi = sv::Tensor<double>::empty({1, 1});
  auto distance = [&] {
    double s = 0;
    for (int j = 0; j < 4; ++j) s += (ps[0].value()(j, 0) - w_ls[j]) * (ps[0].value()(j, 0) - w_ls[j]);
    return std::sqrt(s);
  };
  const double start = distance();
  for (int t = 1; t <= 20000; ++t) {
    const std::int64_t i = objects.next()[0];
    for (int j = 0; j < 4; ++j) xi(0, j) = r.X(i, j);
    yi(0, 0) = r.y(i, 0);
    ps[0].zero_grad();
    tp::mean(tp::square(tp::matmul(tp::constant(xi), tp::param(ps[0])) - tp::constant(yi))).backward();
    tp::clear();
    sgd.step(ps);
  }
  BOOST_TEST(sgd.last_eta() == 0.1 / std::pow(20000.0, 0.3), boost::test_tools::tolerance(1e-14));
  const double q = r.loss(values(ps[0])), q_ls = r.loss(w_ls);
  BOOST_TEST_MESSAGE("SGD: |w - w_ls| " << start << " -> " << distance() << ", Q " << q << " vs optimum " << q_ls);
  BOOST_TEST(distance() < 0.05 * start);
  BOOST_TEST(q < 1.05 * q_ls);
}

BOOST_AUTO_TEST_CASE(minibatch_sgd_visits_every_object_once_per_epoch) {
  const Regression r(96, 3, 14);
  std::vector<sv::Parameter<double>> ps{sv::Parameter<double>(sv::Tensor<double>::zeros({3, 1}))};
  opt::SGD sgd{opt::Constant{0.05}};
  sv::data::BatchSampler batches{r.l, {.batch_size = 16, .seed = 5}};
  for (int epoch = 0; epoch < 30; ++epoch) {
    std::vector<int> seen(r.l, 0);
    for (std::int64_t b = 0; b < batches.batches_per_epoch(); ++b) {
      const auto idx = batches.next();
      auto xb = sv::Tensor<double>::empty({static_cast<std::int64_t>(idx.size()), 3});
      auto yb = sv::Tensor<double>::empty({static_cast<std::int64_t>(idx.size()), 1});
      for (std::size_t k = 0; k < idx.size(); ++k) {
        ++seen[idx[k]];
        for (int j = 0; j < 3; ++j) xb(k, j) = r.X(idx[k], j);
        yb(k, 0) = r.y(idx[k], 0);
      }
      ps[0].zero_grad();
      tp::mean(tp::square(tp::matmul(tp::constant(xb), tp::param(ps[0])) - tp::constant(yb))).backward();
      tp::clear();
      sgd.step(ps);
    }
    for (int c : seen) BOOST_TEST_REQUIRE(c == 1);
  }
  BOOST_TEST(r.loss(values(ps[0])) < 1.05 * r.loss(r.least_squares()));
}

BOOST_AUTO_TEST_SUITE_END()
