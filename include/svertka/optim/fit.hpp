#ifndef SVERTKA_OPTIM_FIT_HPP
#define SVERTKA_OPTIM_FIT_HPP
//! @file
//! `fit`: the training loop, for any model — it takes callables, not a model type.
//!
//! @code
//! sv::data::Batcher<float> train{data.train, {.batch_size = 64, .seed = 1}};
//! sv::optim::SGD opt{sv::optim::InversePower{.eta0 = 0.1, .power = 0.3}, {.unit = sv::optim::ScheduleUnit::epoch}};
//! auto result = sv::optim::fit(model.parameters(), opt, train,
//!     [&](const sv::data::Batch<float>& b) { return model.value_and_grad(b.images, b.labels, loss); },  // fills grads
//!     [&] { return sv::optim::Metrics{.loss = test_loss(), .accuracy = test_accuracy()}; },
//!     {.epochs = 10},
//!     sv::optim::ProgressBar{}, sv::optim::CsvLog{"log.csv"}, sv::optim::EarlyStopping{.patience = 3},
//!     sv::optim::Checkpoint{.path = "ckpt.npz", .every = 1, .resume = true});
//! @endcode
//!
//! Each epoch: `opt.set_epoch(e)` (if the optimizer has it), then `batches.batches_per_epoch()` steps
//! of { zero the gradients; `loss = train_step(batches.next())`; `opt.step(params)` }, then
//! `evaluate()`, then a schedule with `report(metric)` (`OnPlateau`) gets the metric of
//! `FitOptions::plateau_monitor`. An optimizer with `should_stop()` (`GD`) is asked after each step.
//!
//! **Callbacks** are objects with any of these members, each taking the `FitContext&` (write them as
//! `bool on_epoch_end(auto& ctx)`); `on_step_end` and `on_epoch_end` may return `bool`, true to stop
//! (and set `ctx.stop_reason`): `restore` (before anything else; may set `ctx.first_epoch` and
//! `ctx.step` to resume), `on_fit_begin`, `on_epoch_begin`, `on_step_end`, `on_epoch_end`,
//! `on_fit_end`. Every callback sees every hook, in the order given, even when an earlier one asked to
//! stop. A stop requested during an epoch ends it early; the epoch is still evaluated and reported.

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/parameter.hpp"
#include "svertka/optim/concepts.hpp"
#include "svertka/optim/metrics.hpp"
#include "svertka/optim/schedules.hpp"

namespace svertka::optim {

//! Options of `fit`.
struct FitOptions {
  std::int64_t epochs = 10;                      //!< the last epoch to run, >= 1
  Monitor plateau_monitor = Monitor::automatic;  //!< the metric given to an `OnPlateau` schedule
  bool zero_grad = true;                         //!< zero the gradients before each train_step
};

//! One epoch of a `fit` run.
struct EpochRecord {
  std::int64_t epoch;
  std::int64_t steps;  //!< steps taken by the end of the epoch, counted from the start of training
  double train_loss;   //!< mean of train_step's losses over the epoch
  Metrics test;        //!< what evaluate() returned
  double eta;          //!< step size of the epoch's last step
  double seconds;      //!< training time of the epoch (without evaluation)
};

//! What `fit` returns.
struct FitResult {
  std::int64_t epochs = 0;  //!< the last epoch run
  std::int64_t steps = 0;   //!< steps taken, counted from the start of training
  std::string stop_reason;  //!< e.g. "epoch limit: 10 epochs", or what the stopping rule said
  std::vector<EpochRecord> history;  //!< the epochs run by this call
};

//! The state of a `fit` run, which every callback hook receives.
template <class T, class Opt, class Source>
struct FitContext {
  std::span<Parameter<T>> params;
  Opt& optimizer;
  Source& batches;
  std::int64_t epochs;             //!< FitOptions::epochs
  std::int64_t batches_per_epoch;  //!< steps per epoch
  std::int64_t first_epoch = 1;    //!< the first epoch of this call (> 1 after a resume)
  std::int64_t epoch = 0;          //!< the current epoch, 1-based
  std::int64_t batch = 0;          //!< steps taken in the current epoch
  std::int64_t step = 0;           //!< steps taken since the start of training
  double loss = std::numeric_limits<double>::quiet_NaN();        //!< the last step's loss
  double train_loss = std::numeric_limits<double>::quiet_NaN();  //!< mean loss of the epoch so far
  double eta = std::numeric_limits<double>::quiet_NaN();         //!< the last step's step size
  Metrics test{};                  //!< the last evaluation
  double epoch_seconds = 0;        //!< training time of the current epoch so far
  std::string stop_reason{};       //!< set by whoever stops the run
};

//! For `fit` without an evaluation: returns empty `Metrics`.
inline Metrics no_evaluation() { return {}; }

namespace detail {

template <class E>
Metrics as_metrics(E&& e) {
  if constexpr (std::convertible_to<E, Metrics>) return e;
  else return Metrics{.loss = static_cast<double>(e)};
}

template <class C, class Ctx>
concept HasAnyHook = requires(C& c, Ctx& x) { c.restore(x); } || requires(C& c, Ctx& x) { c.on_fit_begin(x); } ||
                     requires(C& c, Ctx& x) { c.on_epoch_begin(x); } || requires(C& c, Ctx& x) { c.on_step_end(x); } ||
                     requires(C& c, Ctx& x) { c.on_epoch_end(x); } || requires(C& c, Ctx& x) { c.on_fit_end(x); };

// One function per hook: calls `c.hook(ctx)` when the callback has it; true when it asked to stop.
#define SVERTKA_FIT_HOOK(hook)                                          \
  template <class C, class Ctx>                                         \
  bool hook(C& c, Ctx& x) {                                             \
    if constexpr (!requires { c.hook(x); }) {                           \
      return false;                                                     \
    } else if constexpr (std::is_void_v<decltype(c.hook(x))>) {         \
      c.hook(x);                                                        \
      return false;                                                     \
    } else {                                                            \
      return static_cast<bool>(c.hook(x));                              \
    }                                                                   \
  }
namespace hooks {
SVERTKA_FIT_HOOK(restore)
SVERTKA_FIT_HOOK(on_fit_begin)
SVERTKA_FIT_HOOK(on_epoch_begin)
SVERTKA_FIT_HOOK(on_step_end)
SVERTKA_FIT_HOOK(on_epoch_end)
SVERTKA_FIT_HOOK(on_fit_end)
}  // namespace hooks
#undef SVERTKA_FIT_HOOK

}  // namespace detail

//! Trains `params` with `opt` on the batches of `batches` (see the file comment). `train_step(batch)`
//! computes the loss of a batch and fills the parameters' gradients (backward); `evaluate()` returns
//! `Metrics` (or a double, taken as the loss) after each epoch — pass `no_evaluation` to skip it.
//!
//! Requirements (checked by `static_assert`, one sentence each): `params` a contiguous range of
//! `Parameter<float>` or `Parameter<double>`; `opt` an `OptimizerFor` that type; `batches` has
//! `next()` and `batches_per_epoch()` (`sv::data::BatchSampler`, `sv::data::Batcher`);
//! `train_step(batches.next())` returns a number; each callback has at least one hook.
//! @throws OptionError for epochs < 1, or from a callback's `validate()`.
template <class Params, class Opt, class Source, class TrainStep, class Evaluate, class... Callbacks>
FitResult fit(Params&& params, Opt& opt, Source& batches, TrainStep&& train_step, Evaluate&& evaluate,
              const FitOptions& o = {}, Callbacks&&... callbacks) {
  static_assert(ParameterRange<Params>, SVERTKA_PARAMS_SENTENCE);
  using T = parameter_value_t<Params>;
  static_assert(OptimizerFor<Opt, T>,
                "fit: the optimizer must have a member step(params) accepting std::span<sv::Parameter<T>> for the "
                "parameters' element type T (see the concept sv::optim::Optimizer)");
  constexpr bool source_ok = requires(Source& s) {
    s.next();
    { s.batches_per_epoch() } -> std::convertible_to<std::int64_t>;
  };
  static_assert(source_ok, "fit: the batch source must have next() and batches_per_epoch() (a sv::data::BatchSampler or "
                           "sv::data::Batcher)");
  if constexpr (OptimizerFor<Opt, T> && source_ok) {
    using Batch = decltype(batches.next());
    constexpr bool step_ok = requires(TrainStep& f, Batch& b) {
      { std::invoke(f, b) } -> std::convertible_to<double>;
    };
    static_assert(step_ok, "fit: train_step must be callable as train_step(batch) with the batch returned by "
                           "batches.next(), returning the loss (convertible to double) after filling the gradients");
    constexpr bool eval_ok = requires(Evaluate& f) {
      { std::invoke(f) } -> std::convertible_to<Metrics>;
    } || requires(Evaluate& f) {
      { std::invoke(f) } -> std::convertible_to<double>;
    };
    static_assert(eval_ok, "fit: evaluate must be callable as evaluate() returning sv::optim::Metrics or a double "
                           "(pass sv::optim::no_evaluation to skip it)");
    using Ctx = FitContext<T, Opt, Source>;
    static_assert((detail::HasAnyHook<std::remove_cvref_t<Callbacks>, Ctx> && ...),
                  "fit: each callback must have at least one of restore, on_fit_begin, on_epoch_begin, on_step_end, "
                  "on_epoch_end, on_fit_end taking the FitContext (e.g. bool on_epoch_end(auto& ctx))");
    if constexpr (step_ok && eval_ok && (detail::HasAnyHook<std::remove_cvref_t<Callbacks>, Ctx> && ...)) {
      if (o.epochs < 1) throw OptionError(fmt::format("fit: epochs must be >= 1 (got {})", o.epochs));
      const auto ps = as_parameter_span(params);
      Ctx ctx{ps, opt, batches, o.epochs, static_cast<std::int64_t>(batches.batches_per_epoch())};
      ( [&] { if constexpr (requires { callbacks.validate(); }) callbacks.validate(); }(), ...);
      (detail::hooks::restore(callbacks, ctx), ...);
      (detail::hooks::on_fit_begin(callbacks, ctx), ...);
      using clock = std::chrono::steady_clock;
      FitResult result;
      bool stop = false;
      for (std::int64_t epoch = ctx.first_epoch; epoch <= o.epochs && !stop; ++epoch) {
        ctx.epoch = epoch;
        ctx.batch = 0;
        ctx.train_loss = std::numeric_limits<double>::quiet_NaN();
        if constexpr (requires { opt.set_epoch(epoch); }) opt.set_epoch(epoch);
        (detail::hooks::on_epoch_begin(callbacks, ctx), ...);
        const auto start = clock::now();
        double sum = 0;
        for (std::int64_t b = 0; b < ctx.batches_per_epoch && !stop; ++b) {
          if (o.zero_grad)
            for (Parameter<T>& p : ps) p.zero_grad();
          auto&& batch = batches.next();
          const double loss = static_cast<double>(std::invoke(train_step, batch));
          opt.step(ps);
          sum += loss;
          ctx.loss = loss;
          ctx.batch = b + 1;
          ++ctx.step;
          ctx.train_loss = sum / static_cast<double>(b + 1);
          if constexpr (requires { opt.last_eta(); }) ctx.eta = opt.last_eta();
          ctx.epoch_seconds = std::chrono::duration<double>(clock::now() - start).count();
          stop = (detail::hooks::on_step_end(callbacks, ctx) | ... | false);
          if constexpr (requires { opt.should_stop(); }) {
            if (opt.should_stop()) {
              stop = true;
              if constexpr (requires { opt.stop_reason(); }) ctx.stop_reason = opt.stop_reason();
              else ctx.stop_reason = "the optimizer's stopping rule";
            }
          }
        }
        ctx.epoch_seconds = std::chrono::duration<double>(clock::now() - start).count();
        ctx.test = detail::as_metrics(std::invoke(evaluate));
        if constexpr (requires { opt.schedule().report(1.0); })
          opt.schedule().report(monitored(o.plateau_monitor, ctx.train_loss, ctx.test, "fit (the schedule's report)"));
        result.history.push_back({epoch, ctx.step, ctx.train_loss, ctx.test, ctx.eta, ctx.epoch_seconds});
        stop = (detail::hooks::on_epoch_end(callbacks, ctx) | ... | stop);
      }
      if (!stop) ctx.stop_reason = fmt::format("epoch limit: {} epochs", o.epochs);
      else if (ctx.stop_reason.empty()) ctx.stop_reason = "a callback asked to stop";
      (detail::hooks::on_fit_end(callbacks, ctx), ...);
      result.epochs = std::max(ctx.epoch, ctx.first_epoch - 1);
      result.steps = ctx.step;
      result.stop_reason = ctx.stop_reason;
      return result;
    }
  }
  return {};
}

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_FIT_HPP
