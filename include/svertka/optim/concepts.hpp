#ifndef SVERTKA_OPTIM_CONCEPTS_HPP
#define SVERTKA_OPTIM_CONCEPTS_HPP
//! @file
//! The two concepts of `sv::optim`, `Schedule` and `Optimizer`, and how parameter lists are taken.
//!
//! Any type with the right members plugs in; nothing needs to derive from a base class:
//! @code
//! struct Halving { double operator()(std::int64_t t) const { return 1.0 / (1 << std::min<std::int64_t>(t, 30)); } };
//! sv::optim::SGD opt{Halving{}};                      // a user-defined schedule
//! struct SignDescent {                                 // a user-defined optimizer
//!   void step(std::span<sv::Parameter<double>> ps) { for (auto& p : ps) ... }
//! };
//! sv::optim::fit(params, my_optimizer, sampler, train_step, evaluate, {.epochs = 5});
//! @endcode
//!
//! Entry points that take such a type check it once, with a `static_assert` whose message says what
//! the type lacks, instead of a list of overload candidates.

#include <concepts>
#include <cstdint>
#include <span>
#include <type_traits>

#include "svertka/core/parameter.hpp"

namespace svertka::optim {

//! A step-size schedule: `s(t)` is the step size η for step (or epoch) `t` = 1, 2, 3, ...
template <class S>
concept Schedule = std::copy_constructible<S> && requires(const S& s, std::int64_t t) {
  { s(t) } -> std::convertible_to<double>;
};

//! An optimizer for parameters of element type `T`: `o.step(params)` updates the values of
//! `params` from their gradients (and may keep state between calls).
template <class O, class T>
concept OptimizerFor = requires(O& o, std::span<Parameter<T>> params) { o.step(params); };

//! An optimizer for float or for double parameters.
template <class O>
concept Optimizer = OptimizerFor<O, float> || OptimizerFor<O, double>;

//! Whether to advance a schedule once per optimizer step or once per epoch.
//!
//! - `step`: step number t = 1, 2, ... counts calls of `step(params)` (the seed's η_t = 0.1/t^0.3).
//! - `epoch`: t is the epoch (1-based) set by `set_epoch(e)`, which `fit` calls at the start of each
//!   epoch (PyTorch's `scheduler.step()` once per epoch; `../shared/bench/torch_lenet_fmnist.py`).
enum class ScheduleUnit { step, epoch };

// The sentences that a failed concept check prints (shared by every entry point).
#define SVERTKA_SCHEDULE_SENTENCE                                                                       \
  "sv::optim: the schedule type must be copyable and callable as s(t) with t a std::int64_t step >= 1, " \
  "returning the step size (convertible to double)"
#define SVERTKA_PARAMS_SENTENCE                                                                            \
  "sv::optim: params must be a contiguous range of sv::Parameter<float> or sv::Parameter<double> (a std::" \
  "vector, std::span or std::array), passed as non-const"

namespace detail {

template <class P>
struct parameter_element {};
template <class T>
struct parameter_element<Parameter<T>> {
  using type = T;
};

template <class R>
struct is_parameter_range : std::false_type {};
template <class R>
  requires requires(R& r) {
    std::data(r);
    std::size(r);
  }
struct is_parameter_range<R> {
  using P = std::remove_reference_t<decltype(*std::data(std::declval<R&>()))>;
  static constexpr bool value =
      !std::is_const_v<P> && (std::is_same_v<std::remove_cv_t<P>, Parameter<float>> ||
                              std::is_same_v<std::remove_cv_t<P>, Parameter<double>>);
};

}  // namespace detail

//! A non-const contiguous range of `Parameter<float>` or `Parameter<double>`.
template <class R>
concept ParameterRange = detail::is_parameter_range<std::remove_reference_t<R>>::value;

//! The element type of a parameter range's tensors.
template <class R>
using parameter_value_t =
    typename detail::parameter_element<std::remove_cvref_t<decltype(*std::data(std::declval<R&>()))>>::type;

//! A span over a parameter range (checked by the caller with `ParameterRange`).
template <class R>
auto as_parameter_span(R&& params) {
  using P = std::remove_reference_t<decltype(*std::data(params))>;
  return std::span<P>(std::data(params), std::size(params));
}

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_CONCEPTS_HPP
