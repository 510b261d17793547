#ifndef SVERTKA_CORE_TENSOR_DICT_HPP
#define SVERTKA_CORE_TENSOR_DICT_HPP
//! @file
//! `TensorDict`: named tensors of mixed element types, in insertion order — an optimizer's state, the
//! members of an `.npz` archive, a checkpoint.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/tensor.hpp"

namespace svertka {

//! A tensor of any element type svertka stores (the types `.npy` files hold).
using AnyTensor = std::variant<Tensor<float>, Tensor<double>, Tensor<std::int64_t>, Tensor<std::int32_t>,
                               Tensor<std::uint8_t>>;

//! numpy's name of the element type held (`float32`, `int64`, ...).
inline std::string_view dtype_name(const AnyTensor& t) {
  return std::visit([](const auto& x) { return dtype_name<typename std::decay_t<decltype(x)>::value_type>(); }, t);
}
inline const Shape& shape_of(const AnyTensor& t) {
  return std::visit([](const auto& x) -> const Shape& { return x.shape(); }, t);
}

//! An ordered list of (name, tensor) with unique names. Tensors are shared, not copied (clone them
//! to keep a snapshot).
//!
//! Lookups that fail throw `OptionError` naming the caller (`who`), the entry and what was found, e.g.
//! `Adam::load_state_dict: entry 'exp_avg/2' holds float64 but float32 was expected`.
class TensorDict {
 public:
  struct Entry {
    std::string name;
    AnyTensor tensor;
  };

  //! Adds `t` under `name`, replacing a tensor of that name if there is one.
  template <class T>
  void set(std::string name, Tensor<T> t) {
    for (Entry& e : entries_)
      if (e.name == name) {
        e.tensor = std::move(t);
        return;
      }
    entries_.push_back({std::move(name), AnyTensor(std::move(t))});
  }
  void set_any(std::string name, AnyTensor t) {
    std::visit([&](auto& x) { set(std::move(name), std::move(x)); }, t);
  }
  //! A rank-0 int64 entry.
  void set_int(std::string name, std::int64_t v) { set(std::move(name), Tensor<std::int64_t>::full(Shape{}, v)); }
  //! A rank-0 float64 entry.
  void set_double(std::string name, double v) { set(std::move(name), Tensor<double>::full(Shape{}, v)); }

  bool contains(std::string_view name) const { return find(name) != nullptr; }
  //! The entry's tensor, or null.
  const AnyTensor* find(std::string_view name) const {
    for (const Entry& e : entries_)
      if (e.name == name) return &e.tensor;
    return nullptr;
  }

  //! The entry `name` as a `Tensor<T>`; throws `OptionError` if it is missing or of another type.
  template <class T>
  const Tensor<T>& get(std::string_view name, std::string_view who) const {
    const AnyTensor* a = find(name);
    if (!a) throw OptionError(fmt::format("{}: entry '{}' is missing", who, name));
    const Tensor<T>* t = std::get_if<Tensor<T>>(a);
    if (!t)
      throw OptionError(fmt::format("{}: entry '{}' holds {} but {} was expected", who, name, dtype_name(*a),
                                    dtype_name<T>()));
    return *t;
  }
  //! `get<T>`, also checking the shape.
  template <class T>
  const Tensor<T>& get(std::string_view name, const Shape& shape, std::string_view who) const {
    const Tensor<T>& t = get<T>(name, who);
    if (!(t.shape() == shape))
      throw OptionError(fmt::format("{}: entry '{}' has shape {} but {} was expected", who, name, t.shape(), shape));
    return t;
  }
  //! A single-element int64 entry's value.
  std::int64_t get_int(std::string_view name, std::string_view who) const { return single<std::int64_t>(name, who); }
  //! A single-element float64 entry's value.
  double get_double(std::string_view name, std::string_view who) const { return single<double>(name, who); }

  //! The entries whose names start with `prefix`, with the prefix removed.
  TensorDict sub(std::string_view prefix) const {
    TensorDict d;
    for (const Entry& e : entries_)
      if (std::string_view(e.name).starts_with(prefix)) d.entries_.push_back({e.name.substr(prefix.size()), e.tensor});
    return d;
  }
  //! Adds every entry of `other`, its name prefixed with `prefix`.
  void merge(std::string_view prefix, const TensorDict& other) {
    for (const Entry& e : other.entries_) set_any(std::string(prefix) + e.name, e.tensor);
  }

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

 private:
  template <class T>
  T single(std::string_view name, std::string_view who) const {
    const Tensor<T>& t = get<T>(name, who);
    if (t.numel() != 1)
      throw OptionError(fmt::format("{}: entry '{}' should hold one value but has shape {}", who, name, t.shape()));
    return t.data()[0];
  }

  std::vector<Entry> entries_;
};

}  // namespace svertka

#endif  // SVERTKA_CORE_TENSOR_DICT_HPP
