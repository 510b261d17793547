#ifndef SVERTKA_GRAPH_SEQUENTIAL_HPP
#define SVERTKA_GRAPH_SEQUENTIAL_HPP
//! @file
//! Composition: `sequential(a, b, c, ...)` over a `hana::tuple` (nested sequentials splice in, so the
//! result stays flat), `residual(block)` = x + block(x), `concat(a, b)` along channels; and the
//! compile-time shape of a whole graph.

#include <cstddef>
#include <type_traits>

#include <boost/hana/basic_tuple.hpp>
#include <boost/hana/concat.hpp>
#include <boost/hana/flatten.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/unpack.hpp>

#include "svertka/graph/layers.hpp"

namespace svertka::graph {

namespace hana = boost::hana;

//! A chain of layers, flat. Its first element may be an `input<...>`: then it is a complete graph
//! with a known input shape; otherwise it is a block that takes its input shape from where it is used
//! (inside `residual`, `concat` or another `sequential`).
template <class... Ls>
struct Sequential {
  hana::tuple<Ls...> layers;
};

template <class T>
struct is_sequential : std::false_type {};
template <class... Ls>
struct is_sequential<Sequential<Ls...>> : std::true_type {};
template <class T>
struct is_input : std::false_type {};
template <std::int64_t... D>
struct is_input<Input<D...>> : std::true_type {};

namespace detail {
template <class L>
constexpr auto as_tuple(const L& l) {
  if constexpr (is_sequential<L>::value) return l.layers;
  else return hana::make_tuple(l);
}
template <class... Ls>
constexpr Sequential<Ls...> make_sequential(hana::tuple<Ls...>) {
  return {};
}
}  // namespace detail

//! Chains layers (and sequentials, whose layers are spliced in place).
template <class... Args>
constexpr auto sequential(const Args&... args) {
  return detail::make_sequential(hana::flatten(hana::make_tuple(detail::as_tuple(args)...)));
}

// ---- compile-time shapes ----------------------------------------------------------------------

template <std::size_t Pos, Shape In, class L>
struct LayerShape {
  static constexpr Shape out = L::template output<Pos, In>();
};

//! Output shape of layers Ls... applied in order to `In`, the first of them at position `Pos`.
template <std::size_t Pos, Shape In, class... Ls>
consteval Shape chain_output() {
  if constexpr (sizeof...(Ls) == 0) {
    return In;
  } else {
    return []<class L, class... Rest>(std::type_identity<L>, std::type_identity<Rest>...) {
      constexpr Shape out = LayerShape<Pos, In, L>::out;
      return chain_output<Pos + 1, out, Rest...>();
    }(std::type_identity<Ls>{}...);
  }
}

namespace detail {
//! Index of the first dimension where a and b differ (a.rank() when none).
constexpr int first_difference(const Shape& a, const Shape& b) {
  if (a.rank() != b.rank()) return 0;
  for (int i = 0; i < a.rank(); ++i)
    if (a[i] != b[i]) return i;
  return a.rank();
}
//! Index of the first dimension after the channels where a and b differ (0 when none).
constexpr int first_difference_after_channels(const Shape& a, const Shape& b) {
  for (int i = 1; i < a.rank(); ++i)
    if (a[i] != b[i]) return i;
  return 0;
}
constexpr std::int64_t dim_or(const Shape& s, int i) { return i < s.rank() ? s[i] : -1; }
}  // namespace detail

//! x + block(x); the block must keep the shape (checked at compile time). Its inner layers report
//! the residual's own position in errors.
template <class Block>
struct Residual;
template <class... Ls>
struct Residual<Sequential<Ls...>> {
  static constexpr std::string_view kind = "residual";
  using block_type = Sequential<Ls...>;
  template <std::size_t Pos, Shape In>
  static consteval Shape output() {
    constexpr Shape out = chain_output<Pos, In, Ls...>();
    constexpr int d = detail::first_difference(In, out);
    errors::require<(In == out), errors::residual_changes_the_shape<Pos, d, detail::dim_or(In, d),
                                                                    detail::dim_or(out, d)>>();
    return out;
  }
};
template <class... Args>
constexpr auto residual(const Args&... layers) {
  return Residual<decltype(sequential(layers...))>{};
}

//! [a(x), b(x)] along the channel dimension (the first per-sample one); both branches see the same
//! input and must agree in every other dimension.
template <class A, class B>
struct Concat;
template <class... As, class... Bs>
struct Concat<Sequential<As...>, Sequential<Bs...>> {
  static constexpr std::string_view kind = "concat";
  using first_type = Sequential<As...>;
  using second_type = Sequential<Bs...>;
  template <std::size_t Pos, Shape In>
  static consteval Shape output() {
    constexpr Shape a = chain_output<Pos, In, As...>();
    constexpr Shape b = chain_output<Pos, In, Bs...>();
    constexpr bool ranks = a.rank() == b.rank() && a.rank() >= 1;
    errors::require<ranks, errors::concat_shapes_differ<Pos, -1, a.rank(), b.rank()>>();
    if constexpr (ranks) {
      constexpr int d = detail::first_difference_after_channels(a, b);
      errors::require<(d == 0), errors::concat_shapes_differ<Pos, d, detail::dim_or(a, d), detail::dim_or(b, d)>>();
      Shape out = a;
      out.set(0, a[0] + b[0]);
      return out;
    } else {
      return a;
    }
  }
};
template <class A, class B>
constexpr auto concat(const A& a, const B& b) {
  return Concat<decltype(sequential(a)), decltype(sequential(b))>{};
}

//! The per-sample output shape of a complete graph (one starting with `input<...>`).
template <class... Ls>
consteval Shape output_shape(const Sequential<Ls...>&) {
  return []<class In, class... Rest>(std::type_identity<In>, std::type_identity<Rest>...) {
    errors::require<is_input<In>::value, errors::sequential_must_start_with_input<sizeof...(Ls)>>();
    if constexpr (is_input<In>::value) return chain_output<1, In::shape, Rest...>();
    else return Shape{};
  }(std::type_identity<Ls>{}...);
}

}  // namespace svertka::graph

#endif  // SVERTKA_GRAPH_SEQUENTIAL_HPP
