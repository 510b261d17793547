// Linear regression by gradient descent on the tape, with the stopping rule ‖wᵗ − wᵗ⁻¹‖ < ε.
//
//   Q(w) = (1/ℓ) Σᵢ (⟨w, xᵢ⟩ − yᵢ)²,   wᵗ = wᵗ⁻¹ − η ∇Q(wᵗ⁻¹),   stop when ‖wᵗ − wᵗ⁻¹‖ < ε
//
// The update and the stopping rule are sv::optim::GD's; the gradient of the whole sample comes from one
// backward pass of Q on the tape. The data are synthetic (seeded); the answer is checked against the
// least-squares solution of the normal equations XᵀX w = Xᵀy, solved here directly. Prints the loss
// as it falls.
#include <cmath>
#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "svertka/svertka.hpp"

namespace sv = svertka;
namespace tp = svertka::tape;

// Solves A w = b (d×d, symmetric positive definite) by Gaussian elimination with partial pivoting.
static std::vector<double> solve(std::vector<double> A, std::vector<double> b, int d) {
  for (int c = 0; c < d; ++c) {
    int piv = c;
    for (int r = c + 1; r < d; ++r)
      if (std::abs(A[r * d + c]) > std::abs(A[piv * d + c])) piv = r;
    for (int k = 0; k < d; ++k) std::swap(A[c * d + k], A[piv * d + k]);
    std::swap(b[c], b[piv]);
    for (int r = c + 1; r < d; ++r) {
      const double f = A[r * d + c] / A[c * d + c];
      for (int k = c; k < d; ++k) A[r * d + k] -= f * A[c * d + k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> w(d);
  for (int r = d - 1; r >= 0; --r) {
    double s = b[r];
    for (int k = r + 1; k < d; ++k) s -= A[r * d + k] * w[k];
    w[r] = s / A[r * d + r];
  }
  return w;
}

int main() {
  const int l = 500, d = 4;  // objects, features (the last feature is a constant 1: the bias)
  const double eta = 0.1, eps = 1e-7;
  const int max_steps = 20000;

  sv::Rng rng(2022);
  const std::vector<double> w_true = {1.5, -2.0, 0.5, 3.0};
  auto X = sv::Tensor<double>::empty({l, d});
  auto y = sv::Tensor<double>::empty({l, 1});
  for (int i = 0; i < l; ++i) {
    double t = 0;
    for (int j = 0; j < d; ++j) {
      X(i, j) = j + 1 == d ? 1.0 : rng.normal();
      t += w_true[j] * X(i, j);
    }
    y(i, 0) = t + 0.1 * rng.normal();
  }

  std::vector<sv::Parameter<double>> params{sv::Parameter<double>(sv::Tensor<double>::zeros({d, 1}))};
  sv::Parameter<double>& w = params[0];
  sv::optim::GD gd{sv::optim::Constant{eta}, sv::optim::StopWhenStepBelow{.eps = eps, .max_steps = max_steps}};
  double loss = 0;
  while (!gd.should_stop()) {
    w.zero_grad();
    auto residual = tp::matmul(tp::constant(X), tp::param(w)) - tp::constant(y);
    auto Q = tp::mean(tp::square(residual));
    Q.backward();  // w.grad() = ∇Q(w), over all ℓ objects
    loss = Q.value().item();
    tp::clear();
    gd.step(params);
    const std::int64_t step = gd.steps();
    if (step <= 5 || step % 25 == 0 || gd.should_stop())
      fmt::print("step {:5d}  Q(w) = {:.8f}  |w_t - w_t-1| = {:.3e}\n", step, loss, gd.last_step_norm());
  }

  // the closed form, for comparison
  std::vector<double> A(d * d, 0.0), b(d, 0.0);
  for (int i = 0; i < l; ++i)
    for (int j = 0; j < d; ++j) {
      b[j] += X(i, j) * y(i, 0);
      for (int k = 0; k < d; ++k) A[j * d + k] += X(i, j) * X(i, k);
    }
  const auto w_ls = solve(A, b, d);
  double max_err = 0;
  fmt::print("\nstopped after {} steps ({})\n", gd.steps(), gd.stop_reason());
  for (int j = 0; j < d; ++j) {
    fmt::print("w[{}] = {:+.6f}   least squares {:+.6f}   true {:+.2f}\n", j, w.value()(j, 0), w_ls[j], w_true[j]);
    max_err = std::max(max_err, std::abs(w.value()(j, 0) - w_ls[j]));
  }
  fmt::print("max |w - w_ls| = {:.2e}\n", max_err);
  return max_err < 1e-5 && gd.last_step_norm() < eps ? 0 : 1;
}
