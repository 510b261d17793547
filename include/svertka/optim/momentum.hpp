#ifndef SVERTKA_OPTIM_MOMENTUM_HPP
#define SVERTKA_OPTIM_MOMENTUM_HPP
//! @file
//! `Momentum` and `Nesterov`: PyTorch's torch.optim.SGD with momentum, and with nesterov=True.

#include <array>
#include <concepts>
#include <cstdint>
#include <string_view>

#include "svertka/kernels/update.hpp"
#include "svertka/optim/basic_optimizer.hpp"
#include "svertka/optim/schedules.hpp"

namespace svertka::optim {

//! Options of `Momentum`.
struct MomentumOptions {
  double momentum = 0.9;    //!< μ in [0, 1)
  double dampening = 0;     //!< τ in [0, 1]
  double weight_decay = 0;  //!< λ ≥ 0
  ScheduleUnit unit = ScheduleUnit::step;
};

//! Options of `Nesterov` (PyTorch requires dampening 0 with nesterov=True, so there is none).
struct NesterovOptions {
  double momentum = 0.9;    //!< μ in (0, 1)
  double weight_decay = 0;  //!< λ ≥ 0
  ScheduleUnit unit = ScheduleUnit::step;
};

//! The heavy-ball update with a momentum buffer b (PyTorch's formulas, step t = 1, 2, ...):
//!
//!     g ← ∇L(w) + λ w
//!     b ← g                       at t = 1
//!     b ← μ b + (1 − τ) g         at t > 1
//!     w ← w − η_t b               (Momentum)
//!     w ← w − η_t (g + μ b)       (Nesterov)
struct MomentumRule {
  double momentum = 0.9;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  static constexpr std::array<std::string_view, 1> buffers{"momentum_buffer"};

  void validate(std::string_view who) const {
    if (nesterov) detail::require(momentum > 0 && momentum < 1, who, "momentum must be in (0, 1)", momentum);
    else detail::require(momentum >= 0 && momentum < 1, who, "momentum must be in [0, 1)", momentum);
    detail::require(dampening >= 0 && dampening <= 1, who, "dampening must be in [0, 1]", dampening);
    detail::require(weight_decay >= 0, who, "weight_decay must be >= 0", weight_decay);
  }

  template <class T>
  double apply(T* w, const T* g, std::array<T*, 1> s, std::int64_t n, const StepContext& c) const {
    const kernels::MomentumStep<T> step{static_cast<T>(c.eta),     static_cast<T>(weight_decay),
                                        static_cast<T>(momentum),  static_cast<T>(1 - dampening),
                                        nesterov,                  c.step == 1};
    return kernels::momentum_update<T>(n, step, w, g, s[0]);
  }
};

//! SGD with momentum (PyTorch's torch.optim.SGD(momentum=μ, dampening=τ, weight_decay=λ)).
//! @code
//! sv::optim::Momentum opt{sv::optim::Constant{0.01}, {.momentum = 0.9}};
//! @endcode
template <class S = Constant>
class Momentum : public BasicOptimizer<MomentumRule, S> {
 public:
  explicit Momentum(S schedule, MomentumOptions o = {})
      : BasicOptimizer<MomentumRule, S>("Momentum", std::move(schedule),
                                        MomentumRule{o.momentum, o.dampening, o.weight_decay, false}, o.unit) {}
  explicit Momentum(double eta, MomentumOptions o = {})
    requires std::same_as<S, Constant>
      : Momentum(Constant{eta}, o) {}
};
Momentum(double) -> Momentum<Constant>;
Momentum(double, MomentumOptions) -> Momentum<Constant>;

//! SGD with Nesterov momentum (PyTorch's torch.optim.SGD(momentum=μ, nesterov=True)).
template <class S = Constant>
class Nesterov : public BasicOptimizer<MomentumRule, S> {
 public:
  explicit Nesterov(S schedule, NesterovOptions o = {})
      : BasicOptimizer<MomentumRule, S>("Nesterov", std::move(schedule),
                                        MomentumRule{o.momentum, 0.0, o.weight_decay, true}, o.unit) {}
  explicit Nesterov(double eta, NesterovOptions o = {})
    requires std::same_as<S, Constant>
      : Nesterov(Constant{eta}, o) {}
};
Nesterov(double) -> Nesterov<Constant>;
Nesterov(double, NesterovOptions) -> Nesterov<Constant>;

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_MOMENTUM_HPP
