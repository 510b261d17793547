#ifndef SVERTKA_GRAPH_EXEC_HPP
#define SVERTKA_GRAPH_EXEC_HPP
//! @file
//! The compile-time engine's executors: one per layer, generated from the layer types.
//!
//! An executor owns its layer's parameters, its output buffer y, the buffer gy for ∂L/∂y, and the
//! op's `Saved` in a typed slot. Buffers are sized once per batch size (`resize`), so after the first
//! step nothing is allocated. Forward and backward are folds over a `hana::tuple` of executors whose
//! types, shapes included, are fixed at compile time: no tape, no virtual call, no shape check at
//! run time beyond the batch size. Every executor runs the same op (svertka/ops) as the tape, and can
//! also record itself on the tape (`forward(tape::Var)`), with its parameters as leaves.

#include <array>
#include <cmath>
#include <cstring>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/hana/at.hpp>
#include <boost/hana/back.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/size.hpp>
#include <boost/hana/tuple.hpp>

#include "svertka/core/parameter.hpp"
#include "svertka/core/rng.hpp"
#include "svertka/graph/sequential.hpp"
#include "svertka/ops/binary.hpp"
#include "svertka/ops/concat.hpp"
#include "svertka/tape/functions.hpp"

namespace svertka::graph {

template <class T, std::size_t Pos, Shape In, class... Ls>
class Chain;

namespace detail {
template <class T, std::size_t>
using const_tensor_ref = const Tensor<T>&;
template <class Op, class T, std::size_t... I>
auto saved_of(std::index_sequence<I...>)
    -> decltype(std::declval<const Op&>().forward(std::declval<const Tensor<T>&>(),
                                                  std::declval<const_tensor_ref<T, I>>()..., std::declval<Tensor<T>&>()));
}  // namespace detail

//! A source of parameters for `create_parameters`: the values of another model's parameters, in
//! order, shared (not copied); each executor gets a fresh zero gradient of its own.
template <class T>
struct SharedValues {
  std::span<const Parameter<T>> from;
  std::size_t next = 0;
  Tensor<T> take(const Shape& shape) {
    const Tensor<T>& v = from[next++].value();
    if (v.shape() != shape)
      throw ShapeError(fmt::format("graph: a shared parameter has shape {} where {} is expected", v.shape(), shape));
    return v;
  }
};

//! What `Op::forward` returns for an input and n parameters: the typed slot an executor keeps.
template <class Op, class T, std::size_t n>
using saved_t = decltype(detail::saved_of<Op, T>(std::make_index_sequence<n>{}));

//! Executor of a layer that is one op with 0..n parameters (weight, then bias).
template <class T, class L, std::size_t Pos, Shape In>
class Exec {
 public:
  static constexpr Shape out = LayerShape<Pos, In, L>::out;
  static constexpr std::size_t n_params = L::n_params;
  using Op = decltype(L::template op<In>(1));
  static constexpr bool is_view = requires { Op::is_view; };

  //! Creates the parameters from a `Rng` with PyTorch's default initialisation: weight and bias
  //! uniform in ±1/√fan_in (kaiming_uniform with a = √5 gives exactly that bound), drawn in that
  //! order; or from `SharedValues`: the next values of another model, shared, with gradients of their own.
  template <class Source>
  void create_parameters(Source& src, std::vector<Parameter<T>>& all) {
    if constexpr (n_params > 0) {
      constexpr auto shapes = L::template parameter_shapes<In>();
      const double bound = 1.0 / std::sqrt(static_cast<double>(L::template fan_in<In>()));
      for (std::size_t i = 0; i < n_params; ++i) {
        if constexpr (std::is_same_v<Source, Rng>) params_[i] = Parameter<T>(Tensor<T>::uniform(shapes[i], src, -bound, bound));
        else params_[i] = Parameter<T>(src.take(shapes[i]));
        all.push_back(params_[i]);
      }
    }
  }
  void resize(std::int64_t n) {
    if (n == n_) return;
    n_ = n;
    if constexpr (!is_view) y = Tensor<T>::empty(batched(out, n));
    gy = Tensor<T>::empty(batched(out, n));
  }
  const Tensor<T>& forward(const Tensor<T>& x) {
    const Op op = L::template op<In>(n_);
    // the last step's state goes back to the pool first: a step then needs one block per layer,
    // whatever the order in which concurrent tasks run (no allocation from the system after warm-up)
    saved_ = {};
    saved_ = with_params([&](const auto&... p) { return op.forward(x, p.value()..., y); });
    return y;
  }
  //! Adds ∂L/∂x into *gx (when not null) and ∂L/∂params into the parameters' gradients, from gy.
  void backward(const Tensor<T>& x, Tensor<T>* gx) {
    const Op op = L::template op<In>(n_);
    with_params([&](auto&... p) { op.backward(saved_, x, p.value()..., y, gy, gx, &p.grad()...); });
  }
  tape::Var<T> forward(const tape::Var<T>& x) {
    return with_params([&](const auto&... p) { return tape::apply(L::template op<In>(x.shape()[0]), x, tape::param(p)...); });
  }

  Tensor<T> y, gy;

 private:
  template <class F>
  decltype(auto) with_params(F&& f) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) -> decltype(auto) {
      return f(params_[I]...);
    }(std::make_index_sequence<n_params>{});
  }
  std::array<Parameter<T>, n_params> params_;
  saved_t<Op, T, n_params> saved_{};
  std::int64_t n_ = -1;
};

template <class T, class Block, std::size_t Pos, Shape In>
class ResidualExec;
template <class T, class A, class B, std::size_t Pos, Shape In>
class ConcatExec;

//! Which executor runs layer L: `Exec` for a layer that is one op; blocks have their own.
template <class T, class L, std::size_t Pos, Shape In>
struct executor_of {
  using type = Exec<T, L, Pos, In>;
};
template <class T, class Block, std::size_t Pos, Shape In>
struct executor_of<T, Residual<Block>, Pos, In> {
  using type = ResidualExec<T, Block, Pos, In>;
};
template <class T, class A, class B, std::size_t Pos, Shape In>
struct executor_of<T, Concat<A, B>, Pos, In> {
  using type = ConcatExec<T, A, B, Pos, In>;
};

//! A layer with parameters followed by ReLU, run as one executor: ReLU is applied in place on the
//! layer's output while it is in cache, and its backward masks ∂L/∂y in place (y > 0 exactly where
//! the pre-activation was > 0), so the pair needs one buffer and one pass less. The numbers are those
//! of the two ops run apart (the tape runs them apart: the tests compare the two bit for bit).
template <class T, class L, std::size_t Pos, Shape In>
class ReluFusedExec : public Exec<T, L, Pos, In> {
  using Base = Exec<T, L, Pos, In>;

 public:
  const Tensor<T>& forward(const Tensor<T>& x) {
    Base::forward(x);
    T* y = this->y.data();
    parallel_for(0, this->y.numel(), ops::elementwise_grain, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
    });
    return this->y;
  }
  void backward(const Tensor<T>& x, Tensor<T>* gx) {
    const T* y = this->y.data();
    T* g = this->gy.data();
    parallel_for(0, this->gy.numel(), ops::elementwise_grain, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) g[i] = y[i] > T(0) ? g[i] : T(0);
    });
    Base::backward(x, gx);
  }
  tape::Var<T> forward(const tape::Var<T>& x) { return tape::relu(Base::forward(x)); }
};

//! Layers with parameters (linear, conv2d) absorb a following relu.
template <class L>
constexpr bool fuses_relu = [] {
  if constexpr (requires { L::n_params; }) return L::n_params > 0;
  else return false;
}();

namespace detail {
template <class H, class... R>
hana::tuple<H, R...> cons(hana::tuple<R...>*);

//! The executor types of layers Ls... from position Pos and input shape In; a layer with parameters
//! followed by `relu` becomes one fused executor.
template <class T, std::size_t Pos, Shape In, class... Ls>
struct exec_types {
  using type = hana::tuple<>;
};
template <class T, std::size_t Pos, Shape In, class L, class... Rest>
struct exec_types<T, Pos, In, L, Rest...> {
  using head = typename executor_of<T, L, Pos, In>::type;
  using type = decltype(cons<head>(static_cast<typename exec_types<T, Pos + 1, head::out, Rest...>::type*>(nullptr)));
};
template <class T, std::size_t Pos, Shape In, class L, class... Rest>
  requires fuses_relu<L>
struct exec_types<T, Pos, In, L, Elementwise<ops::Relu>, Rest...> {
  using head = ReluFusedExec<T, L, Pos, In>;
  using type = decltype(cons<head>(static_cast<typename exec_types<T, Pos + 2, head::out, Rest...>::type*>(nullptr)));
};
}  // namespace detail

//! Executes layers Ls... in order; the building block of models, residual blocks and branches.
template <class T, std::size_t Pos, Shape In, class... Ls>
class Chain {
  static_assert(sizeof...(Ls) > 0, "svertka::graph: a chain (sequential, residual block or branch) needs at least one layer");
  using Execs = typename detail::exec_types<T, Pos, In, Ls...>::type;

 public:
  //! Number of executors (a fused layer + relu pair counts once).
  static constexpr std::size_t size = decltype(hana::size(std::declval<Execs>()))::value;
  static constexpr Shape out = chain_output<Pos, In, Ls...>();

  template <class Source>
  void create_parameters(Source& src, std::vector<Parameter<T>>& all) {
    hana::for_each(execs_, [&](auto& e) { e.create_parameters(src, all); });
  }
  void resize(std::int64_t n) {
    hana::for_each(execs_, [&](auto& e) { e.resize(n); });
  }
  const Tensor<T>& forward(const Tensor<T>& x) {
    const Tensor<T>* cur = &x;
    hana::for_each(execs_, [&](auto& e) { cur = &e.forward(*cur); });
    return *cur;
  }
  //! ∂L/∂(chain output), to be filled before `backward`.
  Tensor<T>& grad_output() { return hana::back(execs_).gy; }
  const Tensor<T>& output() const { return hana::back(execs_).y; }
  //! Backward through every layer from `grad_output()`; adds ∂L/∂x into *gx when not null.
  void backward(const Tensor<T>& x, Tensor<T>* gx) { backward_from<size - 1>(x, gx); }
  tape::Var<T> forward(const tape::Var<T>& x) {
    tape::Var<T> cur = x;
    hana::for_each(execs_, [&](auto& e) { cur = e.forward(cur); });
    return cur;
  }
  //! The executor of layer I (0-based within this chain).
  template <std::size_t I>
  auto& layer() {
    return hana::at_c<I>(execs_);
  }

 private:
  template <std::size_t I>
  void backward_from(const Tensor<T>& x, Tensor<T>* gx) {
    if constexpr (I == 0) {
      hana::at_c<0>(execs_).backward(x, gx);
    } else {
      auto& prev = hana::at_c<I - 1>(execs_);
      prev.gy.fill(T(0));  // backward accumulates
      hana::at_c<I>(execs_).backward(prev.y, &prev.gy);
      backward_from<I - 1>(x, gx);
    }
  }
  Execs execs_;
};

template <class T, std::size_t Pos, Shape In, class Seq>
struct chain_of;
template <class T, std::size_t Pos, Shape In, class... Ls>
struct chain_of<T, Pos, In, Sequential<Ls...>> {
  using type = Chain<T, Pos, In, Ls...>;
};

//! Executor of `residual(block)`: y = x + block(x).
template <class T, class Block, std::size_t Pos, Shape In>
class ResidualExec {
 public:
  static constexpr Shape out = In;
  template <class Source>
  void create_parameters(Source& src, std::vector<Parameter<T>>& all) {
    inner_.create_parameters(src, all);
  }
  void resize(std::int64_t n) {
    inner_.resize(n);
    if (n == n_) return;
    n_ = n;
    y = Tensor<T>::empty(batched(out, n));
    gy = Tensor<T>::empty(batched(out, n));
  }
  const Tensor<T>& forward(const Tensor<T>& x) {
    const Tensor<T>& b = inner_.forward(x);
    ops::Binary<ops::Add>{}.forward(x, b, y);
    return y;
  }
  void backward(const Tensor<T>& x, Tensor<T>* gx) {
    // the identity path first, then the block's: the order the tape adds them in, so both engines
    // give the same bits
    if (gx) {
      T* out_g = gx->data();
      const T* in_g = gy.data();
      parallel_for(0, gy.numel(), ops::elementwise_grain, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t i = b; i < e; ++i) out_g[i] += in_g[i];
      });
    }
    Tensor<T>& g = inner_.grad_output();
    std::memcpy(g.data(), gy.data(), static_cast<std::size_t>(gy.numel()) * sizeof(T));
    inner_.backward(x, gx);
  }
  tape::Var<T> forward(const tape::Var<T>& x) { return x + inner_.forward(x); }

  Tensor<T> y, gy;

 private:
  typename chain_of<T, Pos, In, Block>::type inner_;
  std::int64_t n_ = -1;
};

//! Executor of `concat(a, b)`: y = [a(x), b(x)] along the first per-sample dimension.
template <class T, class A, class B, std::size_t Pos, Shape In>
class ConcatExec {
  using ChainA = typename chain_of<T, Pos, In, A>::type;
  using ChainB = typename chain_of<T, Pos, In, B>::type;

 public:
  static constexpr Shape out = [] {
    Shape s = ChainA::out;
    s.set(0, ChainA::out[0] + ChainB::out[0]);
    return s;
  }();
  template <class Source>
  void create_parameters(Source& src, std::vector<Parameter<T>>& all) {
    a_.create_parameters(src, all);
    b_.create_parameters(src, all);
  }
  void resize(std::int64_t n) {
    a_.resize(n);
    b_.resize(n);
    if (n == n_) return;
    n_ = n;
    y = Tensor<T>::empty(batched(out, n));
    gy = Tensor<T>::empty(batched(out, n));
  }
  const Tensor<T>& forward(const Tensor<T>& x) {
    const Tensor<T>& ya = a_.forward(x);
    const Tensor<T>& yb = b_.forward(x);
    ops::Concat{}.forward(ya, yb, y);
    return y;
  }
  void backward(const Tensor<T>& x, Tensor<T>* gx) {
    Tensor<T>&ga = a_.grad_output(), &gb = b_.grad_output();
    ga.fill(T(0));
    gb.fill(T(0));
    ops::Concat{}.backward(ops::NoSaved{}, a_.output(), b_.output(), y, gy, &ga, &gb);
    a_.backward(x, gx);
    b_.backward(x, gx);
  }
  tape::Var<T> forward(const tape::Var<T>& x) { return tape::concat(a_.forward(x), b_.forward(x)); }

  Tensor<T> y, gy;

 private:
  ChainA a_;
  ChainB b_;
  std::int64_t n_ = -1;
};

}  // namespace svertka::graph

#endif  // SVERTKA_GRAPH_EXEC_HPP
