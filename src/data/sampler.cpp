#include "svertka/data/sampler.hpp"

#include <algorithm>
#include <bit>
#include <numeric>
#include <utility>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/rng.hpp"

namespace svertka::data {
namespace {

std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

BatchSampler::BatchSampler(std::int64_t size, SamplerOptions o) : size_(size), opt_(o) {
  if (size < 1) throw OptionError(fmt::format("BatchSampler: the data set is empty (size {})", size));
  if (o.batch_size < 1) throw OptionError(fmt::format("BatchSampler: batch_size must be >= 1 (got {})", o.batch_size));
  if (o.drop_last && o.batch_size > size)
    throw OptionError(fmt::format("BatchSampler: batch_size {} with drop_last leaves no batch of a data set of {} objects",
                                  o.batch_size, size));
}

std::int64_t BatchSampler::batches_per_epoch() const {
  return opt_.drop_last ? size_ / opt_.batch_size : (size_ + opt_.batch_size - 1) / opt_.batch_size;
}

std::int64_t BatchSampler::flags() const {
  return (opt_.shuffle ? 1 : 0) | (opt_.replacement ? 2 : 0) | (opt_.drop_last ? 4 : 0);
}

void BatchSampler::fill_order(std::int64_t epoch) {
  order_.resize(static_cast<std::size_t>(size_));
  Rng rng(splitmix64(opt_.seed ^ splitmix64(static_cast<std::uint64_t>(epoch))));
  const auto n = static_cast<std::uint64_t>(size_);
  if (opt_.replacement) {
    for (auto& i : order_) i = static_cast<std::int64_t>(rng.below(n));
    return;
  }
  std::iota(order_.begin(), order_.end(), std::int64_t{0});
  if (!opt_.shuffle) return;
  for (std::uint64_t i = n; i > 1; --i) std::swap(order_[i - 1], order_[rng.below(i)]);  // Fisher–Yates
}

std::span<const std::int64_t> BatchSampler::next() {
  if (epoch_ == 0 || position_ == batches_per_epoch()) {
    ++epoch_;
    position_ = 0;
    fill_order(epoch_);
  } else if (order_.empty()) {
    fill_order(epoch_);  // restored mid-epoch
  }
  const std::int64_t begin = position_ * opt_.batch_size;
  const std::int64_t end = std::min(size_, begin + opt_.batch_size);
  ++position_;
  return {order_.data() + begin, static_cast<std::size_t>(end - begin)};
}

TensorDict BatchSampler::state_dict() const {
  TensorDict d;
  d.set_int("seed", std::bit_cast<std::int64_t>(opt_.seed));
  d.set_int("epoch", epoch_);
  d.set_int("position", position_);
  d.set_int("size", size_);
  d.set_int("batch_size", opt_.batch_size);
  d.set_int("flags", flags());
  return d;
}

void BatchSampler::load_state_dict(const TensorDict& d) {
  constexpr std::string_view who = "BatchSampler::load_state_dict";
  const std::int64_t size = d.get_int("size", who), batch = d.get_int("batch_size", who), flags = d.get_int("flags", who);
  if (size != size_ || batch != opt_.batch_size || flags != this->flags())
    throw OptionError(fmt::format("{}: the state is for {} objects in batches of {} (flags {}), this sampler has {} in "
                                  "batches of {} (flags {})",
                                  who, size, batch, flags, size_, opt_.batch_size, this->flags()));
  const std::int64_t epoch = d.get_int("epoch", who), position = d.get_int("position", who);
  if (epoch < 0 || position < 0 || position > batches_per_epoch() || (epoch == 0 && position != 0))
    throw OptionError(fmt::format("{}: inconsistent state (epoch {}, position {} of {} batches)", who, epoch, position,
                                  batches_per_epoch()));
  opt_.seed = std::bit_cast<std::uint64_t>(d.get_int("seed", who));
  epoch_ = epoch;
  position_ = position;
  order_.clear();  // refilled from (seed, epoch) by the next call
}

}  // namespace svertka::data
