#ifndef SVERTKA_OPTIM_SCHEDULES_HPP
#define SVERTKA_OPTIM_SCHEDULES_HPP
//! @file
//! Step-size schedules: t ↦ η_t for t = 1, 2, 3, ... (steps or epochs, see `ScheduleUnit`).
//!
//! Each is a small aggregate, written with designated initializers, whose options are checked by
//! `validate()` when an optimizer takes it (`OptionError` naming the schedule, the option and its
//! value). `Warmup` and `Chain` wrap any `Schedule`, including a user's own.
//! @code
//! sv::optim::InversePower{.eta0 = 0.1, .power = 0.3}                           // 0.1 / t^0.3 (the seed)
//! sv::optim::Warmup{.warmup_steps = 100, .after = sv::optim::Cosine{.eta_max = 0.1, .period = 1000}}
//! sv::optim::Chain{.first = sv::optim::Constant{0.1}, .switch_at = 5, .second = sv::optim::Exponential{0.1, 0.9}}
//! @endcode

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/tensor_dict.hpp"
#include "svertka/optim/concepts.hpp"

namespace svertka::optim {

namespace detail {

inline void require(bool ok, std::string_view who, std::string_view what, double value) {
  if (!ok) throw OptionError(fmt::format("{}: {} (got {})", who, what, value));
}

//! Checks a schedule's options when it has a `validate()` member (user schedules need not).
template <class S>
void validate_schedule(const S& s) {
  if constexpr (requires { s.validate(); }) s.validate();
}

//! η at `t` from any schedule, checked: finite and not negative. `who` names the caller.
template <class S>
double eta_at(const S& s, std::int64_t t, std::string_view who) {
  const double eta = static_cast<double>(s(t));
  if (!(eta >= 0) || !std::isfinite(eta))
    throw OptionError(fmt::format("{}: the schedule gave a step size of {} at t = {}; it must be finite and >= 0",
                                  who, eta, t));
  return eta;
}

template <class S>
concept Reportable = requires(S& s, double metric) { s.report(metric); };
template <class S>
concept Stateful = requires(S& s, const S& cs, const TensorDict& d) {
  { cs.state_dict() } -> std::convertible_to<TensorDict>;
  s.load_state_dict(d);
};

}  // namespace detail

//! η_t = η.
struct Constant {
  double eta;
  double operator()(std::int64_t) const { return eta; }
  void validate() const { detail::require(eta > 0, "Constant", "eta must be > 0", eta); }
};

//! η_t = η₀ / t^p — the seed's decaying step for SGD, η_t = 0.1 / t^0.3 by default.
struct InversePower {
  double eta0 = 0.1;
  double power = 0.3;
  double operator()(std::int64_t t) const { return eta0 / std::pow(static_cast<double>(t), power); }
  void validate() const {
    detail::require(eta0 > 0, "InversePower", "eta0 must be > 0", eta0);
    detail::require(power >= 0, "InversePower", "power must be >= 0", power);
  }
};

//! η_t = η₀ · γ^⌊(t − 1) / step_size⌋ (PyTorch's StepLR, with t − 1 its `last_epoch`).
struct StepDecay {
  double eta0;
  std::int64_t step_size;
  double gamma = 0.1;
  double operator()(std::int64_t t) const {
    return eta0 * std::pow(gamma, static_cast<double>((t - 1) / step_size));
  }
  void validate() const {
    detail::require(eta0 > 0, "StepDecay", "eta0 must be > 0", eta0);
    detail::require(step_size >= 1, "StepDecay", "step_size must be >= 1", static_cast<double>(step_size));
    detail::require(gamma > 0, "StepDecay", "gamma must be > 0", gamma);
  }
};

//! η_t = η₀ · γ^(t − 1) (PyTorch's ExponentialLR).
struct Exponential {
  double eta0;
  double gamma;
  double operator()(std::int64_t t) const { return eta0 * std::pow(gamma, static_cast<double>(t - 1)); }
  void validate() const {
    detail::require(eta0 > 0, "Exponential", "eta0 must be > 0", eta0);
    detail::require(gamma > 0, "Exponential", "gamma must be > 0", gamma);
  }
};

//! Cosine annealing from η_max to η_min over `period` steps:
//! η_t = η_min + (η_max − η_min) · (1 + cos(π · c / period)) / 2, with
//! c = (t − 1) mod period when `restarts` (SGDR, PyTorch's CosineAnnealingWarmRestarts with T_mult = 1),
//! else c = min(t − 1, period): η stays at η_min after the period. (Within the period this is PyTorch's
//! CosineAnnealingLR; past it PyTorch's closed form would rise again.)
struct Cosine {
  double eta_max;
  std::int64_t period;
  double eta_min = 0;
  bool restarts = false;
  double operator()(std::int64_t t) const {
    const std::int64_t c = restarts ? (t - 1) % period : std::min(t - 1, period);
    const double x = std::numbers::pi * static_cast<double>(c) / static_cast<double>(period);
    return eta_min + (eta_max - eta_min) * (1 + std::cos(x)) / 2;
  }
  void validate() const {
    detail::require(eta_max > 0, "Cosine", "eta_max must be > 0", eta_max);
    detail::require(period >= 1, "Cosine", "period must be >= 1", static_cast<double>(period));
    detail::require(eta_min >= 0 && eta_min <= eta_max, "Cosine", "eta_min must be in [0, eta_max]", eta_min);
  }
};

//! A linear ramp for `warmup_steps` steps, then `after` from its own t = 1:
//! η_t = after(1) · t / (W + 1) for t ≤ W, and η_t = after(t − W) for t > W (W = warmup_steps; W = 0
//! is `after` itself). Forwards `report(metric)` and state to `after` when it has them (`OnPlateau`).
template <class S>
struct Warmup {
  static_assert(Schedule<S>, SVERTKA_SCHEDULE_SENTENCE);
  std::int64_t warmup_steps;
  S after;

  double operator()(std::int64_t t) const {
    if (t <= warmup_steps)
      return static_cast<double>(after(1)) * static_cast<double>(t) / static_cast<double>(warmup_steps + 1);
    return static_cast<double>(after(t - warmup_steps));
  }
  void validate() const {
    detail::require(warmup_steps >= 0, "Warmup", "warmup_steps must be >= 0", static_cast<double>(warmup_steps));
    detail::validate_schedule(after);
  }
  void report(double metric)
    requires detail::Reportable<S>
  {
    after.report(metric);
  }
  TensorDict state_dict() const
    requires detail::Stateful<S>
  {
    return after.state_dict();
  }
  void load_state_dict(const TensorDict& d)
    requires detail::Stateful<S>
  {
    after.load_state_dict(d);
  }
};
template <class S>
Warmup(std::int64_t, S) -> Warmup<S>;

//! `first` for t < switch_at, then `second` from its own t = 1: η_t = second(t − switch_at + 1)
//! (PyTorch's SequentialLR with one milestone). Forwards `report` and state to whichever part has them.
template <class A, class B>
struct Chain {
  static_assert(Schedule<A> && Schedule<B>, SVERTKA_SCHEDULE_SENTENCE);
  A first;
  std::int64_t switch_at;
  B second;

  double operator()(std::int64_t t) const {
    if (t < switch_at) return static_cast<double>(first(t));
    return static_cast<double>(second(t - switch_at + 1));
  }
  void validate() const {
    detail::require(switch_at >= 1, "Chain", "switch_at must be >= 1", static_cast<double>(switch_at));
    detail::validate_schedule(first);
    detail::validate_schedule(second);
  }
  void report(double metric)
    requires(detail::Reportable<A> || detail::Reportable<B>)
  {
    if constexpr (detail::Reportable<A>) first.report(metric);
    if constexpr (detail::Reportable<B>) second.report(metric);
  }
  TensorDict state_dict() const
    requires(detail::Stateful<A> || detail::Stateful<B>)
  {
    TensorDict d;
    if constexpr (detail::Stateful<A>) d.merge("first/", first.state_dict());
    if constexpr (detail::Stateful<B>) d.merge("second/", second.state_dict());
    return d;
  }
  void load_state_dict(const TensorDict& d)
    requires(detail::Stateful<A> || detail::Stateful<B>)
  {
    // both parts are loaded into copies first, so a bad dict leaves the chain as it was
    A a = first;
    B b = second;
    if constexpr (detail::Stateful<A>) a.load_state_dict(d.sub("first/"));
    if constexpr (detail::Stateful<B>) b.load_state_dict(d.sub("second/"));
    first = std::move(a);
    second = std::move(b);
  }
};
template <class A, class B>
Chain(A, std::int64_t, B) -> Chain<A, B>;

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_SCHEDULES_HPP
