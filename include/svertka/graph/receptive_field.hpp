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
//! Conv, pool and pad layers change the field; elementwise layers and flatten keep it. A `residual`
//! or `concat` block gives the smallest field that covers both of its paths (for a residual: the
//! identity and the block); two paths whose jumps differ have no common field (a compile error at
//! that check). A layer that mixes the whole input (linear) has no receptive field in this sense:
//! asking for one through it is a compile error naming its position.

#include <algorithm>
#include <array>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/receptive_field.hpp"
#include "svertka/graph/sequential.hpp"

namespace svertka::graph {

namespace detail {
template <class L>
constexpr bool keeps_field = requires { L::identity_geometry; } || std::is_same_v<L, Flatten>;

template <std::size_t Pos, class L>
constexpr ReceptiveField field_after(const ReceptiveField& f);

// The field after the layers of a block, each reporting the block's position.
template <std::size_t Pos, class... Ls>
constexpr ReceptiveField chain_field(ReceptiveField f, std::type_identity<Sequential<Ls...>>) {
  ((f = field_after<Pos, Ls>(f)), ...);
  return f;
}

// The smallest field covering a and b, two paths to the same outputs (their jumps must agree).
constexpr ReceptiveField cover(const ReceptiveField& a, const ReceptiveField& b, std::size_t pos) {
  if (a.jump != b.jump)
    throw OptionError(fmt::format("receptive_field: layer {}: the two paths of the block have different jumps "
                                  "({}×{} and {}×{}), so their outputs have no common receptive field",
                                  pos, a.jump.h, a.jump.w, b.jump.h, b.jump.w));
  const auto axis = [](std::int64_t ra, double ca, std::int64_t rb, double cb, std::int64_t& r, double& c) {
    const double lo = std::min(ca - static_cast<double>(ra - 1) / 2, cb - static_cast<double>(rb - 1) / 2);
    const double hi = std::max(ca + static_cast<double>(ra - 1) / 2, cb + static_cast<double>(rb - 1) / 2);
    r = static_cast<std::int64_t>(hi - lo) + 1;
    c = (lo + hi) / 2;
  };
  ReceptiveField f;
  f.jump = a.jump;
  axis(a.size.h, a.start.h, b.size.h, b.start.h, f.size.h, f.start.h);
  axis(a.size.w, a.start.w, b.size.w, b.start.w, f.size.w, f.start.w);
  return f;
}

template <class L>
struct is_block : std::false_type {};
template <class B>
struct is_block<Residual<B>> : std::true_type {};
template <class A, class B>
struct is_block<Concat<A, B>> : std::true_type {};

template <std::size_t Pos, class L>
constexpr ReceptiveField field_after(const ReceptiveField& f) {
  if constexpr (requires { L::geometry(); }) {
    return f.then(L::geometry(), Pos);
  } else if constexpr (is_block<L>::value) {
    if constexpr (requires { typename L::block_type; })
      return cover(f, chain_field<Pos>(f, std::type_identity<typename L::block_type>{}), Pos);
    else
      return cover(chain_field<Pos>(f, std::type_identity<typename L::first_type>{}),
                   chain_field<Pos>(f, std::type_identity<typename L::second_type>{}), Pos);
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
