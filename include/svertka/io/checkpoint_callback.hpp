#ifndef SVERTKA_IO_CHECKPOINT_CALLBACK_HPP
#define SVERTKA_IO_CHECKPOINT_CALLBACK_HPP
//! @file
//! `Checkpoint`: the `fit` callback that saves a checkpoint every few epochs and resumes from it.
//! Also available as `sv::optim::Checkpoint`.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/io/checkpoint.hpp"

namespace svertka::io {

//! Saves parameters, optimizer and sampler (the batch source) to `path` after every `every`-th epoch
//! and after the last epoch run (with `extra/epoch` and `extra/step`), atomically.
//!
//! With `resume`, `fit` first loads `path` if it exists and continues after the saved epoch: the
//! same run, with the same batches, step sizes and optimizer state — the loss curve is bit-identical
//! to a run that was never interrupted. (Other callbacks start fresh: `EarlyStopping` counts again,
//! `CsvLog` appends.)
struct Checkpoint {
  std::filesystem::path path;
  std::int64_t every = 1;
  bool resume = false;
  std::vector<std::string> names{};  //!< parameter names (see `CheckpointOptions`)

  void validate() const {
    if (path.empty()) throw OptionError("Checkpoint: path is empty");
    if (every < 1) throw OptionError(fmt::format("Checkpoint: every must be >= 1 (got {})", every));
  }

  template <class Ctx>
  void restore(Ctx& ctx) {
    std::error_code ec;
    if (!resume || !std::filesystem::exists(path, ec)) return;
    const TensorDict extra = load_checkpoint(path, ctx.params, ctx.optimizer, ctx.batches, CheckpointOptions{.names = names});
    const std::string who = fmt::format("Checkpoint: {}", path.string());
    try {
      ctx.first_epoch = extra.get_int("epoch", who) + 1;
      ctx.step = extra.get_int("step", who);
    } catch (const OptionError& e) {
      throw IoError(e.what());
    }
  }

  template <class Ctx>
  void on_epoch_end(Ctx& ctx) {
    if (ctx.epoch % every == 0) save(ctx);
  }

  template <class Ctx>
  void on_fit_end(Ctx& ctx) {
    if (ctx.epoch >= ctx.first_epoch && ctx.epoch % every != 0) save(ctx);
  }

 private:
  template <class Ctx>
  void save(Ctx& ctx) const {
    CheckpointOptions o{.names = names, .extra = {}};
    o.extra.set_int("epoch", ctx.epoch);
    o.extra.set_int("step", ctx.step);
    save_checkpoint(path, ctx.params, ctx.optimizer, ctx.batches, o);
  }
};

}  // namespace svertka::io

namespace svertka::optim {
using io::Checkpoint;
}  // namespace svertka::optim

#endif  // SVERTKA_IO_CHECKPOINT_CALLBACK_HPP
