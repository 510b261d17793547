#ifndef SVERTKA_TAPE_VAR_HPP
#define SVERTKA_TAPE_VAR_HPP
//! @file
//! `Var<T>`: a value recorded on the tape, and `apply()`, which runs any op of `svertka/ops/` and
//! records it. Nothing here is specific to one op.

#include <array>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "svertka/core/parameter.hpp"
#include "svertka/core/tensor.hpp"
#include "svertka/tape/tape.hpp"

namespace svertka::tape {

//! A node holding a value of element type T and, once backward reaches it, its gradient.
template <class T>
class ValueNode : public NodeBase {
 public:
  explicit ValueNode(Tensor<T> v) : value(std::move(v)) {}
  void reset_grad() override { grad = Tensor<T>{}; }
  bool has_grad() const override { return grad.defined(); }

  //! The gradient tensor to accumulate into, allocated (zeroed) on first use.
  Tensor<T>* grad_for_accumulation() {
    if (!requires_grad) return nullptr;
    if (!grad.defined()) grad = Tensor<T>::zeros(value.shape());
    return &grad;
  }

  Tensor<T> value;
  Tensor<T> grad;
};

//! A constant or a parameter. A parameter's gradient *is* the parameter's gradient tensor, so
//! backward accumulates straight into it.
template <class T>
class LeafNode final : public ValueNode<T> {
 public:
  explicit LeafNode(Tensor<T> v) : ValueNode<T>(std::move(v)) {}
  explicit LeafNode(const Parameter<T>& p) : ValueNode<T>(p.value()) {
    this->grad = p.grad();
    this->requires_grad = true;
  }
  void backward() override {}
  void reset_grad() override {}
  std::string_view op_name() const override { return this->requires_grad ? "param" : "constant"; }
};

//! The output of `Op` applied to N inputs of the same element type.
template <class T, class Op, class Saved, std::size_t N>
class OpNode final : public ValueNode<T> {
 public:
  OpNode(const Op& o, Saved s, Tensor<T> y, const std::array<ValueNode<T>*, N>& in)
      : ValueNode<T>(std::move(y)), op(o), saved(std::move(s)), inputs(in) {
    this->leaf = false;
    this->requires_grad = true;
  }
  void backward() override { backward_impl(std::make_index_sequence<N>{}); }
  std::string_view op_name() const override { return Op::name; }

  Op op;
  Saved saved;
  std::array<ValueNode<T>*, N> inputs;

 private:
  template <std::size_t... I>
  void backward_impl(std::index_sequence<I...>) {
    op.backward(saved, inputs[I]->value..., this->value, this->grad, inputs[I]->grad_for_accumulation()...);
  }
};

//! Options of `Var::backward`.
struct BackwardOptions {
  //! Keep the graph usable for another backward pass through it.
  bool retain_graph = false;
};

//! A value on the calling thread's tape: an input (`constant`, `param`) or an op's result.
//!
//! `value()` stays readable after the tape is cleared; everything else (`grad()`, `backward()`, use
//! in an op) needs the tape the Var was recorded on, and throws `OptionError` when the Var belongs to
//! another thread's tape or was recorded before the last `clear()`.
template <class T>
class Var {
 public:
  using value_type = T;

  Var() = default;
  //! A Var over `node` of `tape`; `leaf_grad` is a parameter's gradient (kept readable after clear).
  Var(ValueNode<T>* node, Tape* tape, Tensor<T> leaf_grad = {})
      : node_(node), tape_(tape), generation_(tape->generation()), value_(node->value), leaf_grad_(std::move(leaf_grad)) {}

  //! The value computed when the op ran.
  const Tensor<T>& value() const { return value_; }
  const Shape& shape() const { return value_.shape(); }
  std::int64_t numel() const { return value_.numel(); }
  //! True when a gradient flows to this value from some parameter.
  bool requires_grad() const { return node_ && node_->requires_grad; }

  //! ∂(last backward's root)/∂(this value). A parameter's gradient accumulates over backward passes
  //! and stays readable after `clear()`; an interior value's gradient is that of the last backward
  //! pass; undefined when no gradient reached it.
  Tensor<T> grad() const {
    if (leaf_grad_.defined()) return leaf_grad_;
    return live("grad").grad;
  }

  //! Reverse pass from this scalar value (seed 1).
  void backward(BackwardOptions opt = {}) const {
    live("backward");
    if (value_.numel() != 1)
      throw OptionError(fmt::format("backward: the output has shape {} ({} elements); backward() without a seed "
                                    "needs a single value, pass a seed gradient of shape {} instead",
                                    value_.shape(), value_.numel(), value_.shape()));
    backward(Tensor<T>::ones(value_.shape()), opt);
  }
  //! Reverse pass with an explicit seed gradient ∂L/∂(this value), of this value's shape.
  void backward(const Tensor<T>& seed, BackwardOptions opt = {}) const {
    ValueNode<T>& n = live("backward");
    if (!(seed.shape() == value_.shape()))
      throw ShapeError(fmt::format("backward: seed has shape {} but the output has shape {}", seed.shape(),
                                   value_.shape()));
    if (!n.requires_grad) return;  // nothing below needs a gradient
    if (n.freed)
      throw OptionError(fmt::format("backward: the graph of this value ('{}', node {}) was freed by an earlier "
                                    "backward(); record the computation again, or pass retain_graph = true",
                                    n.op_name(), n.index));
    tape_->reset_interior_grads(&n);
    if (!n.leaf) {
      n.grad = seed.clone();  // an interior node's gradient starts as the seed
    } else {                  // a parameter's gradient accumulates
      const T* s = seed.data();
      T* gp = n.grad_for_accumulation()->data();
      parallel_for(0, seed.numel(), Tensor<T>::bulk_grain, [s, gp](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) gp[i] += s[i];
      });
    }
    tape_->run_backward(&n, opt.retain_graph);
  }

  //! The node, after checking it is alive on the calling thread's tape (`what` names the use).
  ValueNode<T>& live(std::string_view what) const {
    if (!node_) throw OptionError(fmt::format("{}: the Var is empty (default-constructed)", what));
    if (tape_ != &Tape::current())
      throw OptionError(fmt::format("{}: the Var belongs to another thread's tape; Vars of different tapes cannot be "
                                    "mixed",
                                    what));
    if (generation_ != tape_->generation())
      throw OptionError(fmt::format("{}: the Var was recorded before its tape was cleared; record it again", what));
    return *node_;
  }

 private:
  ValueNode<T>* node_ = nullptr;
  Tape* tape_ = nullptr;
  std::uint64_t generation_ = 0;
  Tensor<T> value_;
  Tensor<T> leaf_grad_;
};

//! A Var with no gradient (data, targets, fixed tensors).
template <class T>
Var<T> constant(Tensor<T> t) {
  Tape& tape = Tape::current();
  return Var<T>(tape.make<LeafNode<T>>(std::move(t)), &tape);
}
//! A Var whose gradient accumulates into `p.grad()`.
template <class T>
Var<T> param(const Parameter<T>& p) {
  Tape& tape = Tape::current();
  auto* leaf = tape.make<LeafNode<T>>(p);
  if (!tape.grad_enabled()) {
    leaf->requires_grad = false;
    return Var<T>(leaf, &tape);
  }
  return Var<T>(leaf, &tape, p.grad());
}
//! A Var over a new parameter wrapping `t` (shared, not copied), with a zero gradient.
template <class T>
Var<T> param(Tensor<T> t) {
  return param(Parameter<T>(std::move(t)));
}

namespace detail {
template <class Op, class T, std::size_t N, std::size_t... I>
Var<T> apply_impl(const Op& op, const std::array<const Var<T>*, N>& in, std::index_sequence<I...>) {
  Tape& tape = Tape::current();
  std::array<ValueNode<T>*, N> nodes{&in[I]->live(Op::name)...};
  const Shape out = op.output_shape(nodes[I]->value.shape()...);
  Tensor<T> y;
  if constexpr (requires { Op::is_view; }) {
    static_assert(Op::is_view);
  } else {
    y = Tensor<T>::empty(out);
  }
  auto saved = op.forward(nodes[I]->value..., y);
  const bool needs_grad = tape.grad_enabled() && (nodes[I]->requires_grad || ...);
  if (!needs_grad) return Var<T>(tape.make<LeafNode<T>>(std::move(y)), &tape);
  using Node = OpNode<T, Op, decltype(saved), N>;
  return Var<T>(tape.make<Node>(op, std::move(saved), std::move(y), nodes), &tape);
}
}  // namespace detail

//! Runs `op` on the inputs' values and records it (when some input needs a gradient and grad mode
//! is on). Every tape function is one call of this.
template <class Op, class T, class... V>
  requires(std::is_same_v<V, Var<T>> && ...)
Var<T> apply(const Op& op, const Var<T>& first, const V&... rest) {
  constexpr std::size_t N = 1 + sizeof...(V);
  return detail::apply_impl(op, std::array<const Var<T>*, N>{&first, &rest...}, std::make_index_sequence<N>{});
}

}  // namespace svertka::tape

#endif  // SVERTKA_TAPE_VAR_HPP
