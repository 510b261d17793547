// Two branches of different rank cannot be joined along channels.
#include "svertka/graph/graph.hpp"
using namespace svertka::graph;
constexpr auto g = sequential(input<2, 4, 4>, concat(relu, sequential(flatten, linear<3>)));
static_assert(output_shape(g).rank() == 3);
