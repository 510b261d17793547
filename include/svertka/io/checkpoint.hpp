#ifndef SVERTKA_IO_CHECKPOINT_HPP
#define SVERTKA_IO_CHECKPOINT_HPP
//! @file
//! Checkpoints: parameters, optimizer state and sampler state in one `.npz` archive, and the
//! `Checkpoint` callback of `sv::optim::fit`, which writes them every few epochs and resumes from them.
//!
//! Archive members (numpy keys), all readable with `numpy.load`:
//!
//! | key                        | contents                                                         |
//! |----------------------------|------------------------------------------------------------------|
//! | `svertka_checkpoint`       | int64 format version (1)                                         |
//! | `params/<name>`            | each parameter's value; names `0`, `1`, ... unless given         |
//! | `optimizer/...`            | the optimizer's `state_dict()` (step, epoch, buffers, schedule)  |
//! | `sampler/...`              | the sampler's `state_dict()` (seed, epoch, position)             |
//! | `extra/...`                | the caller's entries (fit: `epoch`, `step`)                      |
//!
//! Loading validates the whole file — zip structure and CRCs, every name, element type and shape,
//! the optimizer's and the sampler's state — before it writes into any parameter: a truncated or
//! mismatched checkpoint throws `IoError` and leaves the model, the optimizer and the sampler as
//! they were.

#include <concepts>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "svertka/core/io_error.hpp"
#include "svertka/core/parameter.hpp"
#include "svertka/core/tensor_dict.hpp"
#include "svertka/io/npz.hpp"
#include "svertka/optim/concepts.hpp"

namespace svertka::io {

//! Options of `save_checkpoint` / `load_checkpoint`.
struct CheckpointOptions {
  //! Parameter names, one per parameter (e.g. "conv1.weight"); empty: "0", "1", ...
  std::vector<std::string> names{};
  //! Entries stored under `extra/` (save only).
  TensorDict extra{};
};

//! Stands for "no sampler" in `save_checkpoint` / `load_checkpoint`.
struct NoSampler {
  TensorDict state_dict() const { return {}; }
  void load_state_dict(const TensorDict&) {}
};

namespace detail {

#define SVERTKA_STATEFUL_SENTENCE \
  "checkpoint: the optimizer and the sampler must have state_dict() and load_state_dict(const TensorDict&)"

template <class S>
concept Stateful = requires(S& s, const S& cs, const TensorDict& d) {
  { cs.state_dict() } -> std::convertible_to<TensorDict>;
  s.load_state_dict(d);
};

inline std::string param_key(const CheckpointOptions& o, std::size_t i, std::size_t n, std::string_view who) {
  if (o.names.empty()) return fmt::format("params/{}", i);
  if (o.names.size() != n)
    throw OptionError(fmt::format("{}: {} names given for {} parameters", who, o.names.size(), n));
  return "params/" + o.names[i];
}

}  // namespace detail

//! Writes `params`, `opt`'s and `sampler`'s state (and `o.extra`) to `path`, atomically.
template <class R, class Opt, class Sampler>
  requires(!std::same_as<Sampler, CheckpointOptions>)
void save_checkpoint(const std::filesystem::path& path, R&& params, const Opt& opt, const Sampler& sampler,
                     const CheckpointOptions& o = {}) {
  static_assert(optim::ParameterRange<R>, SVERTKA_PARAMS_SENTENCE);
  static_assert(detail::Stateful<Opt> && detail::Stateful<Sampler>, SVERTKA_STATEFUL_SENTENCE);
  if constexpr (optim::ParameterRange<R> && detail::Stateful<Opt> && detail::Stateful<Sampler>) {
    auto ps = optim::as_parameter_span(params);
    TensorDict d;
    d.set_int("svertka_checkpoint", 1);
    for (std::size_t i = 0; i < ps.size(); ++i) d.set(detail::param_key(o, i, ps.size(), "save_checkpoint"), ps[i].value());
    d.merge("optimizer/", opt.state_dict());
    d.merge("sampler/", sampler.state_dict());
    d.merge("extra/", o.extra);
    save_npz(path, d);
  }
}

//! Without a sampler.
template <class R, class Opt>
void save_checkpoint(const std::filesystem::path& path, R&& params, const Opt& opt, const CheckpointOptions& o = {}) {
  save_checkpoint(path, std::forward<R>(params), opt, NoSampler{}, o);
}

//! Restores what `save_checkpoint` wrote into `params` (copied into their existing storage),
//! `opt` and `sampler`, after checking all of it; returns the `extra/` entries. Gradients are left
//! as they are.
//! @throws IoError naming the file and the entry when anything does not fit; nothing is changed then.
template <class R, class Opt, class Sampler>
  requires(!std::same_as<std::remove_cv_t<Sampler>, CheckpointOptions>)
TensorDict load_checkpoint(const std::filesystem::path& path, R&& params, Opt& opt, Sampler& sampler,
                           const CheckpointOptions& o = {}) {
  static_assert(optim::ParameterRange<R>, SVERTKA_PARAMS_SENTENCE);
  static_assert(detail::Stateful<Opt> && detail::Stateful<Sampler>, SVERTKA_STATEFUL_SENTENCE);
  static_assert(std::copyable<Opt> && std::copyable<Sampler>,
                "load_checkpoint: the optimizer and the sampler must be copyable (they are loaded into copies first)");
  if constexpr (optim::ParameterRange<R> && detail::Stateful<Opt> && detail::Stateful<Sampler> && std::copyable<Opt> &&
                std::copyable<Sampler>) {
    auto ps = optim::as_parameter_span(params);
    using T = optim::parameter_value_t<R>;
    const std::string who = fmt::format("load_checkpoint: {}", path.string());
    const TensorDict d = load_npz(path);
    try {
      if (d.get_int("svertka_checkpoint", who) != 1)
        throw IoError(fmt::format("{}: unknown checkpoint format version {}", who, d.get_int("svertka_checkpoint", who)));
      std::size_t stored = 0;
      for (const auto& e : d) stored += e.name.starts_with("params/");
      if (stored != ps.size())
        throw IoError(fmt::format("{}: the checkpoint holds {} parameters but {} were given", who, stored, ps.size()));
      std::vector<const Tensor<T>*> values;
      for (std::size_t i = 0; i < ps.size(); ++i)
        values.push_back(&d.get<T>(detail::param_key(o, i, ps.size(), "load_checkpoint"), ps[i].shape(), who));
      Opt opt2 = opt;
      opt2.load_state_dict(d.sub("optimizer/"));
      if constexpr (requires { opt2.check_parameters(std::span<const Parameter<T>>(ps)); })
        opt2.check_parameters(std::span<const Parameter<T>>(ps));
      Sampler sampler2 = sampler;
      sampler2.load_state_dict(d.sub("sampler/"));
      // everything checked: commit
      for (std::size_t i = 0; i < ps.size(); ++i)
        std::memcpy(ps[i].value().data(), values[i]->data(), static_cast<std::size_t>(ps[i].numel()) * sizeof(T));
      opt = std::move(opt2);
      sampler = std::move(sampler2);
    } catch (const OptionError& e) {
      const std::string_view what = e.what();
      throw IoError(what.starts_with(who) ? std::string(what) : fmt::format("{}: {}", who, what));
    }
    return d.sub("extra/");
  } else {
    return {};
  }
}

//! Without a sampler.
template <class R, class Opt>
TensorDict load_checkpoint(const std::filesystem::path& path, R&& params, Opt& opt, const CheckpointOptions& o = {}) {
  NoSampler none;
  return load_checkpoint(path, std::forward<R>(params), opt, none, o);
}

}  // namespace svertka::io

#endif  // SVERTKA_IO_CHECKPOINT_HPP
