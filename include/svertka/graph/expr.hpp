#ifndef SVERTKA_GRAPH_EXPR_HPP
#define SVERTKA_GRAPH_EXPR_HPP
//! @file
//! Expressions over named placeholders: graphs that are not a chain, written as formulas.
//!
//! ```cpp
//! constexpr auto X = placeholder<"X", 3>;     // one sample: 3 features; the batch size is run-time
//! constexpr auto y = placeholder<"y", 1>;
//! constexpr auto Q = mean(square(linear<1>(X) - y));            // the seed's linear regression
//! auto model = instantiate<double>(Q, rng);                      // owns linear<1>'s w and b
//! double q = model.value_and_grad(X = features, y = targets);    // gradients into model.parameters()
//! auto v = model.forward(X = tape::constant(features), y = tape::constant(targets));   // on the tape
//! ```
//! Nodes: a placeholder, a layer applied to an expression (`linear<1>(X)`, any layer of a sequential
//! works), `+ − × ÷` between expressions (broadcasting as in ops/binary.hpp), the elementwise
//! functions `square exp log relu tanh sigmoid`, and `sum`/`mean` over everything. Shapes are checked
//! at compile time like a sequential's.

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <tuple>

#include "svertka/graph/exec.hpp"
#include "svertka/ops/reduce.hpp"

namespace svertka::graph {

//! A string usable as a template argument: the placeholder's name.
template <std::size_t N>
struct FixedString {
  char text[N]{};
  constexpr FixedString(const char (&s)[N]) { std::copy_n(s, N, text); }
  constexpr std::string_view view() const { return {text, N - 1}; }
};

template <class T, FixedString Name>
struct Binding {
  Tensor<T> value;
};
template <class T, FixedString Name>
struct VarBinding {
  tape::Var<T> value;
};

//! A named input with per-sample shape D...
template <FixedString Name, std::int64_t... D>
struct Placeholder {
  static constexpr Shape shape = Shape{D...};
  template <class T>
  constexpr Binding<T, Name> operator=(const Tensor<T>& t) const {
    return {t};
  }
  template <class T>
  constexpr VarBinding<T, Name> operator=(const tape::Var<T>& v) const {
    return {v};
  }
};
template <FixedString Name, std::int64_t... D>
inline constexpr Placeholder<Name, D...> placeholder{};

//! Layer L applied to expression A.
template <class L, class A>
struct Apply {};
//! Binary function F (ops/binary.hpp) of two expressions.
template <class F, class A, class B>
struct BinaryExpr {};
//! Elementwise function F (ops/unary.hpp) of an expression.
template <class F, class A>
struct UnaryExpr {};
//! Sum or mean of every element: a scalar.
template <bool Mean, class A>
struct ReduceExpr {};

template <class E>
struct is_expr : std::false_type {};
template <FixedString N, std::int64_t... D>
struct is_expr<Placeholder<N, D...>> : std::true_type {};
template <class L, class A>
struct is_expr<Apply<L, A>> : std::true_type {};
template <class F, class A, class B>
struct is_expr<BinaryExpr<F, A, B>> : std::true_type {};
template <class F, class A>
struct is_expr<UnaryExpr<F, A>> : std::true_type {};
template <bool M, class A>
struct is_expr<ReduceExpr<M, A>> : std::true_type {};
template <class E>
concept Expression = is_expr<std::remove_cvref_t<E>>::value;

// building expressions
template <Expression A, Expression B> constexpr BinaryExpr<ops::Add, A, B> operator+(A, B) { return {}; }
template <Expression A, Expression B> constexpr BinaryExpr<ops::Sub, A, B> operator-(A, B) { return {}; }
template <Expression A, Expression B> constexpr BinaryExpr<ops::Mul, A, B> operator*(A, B) { return {}; }
template <Expression A, Expression B> constexpr BinaryExpr<ops::Div, A, B> operator/(A, B) { return {}; }
template <Expression A> constexpr UnaryExpr<ops::Square, A> square(A) { return {}; }
template <Expression A> constexpr UnaryExpr<ops::Exp, A> exp(A) { return {}; }
template <Expression A> constexpr UnaryExpr<ops::Log, A> log(A) { return {}; }
template <Expression A> constexpr ReduceExpr<false, A> sum(A) { return {}; }
template <Expression A> constexpr ReduceExpr<true, A> mean(A) { return {}; }

// ---- static shapes (per sample; a reduction gives a scalar with no batch) -------------------------

template <class E>
struct ExprShape;
template <FixedString Name, std::int64_t... D>
struct ExprShape<Placeholder<Name, D...>> {
  static constexpr Shape out = Shape{D...};
  static constexpr bool batched = true;
};
template <class L, class A>
struct ExprShape<Apply<L, A>> {
  static_assert(ExprShape<A>::batched, "svertka::graph: a layer cannot be applied after a reduction (sum/mean)");
  static constexpr Shape out = LayerShape<1, ExprShape<A>::out, L>::out;
  static constexpr bool batched = true;
};
template <class F, class A, class B>
struct ExprShape<BinaryExpr<F, A, B>> {
  static_assert(ExprShape<A>::batched == ExprShape<B>::batched,
                "svertka::graph: both operands must be per-sample, or both reduced to scalars");
  static constexpr Shape out = ops::broadcast_plan(F::name, ExprShape<A>::out, ExprShape<B>::out).out;
  static constexpr bool batched = ExprShape<A>::batched;
};
template <class F, class A>
struct ExprShape<UnaryExpr<F, A>> : ExprShape<A> {};
template <bool M, class A>
struct ExprShape<ReduceExpr<M, A>> {
  static constexpr Shape out = Shape{};
  static constexpr bool batched = false;
};

// ---- executors --------------------------------------------------------------------------------------

template <class T, class E>
class ExprExec;

namespace detail {
//! (Re)allocates t with shape s unless it already has it.
template <class T>
void ensure(Tensor<T>& t, const Shape& s) {
  if (!t.defined() || !(t.shape() == s)) t = Tensor<T>::empty(s);
}
template <FixedString Name, class B>
struct binds : std::false_type {};
template <FixedString Name, class T>
struct binds<Name, Binding<T, Name>> : std::true_type {};
template <FixedString Name, class T>
struct binds<Name, VarBinding<T, Name>> : std::true_type {};

//! The value bound to placeholder `Name` among the bindings.
template <FixedString Name, class First, class... Rest>
const auto& find_binding(const First& f, const Rest&... r) {
  if constexpr (binds<Name, First>::value)
    return f.value;
  else {
    static_assert(sizeof...(Rest) > 0, "svertka::graph: a placeholder of the expression has no value; bind each one: X = tensor");
    return find_binding<Name>(r...);
  }
}
}  // namespace detail

template <class T, FixedString Name, std::int64_t... D>
class ExprExec<T, Placeholder<Name, D...>> {
 public:
  void create_parameters(Rng&, std::vector<Parameter<T>>&) {}
  template <class... B>
  const Tensor<T>& forward(const B&... b) {
    y = detail::find_binding<Name>(b...);
    const Shape& s = y.shape();
    bool ok = s.rank() == static_cast<int>(sizeof...(D)) + 1;
    for (int i = 0; ok && i < static_cast<int>(sizeof...(D)); ++i) ok = s[i + 1] == Shape{D...}[i];
    if (!ok)
      throw ShapeError(fmt::format("graph: placeholder '{}' is bound to shape {} but expects [N,{}]", Name.view(), s,
                                   Shape{D...}.str().substr(1, Shape{D...}.str().size() - 2)));
    detail::ensure(gy, y.shape());
    return y;
  }
  void backward() {}  // inputs need no gradient
  template <class... B>
  tape::Var<T> record(const B&... b) {
    return detail::find_binding<Name>(b...);
  }
  Tensor<T>& out() { return y; }
  Tensor<T>& grad() { return gy; }

 private:
  Tensor<T> y, gy;
};

template <class T, class L, class A>
class ExprExec<T, Apply<L, A>> {
 public:
  void create_parameters(Rng& rng, std::vector<Parameter<T>>& all) {
    arg_.create_parameters(rng, all);
    layer_.create_parameters(rng, all);
  }
  template <class... B>
  const Tensor<T>& forward(const B&... b) {
    const Tensor<T>& x = arg_.forward(b...);
    layer_.resize(x.dim(0));
    return layer_.forward(x);
  }
  void backward() {
    arg_.grad().fill(T(0));
    layer_.backward(arg_.out(), &arg_.grad());
    arg_.backward();
  }
  template <class... B>
  tape::Var<T> record(const B&... b) {
    return layer_.forward(arg_.record(b...));
  }
  Tensor<T>& out() { return layer_.y; }
  Tensor<T>& grad() { return layer_.gy; }

 private:
  ExprExec<T, A> arg_;
  typename executor_of<T, L, 1, ExprShape<A>::out>::type layer_;
};

template <class T, class F, class A, class B>
class ExprExec<T, BinaryExpr<F, A, B>> {
 public:
  void create_parameters(Rng& rng, std::vector<Parameter<T>>& all) {
    a_.create_parameters(rng, all);
    b_.create_parameters(rng, all);
  }
  template <class... Bs>
  const Tensor<T>& forward(const Bs&... bs) {
    const Tensor<T>& a = a_.forward(bs...);
    const Tensor<T>& b = b_.forward(bs...);
    const Shape s = op_.output_shape(a.shape(), b.shape());
    detail::ensure(y, s);
    detail::ensure(gy, s);
    op_.forward(a, b, y);
    return y;
  }
  void backward() {
    a_.grad().fill(T(0));
    b_.grad().fill(T(0));
    op_.backward(ops::NoSaved{}, a_.out(), b_.out(), y, gy, &a_.grad(), &b_.grad());
    a_.backward();
    b_.backward();
  }
  template <class... Bs>
  tape::Var<T> record(const Bs&... bs) {
    return tape::apply(op_, a_.record(bs...), b_.record(bs...));
  }
  Tensor<T>& out() { return y; }
  Tensor<T>& grad() { return gy; }

 private:
  Tensor<T> y, gy;
  ops::Binary<F> op_{};
  ExprExec<T, A> a_;
  ExprExec<T, B> b_;
};

//! Unary functions and reductions: one op on one argument.
template <class T, class Op, class A>
class ExprExecUnary {
 public:
  explicit ExprExecUnary(Op op = {}) : op_(op) {}
  void create_parameters(Rng& rng, std::vector<Parameter<T>>& all) { a_.create_parameters(rng, all); }
  template <class... Bs>
  const Tensor<T>& forward(const Bs&... bs) {
    const Tensor<T>& a = a_.forward(bs...);
    const Shape s = op_.output_shape(a.shape());
    detail::ensure(y, s);
    detail::ensure(gy, s);
    op_.forward(a, y);
    return y;
  }
  void backward() {
    a_.grad().fill(T(0));
    op_.backward(ops::NoSaved{}, a_.out(), y, gy, &a_.grad());
    a_.backward();
  }
  template <class... Bs>
  tape::Var<T> record(const Bs&... bs) {
    return tape::apply(op_, a_.record(bs...));
  }
  Tensor<T>& out() { return y; }
  Tensor<T>& grad() { return gy; }

 private:
  Tensor<T> y, gy;
  Op op_{};
  ExprExec<T, A> a_;
};
template <class T, class F, class A>
class ExprExec<T, UnaryExpr<F, A>> : public ExprExecUnary<T, ops::Unary<F>, A> {};
template <class T, class A>
class ExprExec<T, ReduceExpr<false, A>> : public ExprExecUnary<T, ops::Reduce, A> {};
template <class T, class A>
class ExprExec<T, ReduceExpr<true, A>> : public ExprExecUnary<T, ops::Reduce, A> {
 public:
  ExprExec() : ExprExecUnary<T, ops::Reduce, A>(ops::Reduce{.mean = true}) {}
};

// ---- the model --------------------------------------------------------------------------------------

//! A model of a scalar expression: owns the parameters of its layers.
template <class T, class E>
class ExprModel {
  static_assert(!ExprShape<E>::batched && ExprShape<E>::out.rank() == 0,
                "svertka::graph: instantiate an expression that reduces to a scalar (end it with sum or mean)");

 public:
  explicit ExprModel(Rng& rng) {
    exec_.create_parameters(rng, params_);
  }
  //! The expression's value for the given bindings (`X = tensor, y = tensor`); gradients of the
  //! parameters accumulate.
  template <class... B>
  T value_and_grad(const B&... bindings) {
    const T v = exec_.forward(bindings...).item();
    exec_.grad().fill(T(1));  // the seed: ∂Q/∂Q
    exec_.backward();
    return v;
  }
  template <class... B>
  T value(const B&... bindings) {
    return exec_.forward(bindings...).item();
  }
  //! The expression recorded on the tape (`X = tape::constant(t), ...`), parameters as leaves.
  template <class... B>
  tape::Var<T> forward(const B&... bindings) {
    return exec_.record(bindings...);
  }
  std::vector<Parameter<T>>& parameters() { return params_; }
  void zero_grad() {
    for (auto& p : params_) p.zero_grad();
  }

 private:
  ExprExec<T, E> exec_;
  std::vector<Parameter<T>> params_;
};

template <class T, Expression E>
ExprModel<T, E> instantiate(const E&, Rng& rng) {
  return ExprModel<T, E>(rng);
}

}  // namespace svertka::graph

#endif  // SVERTKA_GRAPH_EXPR_HPP
