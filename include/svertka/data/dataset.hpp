#ifndef SVERTKA_DATA_DATASET_HPP
#define SVERTKA_DATA_DATASET_HPP
//! @file
//! `Dataset`: images and their labels, and `Batcher`, which cuts it into seeded batches.

#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/tensor.hpp"
#include "svertka/core/tensor_dict.hpp"
#include "svertka/data/sampler.hpp"

namespace svertka::data {

//! N objects: `images` of shape [N, ...] (for IDX images [N, 1, rows, cols], values in [0, 1]) and
//! `labels` of shape [N].
struct Dataset {
  Tensor<float> images{};
  Tensor<std::int64_t> labels{};

  std::int64_t size() const { return images.defined() && images.rank() > 0 ? images.dim(0) : 0; }

  //! @throws ShapeError when images and labels disagree on N, or OptionError when they are empty.
  void validate(std::string_view who) const {
    if (!images.defined() || !labels.defined() || images.rank() < 1 || size() == 0)
      throw OptionError(fmt::format("{}: the data set is empty", who));
    if (labels.rank() != 1 || labels.dim(0) != size())
      throw ShapeError(fmt::format("{}: {} images (images: {}) but labels have shape {}", who, size(), images.shape(),
                                   labels.shape()));
  }
};

//! A batch of images (converted to `T`) and labels, and the indices they were taken from.
template <class T = float>
struct Batch {
  Tensor<T> images;
  Tensor<std::int64_t> labels{};
  std::span<const std::int64_t> indices;
  std::int64_t size() const { return labels.numel(); }
};

//! The objects at `indices`, copied into new tensors (from the caching pool: no heap allocation once
//! warm). `images` has shape [B, ...] with B = indices.size().
template <class T = float>
Batch<T> gather(const Dataset& d, std::span<const std::int64_t> indices) {
  static_assert(std::is_floating_point_v<T>, "sv::data::gather: batches hold float or double images");
  const auto b = static_cast<std::int64_t>(indices.size());
  Shape s = d.images.shape();
  s.set(0, b);
  const std::int64_t per = d.images.numel() / d.size();
  Batch<T> out{Tensor<T>::empty(s), Tensor<std::int64_t>::empty(Shape{b}), indices};
  for (std::int64_t k = 0; k < b; ++k) {
    const std::int64_t i = indices[static_cast<std::size_t>(k)];
    if (i < 0 || i >= d.size())
      throw ShapeError(fmt::format("gather: index {} out of range for a data set of {} objects", i, d.size()));
    const float* src = d.images.data() + i * per;
    T* dst = out.images.data() + k * per;
    if constexpr (std::is_same_v<T, float>) std::memcpy(dst, src, static_cast<std::size_t>(per) * sizeof(float));
    else for (std::int64_t j = 0; j < per; ++j) dst[j] = static_cast<T>(src[j]);
    out.labels.data()[k] = d.labels.data()[i];
  }
  return out;
}

//! A `Dataset` with a `BatchSampler`: `next()` gives the next `Batch<T>`. It is a batch source for
//! `sv::optim::fit`, and checkpoints its sampler's state.
//! @code
//! sv::data::Batcher<float> train{data.train, {.batch_size = 64, .seed = 1}};
//! auto batch = train.next();   // batch.images [64, 1, 28, 28], batch.labels [64]
//! @endcode
template <class T = float>
class Batcher {
 public:
  Batcher(Dataset d, SamplerOptions o) : data_((d.validate("Batcher"), std::move(d))), sampler_(data_.size(), o) {}

  Batch<T> next() { return gather<T>(data_, sampler_.next()); }

  std::int64_t batches_per_epoch() const { return sampler_.batches_per_epoch(); }
  std::int64_t epoch() const { return sampler_.epoch(); }
  std::int64_t position() const { return sampler_.position(); }
  const Dataset& dataset() const { return data_; }
  BatchSampler& sampler() { return sampler_; }
  const BatchSampler& sampler() const { return sampler_; }
  TensorDict state_dict() const { return sampler_.state_dict(); }
  void load_state_dict(const TensorDict& d) { sampler_.load_state_dict(d); }

 private:
  Dataset data_;
  BatchSampler sampler_;
};

}  // namespace svertka::data

#endif  // SVERTKA_DATA_DATASET_HPP
