#ifndef SVERTKA_DATA_SAMPLER_HPP
#define SVERTKA_DATA_SAMPLER_HPP
//! @file
//! `BatchSampler`: which objects each step trains on — seeded, reproducible, resumable.

#include <cstdint>
#include <span>
#include <vector>

#include "svertka/core/tensor_dict.hpp"

namespace svertka::data {

//! Options of `BatchSampler`.
struct SamplerOptions {
  std::int64_t batch_size = 1;  //!< objects per batch, >= 1 (1: the seed's one random object i_t)
  bool shuffle = true;          //!< a new random order every epoch (else 0, 1, 2, ... every epoch)
  bool replacement = false;     //!< draw each index independently and uniformly (objects may repeat)
  bool drop_last = false;       //!< skip the last batch of an epoch when it is smaller than batch_size
  std::uint64_t seed = 0;
};

//! Yields batches of indices into a data set of `size` objects, epoch after epoch.
//!
//! An epoch is `size` draws cut into batches of `batch_size` (the last one smaller, or dropped with
//! `drop_last`): without replacement a permutation of 0..size−1 (PyTorch's RandomSampler +
//! BatchSampler), with replacement `size` independent uniform draws. The draws of epoch e come from
//! an `Rng` seeded with a hash of (seed, e), so the state of a sampler is just (seed, epoch,
//! position): `state_dict()` saves it, and a sampler restored from it continues with exactly the
//! batches the original would have given.
//! @code
//! sv::data::BatchSampler one{n, {.batch_size = 1, .replacement = true, .seed = 7}};   // i_t
//! std::int64_t i = one.next()[0];
//! sv::data::BatchSampler mini{n, {.batch_size = 64, .seed = 1}};
//! for (std::int64_t b = 0; b < mini.batches_per_epoch(); ++b) train_on(mini.next());
//! @endcode
class BatchSampler {
 public:
  //! @throws OptionError for an empty data set or a batch size < 1, or when drop_last leaves no batch.
  BatchSampler(std::int64_t size, SamplerOptions o = {});

  //! The next batch; the first call, and the call after an epoch's last batch, start a new epoch.
  //! The span stays valid until the next call.
  std::span<const std::int64_t> next();

  std::int64_t size() const { return size_; }
  std::int64_t batch_size() const { return opt_.batch_size; }
  std::int64_t batches_per_epoch() const;
  //! The epoch the last batch came from (0 before the first `next()`).
  std::int64_t epoch() const { return epoch_; }
  //! Batches taken from the current epoch (== batches_per_epoch() at its end).
  std::int64_t position() const { return position_; }
  const SamplerOptions& options() const { return opt_; }

  //! `seed`, `epoch`, `position` and the configuration (`size`, `batch_size`, `flags`), as int64.
  TensorDict state_dict() const;
  //! Continues from a `state_dict`. The configuration must match this sampler's (OptionError
  //! otherwise, and nothing changes); the seed is taken from the state.
  void load_state_dict(const TensorDict& d);

 private:
  void fill_order(std::int64_t epoch);
  std::int64_t flags() const;

  std::int64_t size_;
  SamplerOptions opt_;
  std::int64_t epoch_ = 0;
  std::int64_t position_ = 0;
  std::vector<std::int64_t> order_;
};

}  // namespace svertka::data

#endif  // SVERTKA_DATA_SAMPLER_HPP
