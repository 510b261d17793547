#include "svertka/check/gradcheck.hpp"

#include <algorithm>
#include <cmath>

namespace svertka::check::detail {

void compare(InputReport& r, const GradcheckOptions& o, std::int64_t j, std::int64_t k, double analytic,
             double numeric) {
  if (analytic != 0.0) r.zero = false;
  if (!std::isfinite(analytic) || !std::isfinite(numeric)) {
    r.finite = false;
    r.passed = false;
  }
  const double err = std::abs(analytic - numeric);
  const double allowed = o.atol + o.rtol * std::abs(numeric);
  r.max_abs_error = std::max(r.max_abs_error, err);
  if (std::abs(numeric) > o.atol) r.max_rel_error = std::max(r.max_rel_error, err / std::abs(numeric));
  // the worst element is the one furthest outside (or least inside) its tolerance
  const double excess = std::isnan(err) ? INFINITY : err - allowed;
  if (excess > r.worst_excess) {
    r.worst_excess = excess;
    r.worst = j;
    r.worst_output = k;
    r.analytic = analytic;
    r.numeric = numeric;
  }
  if (!(err <= allowed)) r.passed = false;
}

void finish(Report& report) {
  bool all_zero = true;
  for (const InputReport& r : report.inputs) all_zero = all_zero && r.zero;
  report.passed = std::all_of(report.inputs.begin(), report.inputs.end(), [](const auto& r) { return r.passed; });
  if (!report.passed) {
    report.reason = "analytic and numeric gradients differ beyond the tolerance";
    for (const InputReport& r : report.inputs)
      if (!r.finite) report.reason = "a gradient is not finite (NaN or infinity)";
  } else if (all_zero && !report.options.expect_zero) {
    report.passed = false;
    report.reason = "every checked gradient is zero: the comparison proves nothing (set expect_zero if that is right)";
  }
}

}  // namespace svertka::check::detail

fmt::format_context::iterator fmt::formatter<svertka::check::Report>::format(const svertka::check::Report& r,
                                                                             fmt::format_context& ctx) const {
  auto out = ctx.out();
  const auto& o = r.options;
  out = fmt::format_to(out, "gradcheck {}: {} (eps={:g}, atol={:g}, rtol={:g})\n", r.passed ? "PASSED" : "FAILED",
                       o.fast ? "projection vᵀJu per input" : "full Jacobian", o.eps, o.atol, o.rtol);
  if (!r.passed) out = fmt::format_to(out, "  reason: {}\n", r.reason);
  for (std::size_t i = 0; i < r.inputs.size(); ++i) {
    const auto& in = r.inputs[i];
    out = fmt::format_to(out, "  input {} {}: max abs err {:.3g}, max rel err {:.3g}", i, in.shape, in.max_abs_error,
                         in.max_rel_error);
    if (in.worst >= 0) {
      // multi-index of the worst element
      std::string idx;
      std::int64_t rest = in.worst;
      for (int d = in.shape.rank() - 1; d >= 0; --d) {
        idx = fmt::format("{}{}", rest % in.shape[d], idx.empty() ? "" : "," + idx);
        rest /= in.shape[d];
      }
      out = fmt::format_to(out, ", worst at ({}) of output {}: analytic {:.9g} numeric {:.9g}", idx, in.worst_output,
                           in.analytic, in.numeric);
    } else {
      out = fmt::format_to(out, ", analytic {:.9g} numeric {:.9g}", in.analytic, in.numeric);
    }
    out = fmt::format_to(out, "{}{}\n", in.zero ? " [all zero]" : "", in.passed ? " ok" : " FAIL");
  }
  return out;
}
