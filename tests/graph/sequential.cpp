// Static shapes: everything here is checked by the compiler; the test cases only make the file part
// of the suite (a wrong shape rule fails the build).
#include "support.hpp"

#include "svertka/graph/graph.hpp"

namespace gr = svertka::graph;
namespace sv = svertka;

namespace {
constexpr auto mlp = gr::sequential(gr::input<784>, gr::linear<128>, gr::relu, gr::linear<10>);
static_assert(gr::output_shape(mlp) == sv::shape_c<10>);

// nested sequentials splice in: the result is flat
constexpr auto head = gr::sequential(gr::linear<32>, gr::relu);
constexpr auto net = gr::sequential(gr::input<3, 4, 4>, gr::flatten, head, gr::sequential(gr::linear<5>, gr::sigmoid));
static_assert(gr::output_shape(net) == sv::shape_c<5>);
static_assert(std::is_same_v<std::remove_cvref_t<decltype(net)>,
                             gr::Sequential<gr::Input<3, 4, 4>, gr::Flatten, gr::Linear<32>, gr::Elementwise<sv::ops::Relu>,
                                            gr::Linear<5>, gr::Elementwise<sv::ops::Sigmoid>>>);

// concat adds channels; residual keeps the shape
constexpr auto branches = gr::sequential(gr::input<2, 4, 4>, gr::concat(gr::relu, gr::tanh), gr::residual(gr::sigmoid));
static_assert(gr::output_shape(branches) == sv::shape_c<4, 4, 4>);
}  // namespace

BOOST_AUTO_TEST_SUITE(graph_sequential)

BOOST_AUTO_TEST_CASE(static_shapes_hold) {
  BOOST_TEST(gr::output_shape(mlp).str() == "[10]");
  BOOST_TEST(gr::output_shape(branches).str() == "[4,4,4]");
}

BOOST_AUTO_TEST_SUITE_END()
