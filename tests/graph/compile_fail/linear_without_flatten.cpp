// linear after a [C, H, W] activation, without flatten: rejected at layer 2 with the input's rank.
#include "svertka/graph/graph.hpp"
using namespace svertka::graph;
constexpr auto g = sequential(input<3, 8, 8>, relu, linear<10>);
static_assert(output_shape(g).rank() == 1);
