#ifndef SVERTKA_OPTIM_SGD_HPP
#define SVERTKA_OPTIM_SGD_HPP
//! @file
//! `SGD`: stochastic gradient descent, w ← w − η_t ∇L — on one random object (the seed's i_t), or on a
//! minibatch; which objects is the business of the batch sampler (`sv::data::BatchSampler`), the
//! optimizer only reads the gradients it is given.

#include <array>
#include <cstdint>
#include <string_view>

#include "svertka/kernels/update.hpp"
#include "svertka/optim/basic_optimizer.hpp"
#include "svertka/optim/schedules.hpp"

namespace svertka::optim {

//! Options of `SGD` (and `GD`).
struct SgdOptions {
  double weight_decay = 0;  //!< λ ≥ 0: the gradient gets λ·w added (L2 penalty, as in PyTorch)
  ScheduleUnit unit = ScheduleUnit::step;
};

//! The plain gradient step (PyTorch's torch.optim.SGD with momentum = 0):
//! g ← ∇L(w) + λ w,   w ← w − η_t g.
struct SgdRule {
  double weight_decay = 0;
  static constexpr std::array<std::string_view, 0> buffers{};

  void validate(std::string_view who) const { detail::require(weight_decay >= 0, who, "weight_decay must be >= 0", weight_decay); }

  template <class T>
  double apply(T* w, const T* g, std::array<T*, 0>, std::int64_t n, const StepContext& c) const {
    return kernels::sgd_update<T>(n, static_cast<T>(c.eta), static_cast<T>(weight_decay), w, g);
  }
};

//! Stochastic gradient descent with step size η_t from schedule `S`:
//! w^t = w^{t−1} − η_t ∇L(y_{i_t}, a(x_{i_t})), with λ w added to the gradient when weight_decay > 0.
//! @code
//! sv::optim::SGD opt{sv::optim::InversePower{.eta0 = 0.1, .power = 0.3}};   // η_t = 0.1 / t^0.3
//! sv::optim::SGD per_epoch{sv::optim::InversePower{}, {.unit = sv::optim::ScheduleUnit::epoch}};
//! sv::optim::SGD plain{0.01};                                               // Constant{0.01}
//! opt.step(params);
//! @endcode
template <class S = Constant>
class SGD : public BasicOptimizer<SgdRule, S> {
 public:
  explicit SGD(S schedule, SgdOptions o = {})
      : BasicOptimizer<SgdRule, S>("SGD", std::move(schedule), SgdRule{o.weight_decay}, o.unit) {}
  explicit SGD(double eta, SgdOptions o = {})
    requires std::same_as<S, Constant>
      : SGD(Constant{eta}, o) {}
};
SGD(double) -> SGD<Constant>;
SGD(double, SgdOptions) -> SGD<Constant>;

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_SGD_HPP
