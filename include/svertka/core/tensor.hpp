#ifndef SVERTKA_CORE_TENSOR_HPP
#define SVERTKA_CORE_TENSOR_HPP
//! @file
//! `Tensor<T>`: a contiguous row-major array with a shape, shared by cheap copies.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <new>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/memory.hpp"
#include "svertka/core/rng.hpp"
#include "svertka/core/shape.hpp"
#include "svertka/core/threads.hpp"

namespace svertka {

namespace detail {
//! Header in front of a tensor's data: the reference count and the block size. 64 bytes, so the data
//! that follows stays 64-byte aligned.
struct alignas(memory::alignment) StorageHeader {
  std::atomic<std::int64_t> refs{1};
  std::size_t bytes = 0;
};
static_assert(sizeof(StorageHeader) == memory::alignment);
}  // namespace detail

//! Name of an element type as numpy spells it (`float32`, `float64`, `int64`, ...).
template <class T>
constexpr std::string_view dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  else if constexpr (std::is_same_v<T, double>) return "float64";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "int64";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "int32";
  else if constexpr (std::is_same_v<T, std::uint8_t>) return "uint8";
  else return "unknown";
}

//! A dense, contiguous, row-major tensor of `T` (float and double for the math; integer types hold
//! labels and raw data).
//!
//! Copies are cheap and share the storage, like `std::shared_ptr`; `clone()` makes a deep copy.
//! Storage comes from the caching pool of `svertka::memory` and is 64-byte aligned. A
//! default-constructed tensor is *undefined* (`defined() == false`) and has no elements.
template <class T>
class Tensor {
  static_assert(std::is_arithmetic_v<T>, "svertka::Tensor<T> requires an arithmetic element type");

 public:
  using value_type = T;

  Tensor() = default;
  Tensor(const Tensor& o) noexcept : block_(o.block_), data_(o.data_), shape_(o.shape_), numel_(o.numel_) { retain(); }
  Tensor(Tensor&& o) noexcept
      : block_(std::exchange(o.block_, nullptr)),
        data_(std::exchange(o.data_, nullptr)),
        shape_(o.shape_),
        numel_(std::exchange(o.numel_, 0)) {
    o.shape_ = Shape{};
  }
  Tensor& operator=(const Tensor& o) noexcept {
    Tensor(o).swap(*this);
    return *this;
  }
  Tensor& operator=(Tensor&& o) noexcept {
    Tensor(std::move(o)).swap(*this);
    return *this;
  }
  ~Tensor() { release(); }
  void swap(Tensor& o) noexcept {
    std::swap(block_, o.block_);
    std::swap(data_, o.data_);
    std::swap(shape_, o.shape_);
    std::swap(numel_, o.numel_);
  }

  //! Uninitialised storage of the given shape.
  static Tensor empty(const Shape& shape) {
    Tensor t;
    const std::size_t bytes = sizeof(detail::StorageHeader) + static_cast<std::size_t>(shape.numel()) * sizeof(T);
    void* mem = memory::allocate(bytes);
    t.block_ = ::new (mem) detail::StorageHeader{};
    t.block_->bytes = bytes;
    t.data_ = reinterpret_cast<T*>(static_cast<char*>(mem) + sizeof(detail::StorageHeader));
    t.shape_ = shape;
    t.numel_ = shape.numel();
    return t;
  }
  static Tensor full(const Shape& shape, T value) {
    Tensor t = empty(shape);
    t.fill(value);
    return t;
  }
  static Tensor zeros(const Shape& shape) { return full(shape, T{0}); }
  static Tensor ones(const Shape& shape) { return full(shape, T{1}); }
  //! A tensor holding a copy of `values`, whose length must equal `shape.numel()`.
  static Tensor from(const Shape& shape, std::span<const T> values) {
    if (static_cast<std::int64_t>(values.size()) != shape.numel())
      throw ShapeError(fmt::format("Tensor::from: {} values given for shape {} ({} elements)", values.size(),
                                   shape, shape.numel()));
    Tensor t = empty(shape);
    std::copy(values.begin(), values.end(), t.data_);
    return t;
  }
  static Tensor from(const Shape& shape, std::initializer_list<T> values) {
    return from(shape, std::span<const T>(values.begin(), values.size()));
  }
  //! Normal(mean, stddev) entries, drawn in row-major order from `rng`.
  static Tensor randn(const Shape& shape, Rng& rng, double mean = 0.0, double stddev = 1.0)
    requires std::is_floating_point_v<T>
  {
    Tensor t = empty(shape);
    for (T& v : t) v = static_cast<T>(rng.normal(mean, stddev));
    return t;
  }
  //! Uniform[lo, hi) entries, drawn in row-major order from `rng`.
  static Tensor uniform(const Shape& shape, Rng& rng, double lo = 0.0, double hi = 1.0)
    requires std::is_floating_point_v<T>
  {
    Tensor t = empty(shape);
    for (T& v : t) v = static_cast<T>(rng.uniform(lo, hi));
    return t;
  }

  bool defined() const { return block_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  //! Size of dimension `i`; negative `i` counts from the end.
  std::int64_t dim(int i) const { return shape_.dim(i); }
  std::int64_t numel() const { return numel_; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T* begin() { return data_; }
  T* end() { return data_ + numel(); }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + numel(); }
  std::span<T> span() { return {data_, static_cast<std::size_t>(numel())}; }
  std::span<const T> span() const { return {data_, static_cast<std::size_t>(numel())}; }
  //! Number of tensors sharing this storage.
  std::int64_t use_count() const { return block_ ? block_->refs.load(std::memory_order_relaxed) : 0; }
  //! True when both tensors view the same storage.
  bool shares_storage(const Tensor& o) const { return block_ && block_ == o.block_; }

  //! Element at a multi-index, one index per dimension. Rank and bounds are checked in debug builds.
  template <class... I>
    requires(std::is_integral_v<I> && ...)
  T& operator()(I... idx) {
    return data_[offset(static_cast<std::int64_t>(idx)...)];
  }
  template <class... I>
    requires(std::is_integral_v<I> && ...)
  const T& operator()(I... idx) const {
    return data_[offset(static_cast<std::int64_t>(idx)...)];
  }
  //! The single element of a tensor with one element.
  T item() const {
    if (numel() != 1) throw ShapeError(fmt::format("Tensor::item: tensor of shape {} has {} elements, not 1", shape_, numel()));
    return data_[0];
  }

  //! Large fills and copies (`fill`, `zeros`, `clone`) are cut into chunks of this many elements
  //! (1 MiB) and spread over the kernels' threads; a smaller tensor stays on the calling thread.
  static constexpr std::int64_t bulk_grain = (std::int64_t{1} << 20) / static_cast<std::int64_t>(sizeof(T));

  void fill(T value) {
    T* d = data_;
    const bool zero_bytes = value == T{0} && !std::signbit(static_cast<double>(value));  // +0: all bytes 0
    parallel_for(0, numel(), bulk_grain, [d, value, zero_bytes](std::int64_t b, std::int64_t e) {
      if (zero_bytes)
        std::memset(d + b, 0, static_cast<std::size_t>(e - b) * sizeof(T));
      else
        std::fill(d + b, d + e, value);
    });
  }
  //! A deep copy with its own storage.
  Tensor clone() const {
    if (!block_) return {};
    Tensor t = empty(shape_);
    const T* src = data_;
    T* dst = t.data_;
    parallel_for(0, numel(), bulk_grain, [src, dst](std::int64_t b, std::int64_t e) {
      std::memcpy(dst + b, src + b, static_cast<std::size_t>(e - b) * sizeof(T));
    });
    return t;
  }
  //! The same storage seen with another shape of as many elements (always a view: storage is
  //! contiguous). One dimension may be -1 and is then inferred.
  Tensor reshape(std::initializer_list<std::int64_t> dims) const { return reshape_impl(dims.begin(), dims.end()); }
  Tensor reshape(const Shape& s) const { return reshape_impl(s.begin(), s.end()); }
  //! Rows [begin, begin + count) along the first dimension: a view sharing this storage (a batch's
  //! samples from `begin` on). `ShapeError` for a rank-0 tensor or a range outside [0, dim(0)].
  Tensor rows(std::int64_t begin, std::int64_t count) const {
    if (rank() == 0 || begin < 0 || count < 0 || begin + count > shape_[0])
      throw ShapeError(fmt::format("Tensor::rows: rows [{}, {}) are not within a tensor of shape {}", begin,
                                   begin + count, shape_));
    Tensor t(*this);
    const std::int64_t row = shape_[0] > 0 ? numel_ / shape_[0] : 0;
    t.data_ += begin * row;
    t.shape_.set(0, count);
    t.numel_ = count * row;
    return t;
  }

 private:
  void retain() noexcept {
    if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    if (block_ && block_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      const std::size_t bytes = block_->bytes;
      block_->~StorageHeader();
      memory::deallocate(block_, bytes);
    }
    block_ = nullptr;
    data_ = nullptr;
    numel_ = 0;
  }

  template <class... I>
  std::int64_t offset(I... idx) const {
#ifndef NDEBUG
    if (static_cast<int>(sizeof...(I)) != shape_.rank())
      throw ShapeError(fmt::format("Tensor: {} indices given for a tensor of rank {} (shape {})", sizeof...(I),
                                   shape_.rank(), shape_));
    int d = 0;
    ((idx < 0 || idx >= shape_[d]
          ? throw ShapeError(fmt::format("Tensor: index {} out of range for dimension {} of size {} (shape {})",
                                         idx, d, shape_[d], shape_))
          : void(),
      ++d),
     ...);
#endif
    std::int64_t off = 0;
    int k = 0;
    ((off = off * shape_.begin()[k++] + idx), ...);
    return off;
  }

  template <class It>
  Tensor reshape_impl(It first, It last) const {
    Shape s;
    int infer = -1;
    std::int64_t known = 1;
    for (It it = first; it != last; ++it) {
      if (*it == -1 && infer < 0) {
        infer = s.rank();
        s.push_back(0);
      } else if (*it < 0) {
        throw ShapeError(fmt::format("reshape: invalid dimension {} for tensor of shape {}", *it, shape_));
      } else {
        s.push_back(*it);
        known *= *it;
      }
    }
    if (infer >= 0) {
      if (known == 0 || numel() % known != 0)
        throw ShapeError(fmt::format("reshape: cannot infer the -1 dimension for {} elements (shape {})", numel(), shape_));
      s.set(infer, numel() / known);
    }
    if (s.numel() != numel())
      throw ShapeError(fmt::format("reshape: shape {} has {} elements but the tensor has {} (shape {})", s,
                                   s.numel(), numel(), shape_));
    Tensor t(*this);
    t.shape_ = s;
    return t;
  }

  detail::StorageHeader* block_ = nullptr;
  T* data_ = nullptr;
  Shape shape_;
  std::int64_t numel_ = 0;  // shape_.numel() when defined, kept so loops need not recompute it
};

}  // namespace svertka

#endif  // SVERTKA_CORE_TENSOR_HPP
