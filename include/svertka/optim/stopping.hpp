#ifndef SVERTKA_OPTIM_STOPPING_HPP
#define SVERTKA_OPTIM_STOPPING_HPP
//! @file
//! Stopping rules: `StopWhenStepBelow` (the seed's ‖wᵗ − wᵗ⁻¹‖ < ε), `EarlyStopping` (the seed's
//! "stop when the test error stops falling") and `MaxEpochs`.
//!
//! Each works alone in a hand-written loop (`should_stop(...)` / `update(value)`) and as a `fit`
//! callback (its `on_step_end` / `on_epoch_end` returns true to stop, and says why in
//! `ctx.stop_reason`). Options are checked by `validate()`, which `fit` and `GD` call.

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "svertka/optim/metrics.hpp"
#include "svertka/optim/schedules.hpp"

namespace svertka::optim {

//! Stop when the last step moved the parameters by less than ε: ‖wᵗ − wᵗ⁻¹‖ < eps (Euclidean norm
//! over all parameters), or when `max_steps` steps were taken (0: no step limit).
struct StopWhenStepBelow {
  double eps;
  std::int64_t max_steps = 0;

  void validate() const {
    detail::require(eps > 0, "StopWhenStepBelow", "eps must be > 0", eps);
    detail::require(max_steps >= 0, "StopWhenStepBelow", "max_steps must be >= 0 (0: no limit)",
                    static_cast<double>(max_steps));
  }
  //! True when `step_norm` < eps, or `steps` reached max_steps.
  bool should_stop(double step_norm, std::int64_t steps) const {
    return step_norm < eps || (max_steps > 0 && steps >= max_steps);
  }
  //! Why `should_stop` said true.
  std::string reason(double step_norm, std::int64_t steps) const {
    if (step_norm < eps) return fmt::format("step below eps: |w_t - w_t-1| = {:.3g} < {:.3g}", step_norm, eps);
    return fmt::format("step limit: {} steps", steps);
  }

  //! As a `fit` callback: checked after every step, on the optimizer's `last_step_norm()`.
  template <class Ctx>
  bool on_step_end(Ctx& ctx) const {
    static_assert(requires { ctx.optimizer.last_step_norm(); },
                  "StopWhenStepBelow: the optimizer must have last_step_norm() (every built-in optimizer has it)");
    const double norm = ctx.optimizer.last_step_norm();
    if (!should_stop(norm, ctx.step)) return false;
    ctx.stop_reason = reason(norm, ctx.step);
    return true;
  }
};

//! Stop when a monitored value (to be minimised: by default the test error, or the test loss when
//! the evaluation gives no accuracy) has not improved for `patience` epochs in a row. A value
//! improves when it is below best − min_delta (Keras' rule, mode min).
//!
//! The counters below are its state; `fit` starts them fresh (they are not part of a checkpoint).
struct EarlyStopping {
  std::int64_t patience;
  double min_delta = 0;
  Monitor monitor = Monitor::automatic;

  double best = std::numeric_limits<double>::infinity();  //!< best value seen
  std::int64_t bad_epochs = 0;                            //!< values in a row without improvement
  std::int64_t best_epoch = 0;                            //!< when the best was seen (1-based count of updates)
  std::int64_t updates = 0;                               //!< values seen

  void validate() const {
    detail::require(patience >= 1, "EarlyStopping", "patience must be >= 1", static_cast<double>(patience));
    detail::require(min_delta >= 0, "EarlyStopping", "min_delta must be >= 0", min_delta);
  }
  //! Records the next value; true when the run should stop. A NaN never improves.
  bool update(double value) {
    ++updates;
    if (value < best - min_delta) {
      best = value;
      best_epoch = updates;
      bad_epochs = 0;
      return false;
    }
    return ++bad_epochs >= patience;
  }

  template <class Ctx>
  bool on_epoch_end(Ctx& ctx) {
    const double v = monitored(monitor, ctx.train_loss, ctx.test, "EarlyStopping");
    if (!update(v)) return false;
    ctx.stop_reason = fmt::format("early stopping: no improvement for {} epochs (best {:.6g} at epoch {})",
                                  bad_epochs, best, ctx.first_epoch - 1 + best_epoch);
    return true;
  }
};

//! Stop after epoch `n`.
struct MaxEpochs {
  std::int64_t n;

  void validate() const { detail::require(n >= 1, "MaxEpochs", "n must be >= 1", static_cast<double>(n)); }
  bool should_stop(std::int64_t epoch) const { return epoch >= n; }

  template <class Ctx>
  bool on_epoch_end(Ctx& ctx) const {
    if (!should_stop(ctx.epoch)) return false;
    ctx.stop_reason = fmt::format("epoch limit: {} epochs", n);
    return true;
  }
};

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_STOPPING_HPP
