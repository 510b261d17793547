#ifndef SVERTKA_GRAPH_CONV_HPP
#define SVERTKA_GRAPH_CONV_HPP
//! @file
//! Convolution, pooling and padding layers of the compile-time graph, with their hyper-parameters
//! in the type:
//!
//! ```cpp
//! conv2d<6, 5>(pad<2>)                                      // 6 filters 5×5, zero padding 2
//! conv2d<64, 3>(pad<2>, dilation<2>, mode<PadMode::reflect>, stride<1>, groups<1>)
//! conv2d<16, 3, 5>(pad<1, 1, 2, 2>)                         // 3×5 kernel, padding top, bottom, left, right
//! max_pool2d<2>   max_pool2d<3, 2>   avg_pool2d<2>   global_avg_pool2d   pad2d<PadMode::reflect, 3>
//! ```
//! Each option is validated where it is declared (a `static_assert` naming it); wiring errors name
//! the layer's position and sizes (errors.hpp). The numerics are those of ops/conv2d.hpp,
//! ops/max_pool2d.hpp, ops/avg_pool2d.hpp and ops/pad2d.hpp.

#include <array>
#include <cstdint>

#include "svertka/core/receptive_field.hpp"
#include "svertka/graph/layers.hpp"
#include "svertka/ops/avg_pool2d.hpp"
#include "svertka/ops/conv2d.hpp"
#include "svertka/ops/max_pool2d.hpp"
#include "svertka/ops/pad2d.hpp"

namespace svertka::graph {

// ---- options of conv2d(...) ---------------------------------------------------------------------

namespace detail {
template <std::int64_t... P>
constexpr Padding2d padding_of() {
  static_assert(sizeof...(P) == 1 || sizeof...(P) == 2 || sizeof...(P) == 4,
                "pad<...>: give one width (all sides), two (height, width) or four (top, bottom, left, right)");
  static_assert(((P >= 0) && ...), "pad<...>: padding must be ≥ 0 on every side");
  constexpr std::array<std::int64_t, sizeof...(P)> p{P...};
  if constexpr (sizeof...(P) == 1) return Padding2d::all(p[0]);
  else if constexpr (sizeof...(P) == 2) return Padding2d::symmetric(p[0], p[1]);
  else return Padding2d{p[0], p[1], p[2], p[3]};
}
template <std::int64_t... V>
constexpr Size2d size2d_of() {
  constexpr std::array<std::int64_t, sizeof...(V)> v{V...};
  if constexpr (sizeof...(V) == 1) return {v[0], v[0]};
  else return {v[0], v[sizeof...(V) - 1]};
}
}  // namespace detail

//! Padding widths: `pad<p>`, `pad<p_h, p_w>` or `pad<top, bottom, left, right>`.
template <std::int64_t... P>
struct PadOpt {
  static constexpr Padding2d value = detail::padding_of<P...>();
};
template <std::int64_t... P>
inline constexpr PadOpt<P...> pad{};
//! Stride: `stride<s>` or `stride<s_h, s_w>`.
template <std::int64_t... S>
struct StrideOpt {
  static_assert(((S > 0) && ...), "stride<...>: the stride must be > 0");
  static_assert(sizeof...(S) == 1 || sizeof...(S) == 2, "stride<...>: give one value or two (height, width)");
  static constexpr bool is_stride = true;
  static constexpr Size2d value = detail::size2d_of<S...>();
};
template <std::int64_t... S>
inline constexpr StrideOpt<S...> stride{};
//! Dilation: `dilation<d>` or `dilation<d_h, d_w>`.
template <std::int64_t... D>
struct DilationOpt {
  static_assert(((D > 0) && ...), "dilation<...>: the dilation must be > 0");
  static_assert(sizeof...(D) == 1 || sizeof...(D) == 2, "dilation<...>: give one value or two (height, width)");
  static constexpr Size2d value = detail::size2d_of<D...>();
};
template <std::int64_t... D>
inline constexpr DilationOpt<D...> dilation{};
//! Padding mode: `mode<PadMode::reflect>`.
template <PadMode M>
struct ModeOpt {
  static constexpr PadMode value = M;
};
template <PadMode M>
inline constexpr ModeOpt<M> mode{};
//! Groups: `groups<g>` (g = C: depthwise).
template <std::int64_t G>
struct GroupsOpt {
  static_assert(G > 0, "groups<g>: the number of groups must be > 0");
  static constexpr std::int64_t value = G;
};
template <std::int64_t G>
inline constexpr GroupsOpt<G> groups{};

//! A convolution of K filters of R×S over the input's channels (see ops/conv2d.hpp).
template <std::int64_t K, std::int64_t R, std::int64_t S, Conv2dOptions O>
struct Conv2d {
  static_assert(K > 0 && R > 0 && S > 0, "conv2d<K, R, S>: the filter count and kernel size must be > 0");
  static constexpr std::string_view kind = "conv2d";
  static constexpr std::size_t n_params = 2;
  static constexpr Conv2dOptions options = O;

  template <std::size_t Pos, Shape In>
  static consteval Shape output() {
    errors::require<(In.rank() == 3), errors::conv2d_needs_chw_input<Pos, In.rank()>>();
    if constexpr (In.rank() == 3) {
      errors::require<(In[0] % O.groups == 0), errors::conv2d_channels_not_divisible_by_groups<Pos, In[0], O.groups>>();
      errors::require<(K % O.groups == 0), errors::conv2d_filters_not_divisible_by_groups<Pos, K, O.groups>>();
      constexpr std::int64_t kh = O.dilation.h * (R - 1) + 1, kw = O.dilation.w * (S - 1) + 1;
      constexpr std::int64_t ph = In[1] + O.padding.top + O.padding.bottom, pw = In[2] + O.padding.left + O.padding.right;
      errors::require<(kh <= ph), errors::conv2d_kernel_larger_than_padded_input<Pos, kh, ph>>();
      errors::require<(kw <= pw), errors::conv2d_kernel_larger_than_padded_input<Pos, kw, pw>>();
      if constexpr (In[0] % O.groups == 0 && K % O.groups == 0 && kh <= ph && kw <= pw) {
        constexpr Shape y = ops::Conv2d{O}.output_shape(batched(In, 1), Shape{K, In[0] / O.groups, R, S}, Shape{K});
        return Shape{y[1], y[2], y[3]};
      }
    }
    return In;
  }
  template <Shape In>
  static constexpr std::array<Shape, 2> parameter_shapes() {
    return {Shape{K, In[0] / O.groups, R, S}, Shape{K}};
  }
  template <Shape In>
  static constexpr std::int64_t fan_in() {
    return In[0] / O.groups * R * S;
  }
  template <Shape In>
  static constexpr auto op(std::int64_t) {
    return ops::Conv2d{O};
  }
  static constexpr LayerGeometry geometry() { return LayerGeometry::conv({R, S}, O.stride, O.padding, O.dilation); }
};

namespace detail {
template <class... Opts>
constexpr Conv2dOptions conv_options() {
  Conv2dOptions o{};
  (
      [&] {
        using O = Opts;
        if constexpr (requires { O::value.top; }) o.padding = O::value;
        else if constexpr (std::is_same_v<std::remove_cv_t<decltype(O::value)>, PadMode>) o.pad_mode = O::value;
        else if constexpr (std::is_same_v<std::remove_cv_t<decltype(O::value)>, std::int64_t>) o.groups = O::value;
        else if constexpr (requires { O::is_stride; }) o.stride = O::value;
        else o.dilation = O::value;
      }(),
      ...);
  return o;
}
}  // namespace detail

//! `conv2d<K, R, S = R>(options...)`: options among pad<...>, stride<...>, dilation<...>,
//! mode<PadMode::...>, groups<g>, each at most once.
template <std::int64_t K, std::int64_t R, std::int64_t S = R, class... Opts>
constexpr auto conv2d(Opts...) {
  return Conv2d<K, R, S, detail::conv_options<Opts...>()>{};
}

// ---- pooling and padding -------------------------------------------------------------------------

template <class Op, Pool2dOptions O>
struct Pool {
  static constexpr std::string_view kind = Op::name;
  static constexpr std::size_t n_params = 0;
  static constexpr Pool2dOptions options = O;
  template <std::size_t Pos, Shape In>
  static consteval Shape output() {
    errors::require<(In.rank() == 3), errors::pool2d_needs_chw_input<Pos, In.rank()>>();
    if constexpr (In.rank() == 3) {
      constexpr std::int64_t kh = O.dilation.h * (O.kernel.h - 1) + 1, kw = O.dilation.w * (O.kernel.w - 1) + 1;
      constexpr std::int64_t ph = In[1] + O.padding.top + O.padding.bottom, pw = In[2] + O.padding.left + O.padding.right;
      constexpr std::int64_t max_pad = std::max({O.padding.top, O.padding.bottom, O.padding.left, O.padding.right});
      errors::require<(2 * max_pad <= std::min(O.kernel.h, O.kernel.w)),
                      errors::pool2d_padding_over_half_the_window<Pos, max_pad, std::min(O.kernel.h, O.kernel.w)>>();
      errors::require<(kh <= ph), errors::pool2d_window_larger_than_padded_input<Pos, kh, ph>>();
      errors::require<(kw <= pw), errors::pool2d_window_larger_than_padded_input<Pos, kw, pw>>();
      if constexpr (kh <= ph && kw <= pw && 2 * max_pad <= std::min(O.kernel.h, O.kernel.w)) {
        constexpr Shape y = Op{O}.output_shape(batched(In, 1));
        return Shape{y[1], y[2], y[3]};
      }
    }
    return In;
  }
  template <Shape In>
  static constexpr auto op(std::int64_t) {
    return Op{O};
  }
  static constexpr LayerGeometry geometry() { return LayerGeometry::pool(O.kernel, O.stride, O.padding, O.dilation); }
};

//! Max-pooling with any options: `max_pool2d_with<Pool2dOptions{.kernel = {3, 3}, .stride = {2, 2}}>`.
template <Pool2dOptions O>
inline constexpr Pool<ops::MaxPool2d, O> max_pool2d_with{};
//! Average pooling with any options.
template <Pool2dOptions O>
inline constexpr Pool<ops::AvgPool2d, O> avg_pool2d_with{};
//! Max-pooling over k×k windows with stride s (default k).
template <std::int64_t k, std::int64_t s = k>
inline constexpr Pool<ops::MaxPool2d, Pool2dOptions{.kernel = {k, k}, .stride = {s, s}}> max_pool2d{};
//! Average pooling over k×k windows with stride s (default k).
template <std::int64_t k, std::int64_t s = k>
inline constexpr Pool<ops::AvgPool2d, Pool2dOptions{.kernel = {k, k}, .stride = {s, s}}> avg_pool2d{};

//! [C, H, W] → [C, 1, 1]: the mean of each channel.
struct GlobalAvgPool {
  static constexpr std::string_view kind = "global_avg_pool2d";
  static constexpr std::size_t n_params = 0;
  template <std::size_t Pos, Shape In>
  static consteval Shape output() {
    errors::require<(In.rank() == 3), errors::pool2d_needs_chw_input<Pos, In.rank()>>();
    return In.rank() == 3 ? Shape{In[0], 1, 1} : In;
  }
  template <Shape In>
  static constexpr auto op(std::int64_t) {
    return ops::GlobalAvgPool2d{};
  }
};
inline constexpr GlobalAvgPool global_avg_pool2d{};

//! Stand-alone padding: `pad2d<PadMode::reflect, 3>` (widths as in pad<...>).
template <PadMode M, std::int64_t... P>
struct Pad2d {
  static constexpr std::string_view kind = "pad2d";
  static constexpr std::size_t n_params = 0;
  static constexpr Padding2d padding = detail::padding_of<P...>();
  template <std::size_t Pos, Shape In>
  static consteval Shape output() {
    errors::require<(In.rank() == 3), errors::pad2d_needs_chw_input<Pos, In.rank()>>();
    if constexpr (In.rank() == 3) return Shape{In[0], In[1] + padding.top + padding.bottom, In[2] + padding.left + padding.right};
    return In;
  }
  template <Shape In>
  static constexpr auto op(std::int64_t) {
    return ops::Pad2d{padding, M};
  }
  static constexpr LayerGeometry geometry() { return LayerGeometry::pad(padding); }
};
template <PadMode M, std::int64_t... P>
inline constexpr Pad2d<M, P...> pad2d{};

}  // namespace svertka::graph

#endif  // SVERTKA_GRAPH_CONV_HPP
