#include "support.hpp"

#include "svertka/graph/graph.hpp"

using namespace svtest;
namespace tp = svertka::tape;
namespace gr = svertka::graph;

BOOST_AUTO_TEST_SUITE(graph_expr)

namespace {
constexpr auto X = gr::placeholder<"X", 3>;
constexpr auto y = gr::placeholder<"y", 1>;
// the seed's linear regression: Q(w) = (1/ℓ) Σ (⟨w, x⟩ + b − y)²
constexpr auto Q = gr::mean(gr::square(gr::linear<1>(X) - y));
static_assert(gr::ExprShape<decltype(gr::linear<1>(X) - y)>::out == sv::shape_c<1>);
}  // namespace

BOOST_AUTO_TEST_CASE(regression_gradient_matches_the_formula_and_the_tape) {
  sv::Rng rng(1);
  auto m = gr::instantiate<double>(Q, rng);
  BOOST_REQUIRE_EQUAL(m.parameters().size(), 2u);
  auto xs = sv::Tensor<double>::randn({10, 3}, rng), ys = sv::Tensor<double>::randn({10, 1}, rng);
  const double q = m.value_and_grad(X = xs, y = ys);
  // ∂Q/∂w_j = (2/ℓ) Σᵢ x_ij (⟨w, xᵢ⟩ + b − yᵢ), ∂Q/∂b = (2/ℓ) Σᵢ (⟨w, xᵢ⟩ + b − yᵢ): the seed's formulas
  const auto& w = m.parameters()[0].value();
  const double b = m.parameters()[1].value()(0);
  double gw[3] = {}, gb = 0, qq = 0;
  for (std::int64_t i = 0; i < 10; ++i) {
    const double r = w(0, 0) * xs(i, 0) + w(0, 1) * xs(i, 1) + w(0, 2) * xs(i, 2) + b - ys(i, 0);
    qq += r * r / 10;
    gb += 2 * r / 10;
    for (int j = 0; j < 3; ++j) gw[j] += 2 * xs(i, j) * r / 10;
  }
  BOOST_TEST(q == qq, boost::test_tools::tolerance(1e-13));
  for (int j = 0; j < 3; ++j) BOOST_TEST(m.parameters()[0].grad()(0, j) == gw[j], boost::test_tools::tolerance(1e-12));
  BOOST_TEST(m.parameters()[1].grad()(0) == gb, boost::test_tools::tolerance(1e-12));
  // the same expression on the tape: the same bits
  const auto g0 = m.parameters()[0].grad().clone(), g1 = m.parameters()[1].grad().clone();
  m.zero_grad();
  auto v = m.forward(X = tp::constant(xs), y = tp::constant(ys));
  v.backward();
  tp::clear();
  BOOST_TEST(v.value().item() == q);
  BOOST_TEST(max_abs_diff(g0, m.parameters()[0].grad()) == 0.0);
  BOOST_TEST(max_abs_diff(g1, m.parameters()[1].grad()) == 0.0);
}

BOOST_AUTO_TEST_CASE(expression_with_more_nodes_passes_gradcheck) {
  constexpr auto Z = gr::sum(gr::exp(gr::sigmoid(gr::linear<2>(X)) * gr::tanh(gr::linear<2>(X))) / y);
  sv::Rng rng(2);
  auto m = gr::instantiate<double>(Z, rng);
  auto xs = sv::Tensor<double>::randn({4, 3}, rng), ys = sv::Tensor<double>::uniform({4, 1}, rng, 1, 2);
  m.value_and_grad(X = xs, y = ys);
  std::vector<sv::Tensor<double>> inputs;
  for (auto& p : m.parameters()) inputs.push_back(p.value().clone());
  auto f = [&](const std::vector<tp::Var<double>>& v) {
    auto a = tp::sigmoid(tp::linear(tp::constant(xs), v[0], v[1]));
    auto b = tp::tanh(tp::linear(tp::constant(xs), v[2], v[3]));
    return tp::sum(tp::exp(a * b) / tp::constant(ys));
  };
  BOOST_TEST(gradcheck(f, inputs));
  std::vector<sv::Parameter<double>> ps;
  std::vector<tp::Var<double>> vars;
  for (auto& t : inputs) {
    ps.emplace_back(t.clone());
    vars.push_back(tp::param(ps.back()));
  }
  f(vars).backward();
  tp::clear();
  for (std::size_t i = 0; i < ps.size(); ++i)
    BOOST_TEST(max_abs_diff(ps[i].grad(), m.parameters()[i].grad()) < 1e-12);
}

BOOST_AUTO_TEST_CASE(a_wrongly_shaped_binding_is_rejected) {
  sv::Rng rng(3);
  auto m = gr::instantiate<double>(Q, rng);
  BOOST_CHECK_EXCEPTION(m.value_and_grad(X = sv::Tensor<double>::zeros({5, 4}), y = sv::Tensor<double>::zeros({5, 1})),
                        sv::ShapeError, message_has({"placeholder 'X'", "[5,4]", "[N,3]"}));
}

BOOST_AUTO_TEST_SUITE_END()
