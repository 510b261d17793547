#ifndef SVERTKA_GRAPH_RECEPTIVE_FIELD_HPP
#define SVERTKA_GRAPH_RECEPTIVE_FIELD_HPP
//! @file
//! Receptive fields of a graph at compile time, with the same constexpr arithmetic as the run-time
//! `sv::receptive_field` (core/receptive_field.hpp):
//!
//! ```cpp
//! static_assert(receptive_field(sequential(input<1, 64, 64>, conv2d<1, 3>(), conv2d<1, 3>(), conv2d<1, 3>())).size == 7);
//! constexpr auto per_layer = receptive_fields(features);   // std::array, one field per layer
//! ```
//! Conv, pool and pad layers change the field; elementwise layers and flatten keep it; a layer that
//! mixes the whole input (linear) or a branching block has no receptive field in this sense: asking
//! for one through it is a compile error naming its position.

#include <array>
#include <utility>

#include "svertka/core/receptive_field.hpp"
#include "svertka/graph/sequential.hpp"

namespace svertka::graph {

namespace detail {
template <class L>
constexpr bool keeps_field = requires { L::identity_geometry; } || std::is_same_v<L, Flatten>;

template <std::size_t Pos, class L>
constexpr ReceptiveField field_after(const ReceptiveField& f) {
  if constexpr (requires { L::geometry(); }) {
    return f.then(L::geometry(), Pos);
  } else {
    errors::require<keeps_field<L>, errors::receptive_field_through_a_dense_layer<Pos>>();
    return f;
  }
}

template <class... Ls>
consteval auto fields(std::type_identity<Sequential<Ls...>>) {
  using First = std::tuple_element_t<0, std::tuple<Ls..., void>>;
  constexpr std::size_t skip = is_input<First>::value ? 1 : 0;
  constexpr std::size_t n = sizeof...(Ls) - skip;
  std::array<ReceptiveField, n> out{};
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ReceptiveField f;
    ((out[I] = f = field_after<I + 1, std::tuple_element_t<I + skip, std::tuple<Ls...>>>(f)), ...);
  }(std::make_index_sequence<n>{});
  return out;
}
}  // namespace detail

//! The receptive field (size, jump, start per axis) after each layer of `g` (the input excluded).
template <class... Ls>
consteval auto receptive_fields(const Sequential<Ls...>&) {
  return detail::fields(std::type_identity<Sequential<Ls...>>{});
}

//! The receptive field of the outputs of `g`'s last layer.
template <class... Ls>
consteval ReceptiveField receptive_field(const Sequential<Ls...>& g) {
  const auto all = receptive_fields(g);
  if constexpr (all.size() == 0) return ReceptiveField{};
  else return all.back();
}

}  // namespace svertka::graph

#endif  // SVERTKA_GRAPH_RECEPTIVE_FIELD_HPP
