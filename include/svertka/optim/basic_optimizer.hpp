#ifndef SVERTKA_OPTIM_BASIC_OPTIMIZER_HPP
#define SVERTKA_OPTIM_BASIC_OPTIMIZER_HPP
//! @file
//! `BasicOptimizer<Rule, S>`: what every built-in optimizer shares — the schedule and its clock,
//! the parameter list check, per-parameter state and its `state_dict`. The update formula is the
//! `Rule` policy (ensmallen's UpdatePolicy); `SGD`, `Momentum`, `Adam`, ... are thin classes over it.
//!
//! A rule is a struct with
//! - `static constexpr std::array<std::string_view, K> buffers`: names of its per-parameter state
//!   tensors (zero-initialised, same shape as the parameter);
//! - `void validate(std::string_view who) const`: checks its hyper-parameters (`OptionError`);
//! - `template <class T> double apply(T* w, const T* g, std::array<T*, K> s, std::int64_t n, const StepContext&) const`:
//!   updates n elements in place and returns Σ (w_new − w_old)² over them.

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/parameter.hpp"
#include "svertka/core/tensor_dict.hpp"
#include "svertka/core/threads.hpp"
#include "svertka/optim/concepts.hpp"
#include "svertka/optim/schedules.hpp"

namespace svertka::optim {

//! What a rule sees at one step: the step size and the number of this step (1 for the first).
struct StepContext {
  double eta;
  std::int64_t step;
};

template <class Rule, class S>
class BasicOptimizer {
  static_assert(Schedule<S>, SVERTKA_SCHEDULE_SENTENCE);
  static constexpr std::size_t K = Rule::buffers.size();
  //! Elements per chunk of an update: parallel over chunks, the step norm summed in chunk order.
  static constexpr std::int64_t grain = std::int64_t{1} << 15;

 public:
  using schedule_type = S;
  using rule_type = Rule;

  //! Validates the schedule's and the rule's options (`OptionError`). `name` prefixes messages.
  BasicOptimizer(std::string_view name, S schedule, Rule rule, ScheduleUnit unit)
      : name_(name), schedule_(std::move(schedule)), rule_(rule), unit_(unit) {
    detail::validate_schedule(schedule_);
    rule_.validate(name_);
  }

  //! One update of `params` from their gradients (a `std::vector`, `std::span` or array of
  //! `Parameter<float>` or `Parameter<double>`). The list must be the same parameters, in the same
  //! order, at every step (`OptionError` otherwise; `reset()` forgets them). Gradients are read, not
  //! cleared.
  template <class R>
  void step(R&& params) {
    static_assert(ParameterRange<R>, SVERTKA_PARAMS_SENTENCE);
    if constexpr (ParameterRange<R>) step_span(as_parameter_span(params), false);
  }

  //! `step(params)`, then every gradient set to zero, in the same pass over memory: each chunk's
  //! gradient is cleared right after the chunk is updated, while it is still in cache. The same
  //! weights and state as `step(params)` followed by `zero_grad()`, without the second pass over the
  //! gradients (which for a large layer at batch 1 costs as much as the update itself).
  template <class R>
  void step_and_zero_grad(R&& params) {
    static_assert(ParameterRange<R>, SVERTKA_PARAMS_SENTENCE);
    if constexpr (ParameterRange<R>) step_span(as_parameter_span(params), true);
  }

  //! The step size the next step will use.
  double eta() const { return detail::eta_at(schedule_, clock(), name_); }
  //! The step size the last step used (NaN before the first step).
  double last_eta() const { return last_eta_; }
  //! ‖wᵗ − wᵗ⁻¹‖, the Euclidean norm of the last step's change over all parameters (NaN before it).
  double last_step_norm() const { return last_norm_; }
  //! Steps taken.
  std::int64_t steps() const { return steps_; }
  //! The epoch a per-epoch schedule is at (1-based).
  std::int64_t epoch() const { return epoch_; }
  //! Sets the epoch for `ScheduleUnit::epoch` (fit calls it at the start of every epoch).
  void set_epoch(std::int64_t e) {
    if (e < 1) throw OptionError(fmt::format("{}::set_epoch: epochs count from 1 (got {})", name_, e));
    epoch_ = e;
  }
  ScheduleUnit unit() const { return unit_; }
  S& schedule() { return schedule_; }
  const S& schedule() const { return schedule_; }
  const Rule& rule() const { return rule_; }
  std::string_view name() const { return name_; }

  //! Forgets the parameters, their state and the clock (steps 0, epoch 1).
  void reset() {
    f_ = {};
    d_ = {};
    count_ = -1;
    kind_ = {};
    steps_ = 0;
    epoch_ = 1;
    last_eta_ = last_norm_ = std::numeric_limits<double>::quiet_NaN();
  }

  //! The state a checkpoint needs: `optimizer` (the name as bytes), `step`, `epoch`, `num_params`,
  //! `eta` (last), each buffer as `<buffer>/<i>` (copies), and `schedule/...` for a stateful schedule.
  TensorDict state_dict() const {
    TensorDict d;
    d.set("optimizer", Tensor<std::uint8_t>::from(Shape{static_cast<std::int64_t>(name_.size())},
                                                  std::span(reinterpret_cast<const std::uint8_t*>(name_.data()), name_.size())));
    d.set_int("step", steps_);
    d.set_int("epoch", epoch_);
    d.set_int("num_params", count_ < 0 ? 0 : count_);
    d.set_double("eta", last_eta_);
    put_buffers(d, f_);
    put_buffers(d, d_);
    if constexpr (detail::Stateful<S>) d.merge("schedule/", schedule_.state_dict());
    return d;
  }

  //! Restores a `state_dict`. Everything is checked before anything changes: on `OptionError`
  //! the optimizer is as it was. The parameters are bound again (and checked) at the next step.
  void load_state_dict(const TensorDict& d) {
    const std::string who = fmt::format("{}::load_state_dict", name_);
    const Tensor<std::uint8_t>& tag = d.get<std::uint8_t>("optimizer", who);
    const std::string from(reinterpret_cast<const char*>(tag.data()), static_cast<std::size_t>(tag.numel()));
    if (from != name_) throw OptionError(fmt::format("{}: the state was saved by {}, not {}", who, from, name_));
    const std::int64_t steps = d.get_int("step", who), epoch = d.get_int("epoch", who),
                       count = d.get_int("num_params", who);
    const double eta = d.get_double("eta", who);
    if (steps < 0 || epoch < 1 || count < 0)
      throw OptionError(fmt::format("{}: inconsistent state (step {}, epoch {}, num_params {})", who, steps, epoch, count));
    Slots<float> f;
    Slots<double> dd;
    Kind kind{};
    if constexpr (K > 0) {
      if (count > 0) {
        const std::string first = fmt::format("{}/0", Rule::buffers[0]);
        const AnyTensor* a = d.find(first);
        if (!a) throw OptionError(fmt::format("{}: entry '{}' is missing", who, first));
        if (std::holds_alternative<Tensor<float>>(*a)) f.state = read_buffers<float>(d, count, who), kind = Kind::f32;
        else dd.state = read_buffers<double>(d, count, who), kind = Kind::f64;
      }
    }
    S schedule = schedule_;
    if constexpr (detail::Stateful<S>) schedule.load_state_dict(d.sub("schedule/"));
    // nothing below throws
    f_ = std::move(f);
    d_ = std::move(dd);
    kind_ = kind;
    count_ = count == 0 ? -1 : count;
    steps_ = steps;
    epoch_ = epoch;
    last_eta_ = eta;
    last_norm_ = std::numeric_limits<double>::quiet_NaN();
    schedule_ = std::move(schedule);
  }

  //! Throws `OptionError` if `step(params)` would refuse `params` (count, order, shapes, element
  //! type); changes nothing. The checkpoint loader calls it before writing any parameter.
  template <class T>
  void check_parameters(std::span<const Parameter<T>> params) const {
    check(params);
  }

 private:
  enum class Kind { none, f32, f64 };
  template <class T>
  static constexpr Kind kind_of = std::is_same_v<T, float> ? Kind::f32 : Kind::f64;

  template <class T>
  struct Slots {
    std::vector<Parameter<T>> params;             // identities, bound at the first step (or after a load)
    std::vector<std::array<Tensor<T>, K>> state;  // per parameter, per buffer
  };
  template <class T>
  Slots<T>& slots() {
    if constexpr (std::is_same_v<T, float>) return f_;
    else return d_;
  }
  template <class T>
  const Slots<T>& slots() const {
    if constexpr (std::is_same_v<T, float>) return f_;
    else return d_;
  }

  std::int64_t clock() const { return unit_ == ScheduleUnit::step ? steps_ + 1 : epoch_; }

  template <class T>
  void step_span(std::span<Parameter<T>> params, bool zero_grad) {
    bind(std::span<const Parameter<T>>(params));
    const double eta = detail::eta_at(schedule_, clock(), name_);
    const StepContext ctx{eta, steps_ + 1};
    Slots<T>& s = slots<T>();
    double sum_sq = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      T* w = params[i].value().data();
      T* g = params[i].grad().data();
      std::array<T*, K> buf{};
      for (std::size_t k = 0; k < K; ++k) buf[k] = s.state[i][k].data();
      sum_sq += chunked_sum<double>(params[i].numel(), grain, [&](std::int64_t b, std::int64_t e) {
        std::array<T*, K> part{};
        for (std::size_t k = 0; k < K; ++k) part[k] = buf[k] + b;
        const double chunk_sq = rule_.apply(w + b, static_cast<const T*>(g + b), part, e - b, ctx);
        if (zero_grad) std::memset(g + b, 0, static_cast<std::size_t>(e - b) * sizeof(T));
        return chunk_sq;
      });
    }
    ++steps_;
    last_eta_ = eta;
    last_norm_ = std::sqrt(sum_sq);
  }

  //! Throws `OptionError` unless `params` matches the list seen before (count, order, shapes, type).
  template <class T>
  void check(std::span<const Parameter<T>> params) const {
    // messages are formatted only on failure: a step allocates nothing
    const auto who = [this] { return fmt::format("{}::step", name_); };
    const auto n = static_cast<std::int64_t>(params.size());
    if (n == 0) throw OptionError(fmt::format("{}: the parameter list is empty", who()));
    for (std::int64_t i = 0; i < n; ++i)
      if (!params[i].defined())
        throw OptionError(fmt::format("{}: parameter {} is undefined (default-constructed)", who(), i));
    if (kind_ != Kind::none && kind_ != kind_of<T>)
      throw OptionError(fmt::format("{}: the parameters are {} but the optimizer was used with {} ones; call reset() "
                                    "to start over with other parameters",
                                    who(), dtype_name<T>(), kind_ == Kind::f32 ? "float32" : "float64"));
    if (count_ < 0) return;
    if (n != count_)
      throw OptionError(fmt::format("{}: the parameter list changed: {} parameters now, {} before; call reset() to "
                                    "start over with other parameters",
                                    who(), n, count_));
    const Slots<T>& s = slots<T>();
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (!s.params.empty() && !params[i].same_as(s.params[i]))
        throw OptionError(fmt::format("{}: parameter {} (shape {}) is not the parameter given at that position "
                                      "before; pass the same list every step, or call reset()",
                                      who(), i, params[i].shape()));
      const Shape& want = !s.state.empty()    ? s.state[i][0].shape()
                          : !s.params.empty() ? s.params[i].shape()
                                              : params[i].shape();
      if (!(params[i].shape() == want))
        throw OptionError(fmt::format("{}: parameter {} has shape {} but its optimizer state has shape {}", who(), i,
                                      params[i].shape(), want));
    }
  }

  //! `check`, then binds the parameters (first step, or first step after a load) with zeroed state.
  template <class T>
  void bind(std::span<const Parameter<T>> params) {
    check(params);
    Slots<T>& s = slots<T>();
    if (!s.params.empty()) return;
    s.params.assign(params.begin(), params.end());
    if (s.state.empty() && K > 0) {
      s.state.resize(params.size());
      for (std::size_t i = 0; i < params.size(); ++i)
        for (std::size_t k = 0; k < K; ++k) s.state[i][k] = Tensor<T>::zeros(params[i].shape());
    }
    count_ = static_cast<std::int64_t>(params.size());
    kind_ = kind_of<T>;
  }

  template <class T>
  static void put_buffers(TensorDict& d, const Slots<T>& s) {
    for (std::size_t i = 0; i < s.state.size(); ++i)
      for (std::size_t k = 0; k < K; ++k) d.set(fmt::format("{}/{}", Rule::buffers[k], i), s.state[i][k].clone());
  }

  template <class T>
  static std::vector<std::array<Tensor<T>, K>> read_buffers(const TensorDict& d, std::int64_t count, std::string_view who) {
    std::vector<std::array<Tensor<T>, K>> state(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i)
      for (std::size_t k = 0; k < K; ++k) {
        const std::string key = fmt::format("{}/{}", Rule::buffers[k], i);
        const Tensor<T>& t = k == 0 ? d.get<T>(key, who) : d.get<T>(key, state[static_cast<std::size_t>(i)][0].shape(), who);
        state[static_cast<std::size_t>(i)][k] = t.clone();
      }
    return state;
  }

  std::string name_;
  S schedule_;
  Rule rule_;
  ScheduleUnit unit_;
  Slots<float> f_;
  Slots<double> d_;
  std::int64_t count_ = -1;  // parameters per step; -1 before the first step
  Kind kind_ = Kind::none;   // element type of the parameters (none before the first step)
  std::int64_t steps_ = 0;
  std::int64_t epoch_ = 1;
  double last_eta_ = std::numeric_limits<double>::quiet_NaN();
  double last_norm_ = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_BASIC_OPTIMIZER_HPP
