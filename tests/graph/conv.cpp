// Convolutional graphs: LeNet-5's static shapes and receptive fields, the seed's tables, and the
// two engines' gradients on LeNet and on a residual conv net.
#include "support.hpp"

#include "svertka/graph/graph.hpp"

using namespace svtest;
namespace tp = svertka::tape;
namespace gr = svertka::graph;

namespace {
constexpr auto features = gr::sequential(gr::input<1, 28, 28>, gr::conv2d<6, 5>(gr::pad<2>), gr::relu, gr::max_pool2d<2>,
                                         gr::conv2d<16, 5>(), gr::relu, gr::max_pool2d<2>);
static_assert(gr::output_shape(features) == sv::shape_c<16, 5, 5>);
// conv5 (5), pool2 (5 + 1 = 6, jump 2), conv5 (6 + 4·2 = 14), pool2 (14 + 1·2 = 16, jump 4)
static_assert(gr::receptive_field(features).size == 16);
static_assert(gr::receptive_field(features).jump == 4);
constexpr auto lenet = gr::sequential(features, gr::flatten, gr::linear<120>, gr::relu, gr::linear<84>, gr::relu,
                                      gr::linear<10>);
static_assert(gr::output_shape(lenet) == sv::shape_c<10>);

// the lecture's tables: three 3×3 convolutions see 3, 5, 7 pixels; three 5×5 ones 5, 9, 13
constexpr auto c3 = gr::receptive_fields(gr::sequential(gr::input<1, 64, 64>, gr::conv2d<1, 3>(), gr::conv2d<1, 3>(), gr::conv2d<1, 3>()));
static_assert(c3[0].size == 3 && c3[1].size == 5 && c3[2].size == 7);
constexpr auto c5 = gr::receptive_fields(gr::sequential(gr::input<1, 64, 64>, gr::conv2d<1, 5>(), gr::conv2d<1, 5>(), gr::conv2d<1, 5>()));
static_assert(c5[0].size == 5 && c5[1].size == 9 && c5[2].size == 13);
// a stride of 2 makes the next 3×3 convolution see 7×7 (3 + 2·2); dilation 2 makes a 3×3 kernel span 5
static_assert(gr::receptive_field(gr::sequential(gr::input<1, 32, 32>, gr::conv2d<1, 3>(gr::stride<2>), gr::conv2d<1, 3>())).size == 7);
static_assert(gr::receptive_field(gr::sequential(gr::input<1, 32, 32>, gr::conv2d<1, 3>(gr::dilation<2>))).size == 5);
// blocks: the field covering both paths. A residual of two padded 3×3 convolutions sees 5×5 (its
// identity path, 1×1 at the same centre, lies inside); ten such blocks see 1 + 20·2 = 41.
constexpr auto res_block = gr::residual(gr::conv2d<4, 3>(gr::pad<1>), gr::relu, gr::conv2d<4, 3>(gr::pad<1>));
static_assert(gr::receptive_field(gr::sequential(gr::input<4, 16, 16>, res_block)) ==
              sv::ReceptiveField{.size = {5, 5}, .jump = {1, 1}, .start = {0.0, 0.0}});
static_assert(gr::receptive_field(gr::sequential(gr::input<4, 16, 16>, res_block, res_block, res_block, res_block,
                                                 res_block, res_block, res_block, res_block, res_block, res_block))
                  .size == 41);
// concat of a 3×3 and a 5×5 path, both centred (pad 1 and 2): 5×5
static_assert(gr::receptive_field(gr::sequential(gr::input<2, 8, 8>, gr::concat(gr::sequential(gr::conv2d<2, 3>(gr::pad<1>)),
                                                                             gr::sequential(gr::conv2d<3, 5>(gr::pad<2>)))))
                  .size == 5);
// an asymmetric pad moves the block's field: pixels −2..0 around centre −1, which contain the
// identity path's pixel 0, so the residual's field is the block's
static_assert(gr::receptive_field(gr::sequential(gr::input<1, 8, 8>, gr::residual(gr::conv2d<1, 3>(gr::pad<2, 0, 2, 0>)))) ==
              sv::ReceptiveField{.size = {3, 3}, .jump = {1, 1}, .start = {-1.0, -1.0}});
// the same arithmetic as the run-time function
static_assert(gr::receptive_field(features) ==
              sv::receptive_field({sv::LayerGeometry::conv({5, 5}, {1, 1}, sv::Padding2d::all(2)),
                                   sv::LayerGeometry::pool({2, 2}), sv::LayerGeometry::conv({5, 5}),
                                   sv::LayerGeometry::pool({2, 2})}));

// every option of conv2d and the other spatial layers
constexpr auto odd = gr::sequential(gr::input<3, 9, 9>,
                                    gr::conv2d<6, 3, 5>(gr::pad<1, 1, 2, 2>, gr::stride<2>, gr::dilation<1, 2>,
                                                        gr::mode<sv::PadMode::reflect>, gr::groups<3>),
                                    gr::pad2d<sv::PadMode::replicate, 1>, gr::avg_pool2d<2>, gr::global_avg_pool2d);
static_assert(gr::output_shape(odd) == sv::shape_c<6, 1, 1>);

constexpr auto resnet = gr::sequential(gr::input<2, 8, 8>, gr::conv2d<4, 3>(gr::pad<1>), gr::relu,
                                       gr::residual(gr::conv2d<4, 3>(gr::pad<1>, gr::mode<sv::PadMode::circular>), gr::relu,
                                                    gr::conv2d<4, 3>(gr::pad<1>)),
                                       gr::max_pool2d<2>, gr::flatten, gr::linear<3>);

template <class Graph>
void check_engines_agree(const Graph& g, sv::Shape x_shape, std::uint64_t seed) {
  sv::Rng rng(seed);
  auto m = gr::instantiate<double>(g, rng);
  auto x = sv::Tensor<double>::randn(x_shape, rng);
  std::vector<std::int64_t> labels;
  for (std::int64_t i = 0; i < x_shape[0]; ++i) labels.push_back(i % 3);
  const double loss = m.value_and_grad(x, labels, gr::cross_entropy);
  std::vector<sv::Tensor<double>> graph_grads;
  for (auto& p : m.parameters()) graph_grads.push_back(p.grad().clone());
  m.zero_grad();
  auto lt = tp::cross_entropy(m.forward(tp::constant(x)), labels);
  lt.backward();
  tp::clear();
  BOOST_TEST(lt.value().item() == loss);
  for (std::size_t i = 0; i < graph_grads.size(); ++i) {
    BOOST_TEST_CONTEXT("parameter " << i) {
      // the same ops; a residual block's two paths may be summed in another order: a few ulps
      const double scale = max_abs_diff(graph_grads[i], sv::Tensor<double>::zeros(graph_grads[i].shape()));
      BOOST_TEST(scale > 0.0);
      BOOST_TEST(max_abs_diff(graph_grads[i], m.parameters()[i].grad()) <= 8 * 2.2e-16 * scale);
    }
  }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(graph_conv)

BOOST_AUTO_TEST_CASE(lenet_graph_and_tape_agree) {
  check_engines_agree(lenet, {3, 1, 28, 28}, 1);
}

BOOST_AUTO_TEST_CASE(residual_conv_net_graph_and_tape_agree) {
  check_engines_agree(resnet, {2, 2, 8, 8}, 2);
}

BOOST_AUTO_TEST_CASE(options_net_runs_and_agrees) {
  check_engines_agree(gr::sequential(odd, gr::flatten, gr::linear<3>), {2, 3, 9, 9}, 3);
}

BOOST_AUTO_TEST_CASE(lenet_parameters_have_pytorch_shapes) {
  sv::Rng rng(4);
  auto m = gr::instantiate<float>(lenet, rng);
  const std::vector<sv::Shape> expect = {{6, 1, 5, 5}, {6}, {16, 6, 5, 5}, {16}, {120, 400}, {120}, {84, 120}, {84}, {10, 84}, {10}};
  BOOST_REQUIRE_EQUAL(m.parameters().size(), expect.size());
  for (std::size_t i = 0; i < expect.size(); ++i) BOOST_TEST(m.parameters()[i].shape() == expect[i]);
  // conv1's fan-in is 1·5·5: weights within ±1/5
  for (float v : m.parameters()[0].value()) BOOST_TEST(std::abs(v) <= 0.2f);
}

// vᵀJu of the graph's gradient against central differences of the loss along a random direction u
BOOST_AUTO_TEST_CASE(small_resnet_directional_derivative) {
  sv::Rng rng(5);
  auto m = gr::instantiate<double>(resnet, rng);
  auto x = sv::Tensor<double>::randn({2, 2, 8, 8}, rng);
  const std::vector<std::int64_t> labels = {0, 2};
  std::vector<sv::Tensor<double>> inputs;
  for (auto& p : m.parameters()) inputs.push_back(p.value().clone());
  m.zero_grad();
  const double l0 = m.value_and_grad(x, labels, gr::cross_entropy);
  // directional derivative along a random direction, by central differences on the graph itself
  sv::Rng dir(6);
  double analytic = 0;
  std::vector<sv::Tensor<double>> u;
  for (auto& p : m.parameters()) {
    u.push_back(sv::Tensor<double>::randn(p.shape(), dir));
    for (std::int64_t j = 0; j < p.numel(); ++j) analytic += p.grad().data()[j] * u.back().data()[j];
  }
  auto loss_at = [&](double eps) {
    for (std::size_t i = 0; i < inputs.size(); ++i)
      for (std::int64_t j = 0; j < inputs[i].numel(); ++j)
        m.parameters()[i].value().data()[j] = inputs[i].data()[j] + eps * u[i].data()[j];
    return tp::cross_entropy(m.forward(tp::constant(x)), labels).value().item();
  };
  const double numeric = (loss_at(1e-6) - loss_at(-1e-6)) / 2e-6;
  tp::clear();
  BOOST_TEST(std::abs(loss_at(0) - l0) < 1e-14);
  tp::clear();
  BOOST_TEST(analytic == numeric, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(std::abs(analytic) > 1e-3);
}

BOOST_AUTO_TEST_SUITE_END()
