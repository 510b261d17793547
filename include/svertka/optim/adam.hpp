#ifndef SVERTKA_OPTIM_ADAM_HPP
#define SVERTKA_OPTIM_ADAM_HPP
//! @file
//! `Adam` and `AdamW`, with PyTorch's formulas exactly (bias correction, ε outside the square root,
//! AdamW's decoupled weight decay).

#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string_view>

#include "svertka/optim/basic_optimizer.hpp"
#include "svertka/optim/schedules.hpp"

namespace svertka::optim {

//! Options of `Adam` and `AdamW` (PyTorch's defaults, except AdamW's weight_decay = 1e-2).
struct AdamOptions {
  double beta1 = 0.9;       //!< β₁ in [0, 1)
  double beta2 = 0.999;     //!< β₂ in [0, 1)
  double eps = 1e-8;        //!< ε ≥ 0
  double weight_decay = 0;  //!< λ ≥ 0
  ScheduleUnit unit = ScheduleUnit::step;
};
//! `AdamOptions` with AdamW's default weight decay.
struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  ScheduleUnit unit = ScheduleUnit::step;
};

//! The Adam update (PyTorch 1.13's torch.optim.Adam / AdamW, amsgrad off), step t = 1, 2, ...:
//!
//!     w ← w (1 − η_t λ)                            (AdamW only: decoupled decay)
//!     g ← ∇L(w) + λ w                              (Adam only: L2 penalty in the gradient)
//!     m ← β₁ m + (1 − β₁) g
//!     v ← β₂ v + (1 − β₂) g²
//!     w ← w − (η_t / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//!
//! m and v start at zero.
struct AdamRule {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool decoupled = false;
  static constexpr std::array<std::string_view, 2> buffers{"exp_avg", "exp_avg_sq"};

  void validate(std::string_view who) const {
    detail::require(beta1 >= 0 && beta1 < 1, who, "beta1 must be in [0, 1)", beta1);
    detail::require(beta2 >= 0 && beta2 < 1, who, "beta2 must be in [0, 1)", beta2);
    detail::require(eps >= 0, who, "eps must be >= 0", eps);
    detail::require(weight_decay >= 0, who, "weight_decay must be >= 0", weight_decay);
  }

  template <class T>
  double apply(T* w, const T* g, std::array<T*, 2> s, std::int64_t n, const StepContext& c) const {
    const double t = static_cast<double>(c.step);
    const T step_size = static_cast<T>(c.eta / (1 - std::pow(beta1, t)));
    const T bc2_sqrt = static_cast<T>(std::sqrt(1 - std::pow(beta2, t)));
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2), one_b1 = static_cast<T>(1 - beta1),
            one_b2 = static_cast<T>(1 - beta2), e = static_cast<T>(eps);
    const T wd = static_cast<T>(decoupled ? 0.0 : weight_decay);
    const T shrink = static_cast<T>(decoupled ? 1 - c.eta * weight_decay : 1.0);
    T* m = s[0];
    T* v = s[1];
    double sum_sq = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const T old = w[i];
      const T x = decoupled ? old * shrink : old;
      const T d = wd != T(0) ? g[i] + wd * x : g[i];
      m[i] = m[i] * b1 + one_b1 * d;
      v[i] = v[i] * b2 + one_b2 * (d * d);
      const T denom = std::sqrt(v[i]) / bc2_sqrt + e;
      w[i] = x - step_size * (m[i] / denom);
      const double delta = static_cast<double>(w[i] - old);
      sum_sq += delta * delta;
    }
    return sum_sq;
  }
};

//! Adam (Kingma & Ba), PyTorch's torch.optim.Adam(lr, betas, eps, weight_decay).
//! @code
//! sv::optim::Adam opt{1e-3};                                        // Constant{1e-3}
//! sv::optim::Adam warm{sv::optim::Warmup{.warmup_steps = 100, .after = sv::optim::Constant{1e-3}}, {.beta2 = 0.99}};
//! @endcode
template <class S = Constant>
class Adam : public BasicOptimizer<AdamRule, S> {
 public:
  explicit Adam(S schedule, AdamOptions o = {})
      : BasicOptimizer<AdamRule, S>("Adam", std::move(schedule),
                                    AdamRule{o.beta1, o.beta2, o.eps, o.weight_decay, false}, o.unit) {}
  explicit Adam(double eta, AdamOptions o = {})
    requires std::same_as<S, Constant>
      : Adam(Constant{eta}, o) {}
};
Adam(double) -> Adam<Constant>;
Adam(double, AdamOptions) -> Adam<Constant>;

//! AdamW (Loshchilov & Hutter), PyTorch's torch.optim.AdamW: the decay w ← w(1 − η λ) is applied to
//! the weights directly, not through the gradient.
template <class S = Constant>
class AdamW : public BasicOptimizer<AdamRule, S> {
 public:
  explicit AdamW(S schedule, AdamWOptions o = {})
      : BasicOptimizer<AdamRule, S>("AdamW", std::move(schedule),
                                    AdamRule{o.beta1, o.beta2, o.eps, o.weight_decay, true}, o.unit) {}
  explicit AdamW(double eta, AdamWOptions o = {})
    requires std::same_as<S, Constant>
      : AdamW(Constant{eta}, o) {}
};
AdamW(double) -> AdamW<Constant>;
AdamW(double, AdamWOptions) -> AdamW<Constant>;

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_ADAM_HPP
