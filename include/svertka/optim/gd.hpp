#ifndef SVERTKA_OPTIM_GD_HPP
#define SVERTKA_OPTIM_GD_HPP
//! @file
//! `GD`: full-batch gradient descent with the seed's stopping rule.

#include <cstdint>
#include <string>

#include "svertka/optim/sgd.hpp"
#include "svertka/optim/stopping.hpp"

namespace svertka::optim {

//! Gradient descent on the whole data set (the seed's first algorithm):
//!
//! 1. start from w⁰;
//! 2. repeat wᵗ = wᵗ⁻¹ − η_t ∇Q(wᵗ⁻¹), where ∇Q is the gradient *accumulated over all objects*
//!    (the caller fills it: one backward pass of the mean loss, or one per batch before the step);
//! 3. stop when ‖wᵗ − wᵗ⁻¹‖ < ε, or at `max_steps` (`should_stop()`).
//!
//! The update is `SGD`'s (with the same options); what GD adds is the stopping rule.
//! @code
//! sv::optim::GD gd{sv::optim::Constant{0.1}, sv::optim::StopWhenStepBelow{.eps = 1e-7, .max_steps = 20000}};
//! while (!gd.should_stop()) { params_zero_grad(); full_loss().backward(); gd.step(params); }
//! @endcode
template <class S = Constant>
class GD : public BasicOptimizer<SgdRule, S> {
  using Base = BasicOptimizer<SgdRule, S>;

 public:
  GD(S schedule, StopWhenStepBelow stop, SgdOptions o = {})
      : Base("GD", std::move(schedule), SgdRule{o.weight_decay}, o.unit), stop_(stop) {
    stop_.validate();
  }

  //! True after a step that moved the parameters by less than ε, or after `max_steps` steps.
  bool should_stop() const { return this->steps() > 0 && stop_.should_stop(this->last_step_norm(), this->steps()); }
  //! Why `should_stop()` is true (empty while it is not).
  std::string stop_reason() const {
    return should_stop() ? stop_.reason(this->last_step_norm(), this->steps()) : std::string{};
  }
  const StopWhenStepBelow& stopping_rule() const { return stop_; }

 private:
  StopWhenStepBelow stop_;
};

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_GD_HPP
