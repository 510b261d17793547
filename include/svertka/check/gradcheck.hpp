#ifndef SVERTKA_CHECK_GRADCHECK_HPP
#define SVERTKA_CHECK_GRADCHECK_HPP
//! @file
//! `gradcheck`: finite differences in double against the tape's analytic gradient.
//!
//! Full mode compares the whole Jacobian: row k of the analytic Jacobian comes from a backward pass
//! seeded with the k-th unit vector, column j of the numeric one from the central difference
//! (f(x + ε eⱼ) − f(x − ε eⱼ)) / 2ε. Fast mode compares one projection per input,
//! vᵀ J u, with random u and v: two evaluations per input instead of two per element.
//!
//! An element passes when |analytic − numeric| ≤ atol + rtol·|numeric|. A check whose analytic
//! gradient is zero for every input *fails* ("every checked gradient is zero") unless
//! `expect_zero` says that is the expected answer: a test that compares zero with zero checks
//! nothing.
//!
//! gradcheck records on the calling thread's tape and clears it before and after: Vars recorded
//! before the call become stale.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "svertka/core/rng.hpp"
#include "svertka/tape/tape.hpp"
#include "svertka/tape/var.hpp"

namespace svertka::check {

struct GradcheckOptions {
  double eps = 1e-6;         //!< finite-difference step
  double atol = 1e-5;        //!< absolute tolerance
  double rtol = 1e-3;        //!< relative tolerance
  bool fast = false;         //!< compare vᵀ J u per input instead of the full Jacobian
  bool expect_zero = false;  //!< an all-zero gradient is the right answer: do not fail for it
  std::uint64_t seed = 0x6c3;  //!< for u and v in fast mode
};

//! What gradcheck found for one input.
struct InputReport {
  Shape shape;
  double max_abs_error = 0;  //!< max |analytic − numeric|
  double max_rel_error = 0;  //!< max |analytic − numeric| / |numeric| (over |numeric| > atol)
  std::int64_t worst = -1;   //!< flat index of the element furthest outside its tolerance (full mode)
  std::int64_t worst_output = -1;  //!< flat index of the output element there (full mode)
  double analytic = 0, numeric = 0;  //!< the two values there
  double worst_excess = -INFINITY;    //!< |analytic − numeric| − tolerance there (negative: inside)
  bool passed = true;
  bool zero = true;  //!< every analytic entry is exactly 0
  bool finite = true;
};

//! The result of a gradcheck; converts to `true` when it passed. Printable with fmt.
struct Report {
  GradcheckOptions options;
  std::vector<InputReport> inputs;
  bool passed = true;
  std::string reason;  //!< why it failed, empty when it passed
  explicit operator bool() const { return passed; }
};

namespace detail {
//! Folds one (analytic, numeric) pair at (input element j, output element k) into the report.
void compare(InputReport& r, const GradcheckOptions& o, std::int64_t j, std::int64_t k, double analytic, double numeric);
//! Sets `passed` and `reason` from the per-input reports.
void finish(Report& report);
}  // namespace detail

//! Checks the gradient of `f` at `inputs`. `f` takes `const std::vector<tape::Var<double>>&` (one Var
//! per input, each a parameter) and returns a `tape::Var<double>` of any shape.
template <class F>
  requires std::is_invocable_r_v<tape::Var<double>, F&, const std::vector<tape::Var<double>>&>
Report gradcheck(F&& f, const std::vector<Tensor<double>>& inputs, const GradcheckOptions& opt = {}) {
  using tape::Var;
  if (!(opt.eps > 0) || opt.atol < 0 || opt.rtol < 0)
    throw OptionError(fmt::format("gradcheck: eps must be > 0 and atol, rtol ≥ 0 (eps={}, atol={}, rtol={})", opt.eps,
                                  opt.atol, opt.rtol));
  if (inputs.empty()) throw OptionError("gradcheck: no inputs to check");
  tape::clear();
  Report report{opt, {}, true, {}};
  std::vector<Tensor<double>> x;
  for (const auto& t : inputs) {
    x.push_back(t.clone());
    report.inputs.push_back(InputReport{.shape = t.shape()});
  }
  // f at the current x, all inputs constant
  auto evaluate = [&] {
    tape::NoGrad no_grad;
    std::vector<Var<double>> v;
    for (auto& t : x) v.push_back(tape::constant(t));
    Tensor<double> y = f(v).value().clone();
    tape::clear();
    return y;
  };
  // analytic gradients for a seed: one tensor per input
  std::vector<Parameter<double>> params;
  for (auto& t : x) params.emplace_back(t);
  std::vector<Var<double>> v;
  for (auto& p : params) v.push_back(tape::param(p));
  const Var<double> y = f(v);
  const std::int64_t m = y.numel();
  Rng rng(opt.seed);

  if (!opt.fast) {
    // analytic Jacobian, one backward pass per output element: J[i] is [m, n_i]
    std::vector<std::vector<double>> J(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) J[i].assign(static_cast<std::size_t>(m * x[i].numel()), 0.0);
    for (std::int64_t k = 0; k < m; ++k) {
      for (auto& p : params) p.zero_grad();
      Tensor<double> seed = Tensor<double>::zeros(y.shape());
      seed.data()[k] = 1.0;
      y.backward(seed, {.retain_graph = true});
      for (std::size_t i = 0; i < x.size(); ++i)
        for (std::int64_t j = 0; j < x[i].numel(); ++j)
          J[i][static_cast<std::size_t>(k * x[i].numel() + j)] = params[i].grad().data()[j];
    }
    tape::clear();
    // numeric Jacobian column by column
    for (std::size_t i = 0; i < x.size(); ++i) {
      for (std::int64_t j = 0; j < x[i].numel(); ++j) {
        double& xj = x[i].data()[j];
        const double saved = xj;
        xj = saved + opt.eps;
        const Tensor<double> plus = evaluate();
        xj = saved - opt.eps;
        const Tensor<double> minus = evaluate();
        xj = saved;
        for (std::int64_t k = 0; k < m; ++k) {
          const double numeric = (plus.data()[k] - minus.data()[k]) / (2 * opt.eps);
          detail::compare(report.inputs[i], opt, j, k, J[i][static_cast<std::size_t>(k * x[i].numel() + j)], numeric);
        }
      }
    }
  } else {
    // vᵀ J u per input
    Tensor<double> vseed = Tensor<double>::randn(y.shape(), rng);
    y.backward(vseed);
    std::vector<Tensor<double>> g;
    for (auto& p : params) g.push_back(p.grad().clone());
    tape::clear();
    for (std::size_t i = 0; i < x.size(); ++i) {
      const Tensor<double> u = Tensor<double>::randn(x[i].shape(), rng);
      double analytic = 0;
      bool zero = true;
      for (std::int64_t j = 0; j < u.numel(); ++j) {
        analytic += g[i].data()[j] * u.data()[j];
        zero = zero && g[i].data()[j] == 0.0;
      }
      const Tensor<double> base = x[i].clone();
      auto shifted = [&](double s) {
        for (std::int64_t j = 0; j < u.numel(); ++j) x[i].data()[j] = base.data()[j] + s * u.data()[j];
        const Tensor<double> out = evaluate();
        double d = 0;
        for (std::int64_t k = 0; k < m; ++k) d += vseed.data()[k] * out.data()[k];
        return d;
      };
      const double numeric = (shifted(opt.eps) - shifted(-opt.eps)) / (2 * opt.eps);
      for (std::int64_t j = 0; j < u.numel(); ++j) x[i].data()[j] = base.data()[j];
      detail::compare(report.inputs[i], opt, -1, -1, analytic, numeric);
      report.inputs[i].zero = zero;
    }
  }
  tape::clear();
  detail::finish(report);
  return report;
}

}  // namespace svertka::check

template <>
struct fmt::formatter<svertka::check::Report> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  fmt::format_context::iterator format(const svertka::check::Report& r, fmt::format_context& ctx) const;
};

#endif  // SVERTKA_CHECK_GRADCHECK_HPP
