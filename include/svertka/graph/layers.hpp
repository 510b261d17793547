#ifndef SVERTKA_GRAPH_LAYERS_HPP
#define SVERTKA_GRAPH_LAYERS_HPP
//! @file
//! The simplest layers of a compile-time graph: `input`, elementwise activations, `flatten`, `linear`.
//!
//! A layer is a stateless type whose hyper-parameters are template arguments. It tells the engine
//! - `kind`: its name in messages;
//! - `output<Pos, In>()`: the per-sample output shape for per-sample input shape `In` (the batch size
//!   stays a run-time value), rejecting bad wiring with a compile-time error that names position
//!   `Pos` and the sizes (see errors.hpp);
//! - `op<In>(N)`: the op of `svertka/ops/` it runs, for a batch of N;
//! - `n_params`, `parameter_shapes<In>()`, `fan_in<In>()`: its parameters (weight, then bias) and the
//!   fan-in of PyTorch's default initialisation;
//! - `geometry()` for the receptive-field arithmetic (conv/pool kinds only).
//! The engines (the executors of exec.hpp, or the tape) do the rest: no numerics live here.

#include <array>
#include <cstdint>
#include <string_view>

#include "svertka/core/shape.hpp"
#include "svertka/graph/errors.hpp"
#include "svertka/ops/linear.hpp"
#include "svertka/ops/reshape.hpp"
#include "svertka/ops/unary.hpp"

namespace svertka::graph {

template <class L, class A>
struct Apply;  // a layer applied to an expression (expr.hpp)
template <class E>
struct is_expr;

//! Gives a layer type `layer(expression)`, used by expr.hpp: `linear<1>(X)`, `relu(linear<4>(X))`.
template <class L>
struct Callable {
  template <class A>
    requires is_expr<A>::value
  constexpr Apply<L, A> operator()(A) const {
    return {};
  }
};

//! [N, d...] from the per-sample shape d.
constexpr Shape batched(const Shape& per_sample, std::int64_t n) {
  Shape s{n};
  for (std::int64_t d : per_sample) s.push_back(d);
  return s;
}

//! The graph's input: one sample's shape, e.g. `input<1, 28, 28>`.
template <std::int64_t... D>
struct Input {
  static_assert(sizeof...(D) >= 1 && ((D > 0) && ...), "input<...>: every dimension must be positive");
  static constexpr Shape shape = Shape{D...};
};
template <std::int64_t... D>
inline constexpr Input<D...> input{};

//! A layer without parameters that keeps the shape, applying F elementwise (ops/unary.hpp).
template <class F>
struct Elementwise : Callable<Elementwise<F>> {
  static constexpr std::string_view kind = F::name;
  static constexpr std::size_t n_params = 0;
  template <std::size_t Pos, Shape In>
  static consteval Shape output() {
    return In;
  }
  template <Shape In>
  static constexpr auto op(std::int64_t) {
    return ops::Unary<F>{};
  }
  static constexpr bool identity_geometry = true;
};
inline constexpr Elementwise<ops::Relu> relu{};
inline constexpr Elementwise<ops::Tanh> tanh{};
inline constexpr Elementwise<ops::Sigmoid> sigmoid{};

//! [d0, d1, ...] → [d0·d1·...]: a view, no copy.
struct Flatten {
  static constexpr std::string_view kind = "flatten";
  static constexpr std::size_t n_params = 0;
  template <std::size_t Pos, Shape In>
  static consteval Shape output() {
    errors::require<(In.rank() >= 1), errors::flatten_of_a_scalar<Pos, In.rank()>>();
    return Shape{In.numel()};
  }
  template <Shape In>
  static constexpr auto op(std::int64_t n) {
    return ops::Reshape{Shape{n, In.numel()}};
  }
};
inline constexpr Flatten flatten{};

//! Fully connected: y = x·wᵀ + b with w: [M, in], b: [M] (ops/linear.hpp).
template <std::int64_t M>
struct Linear : Callable<Linear<M>> {
  static_assert(M > 0, "linear<M>: the number of outputs M must be positive");
  static constexpr std::string_view kind = "linear";
  static constexpr std::size_t n_params = 2;
  template <std::size_t Pos, Shape In>
  static consteval Shape output() {
    errors::require<(In.rank() == 1), errors::linear_needs_flat_input<Pos, In.rank()>>();
    return Shape{M};
  }
  template <Shape In>
  static constexpr std::array<Shape, 2> parameter_shapes() {
    return {Shape{M, In[0]}, Shape{M}};
  }
  template <Shape In>
  static constexpr std::int64_t fan_in() {
    return In[0];
  }
  template <Shape In>
  static constexpr auto op(std::int64_t) {
    return ops::Linear{};
  }
};
template <std::int64_t M>
inline constexpr Linear<M> linear{};

}  // namespace svertka::graph

#endif  // SVERTKA_GRAPH_LAYERS_HPP
