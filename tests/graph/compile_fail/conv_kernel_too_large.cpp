// A 5×5 kernel on a 4×4 input without padding: rejected at layer 3 with the sizes.
#include "svertka/graph/graph.hpp"
using namespace svertka::graph;
constexpr auto g = sequential(input<1, 8, 8>, conv2d<4, 3>(), max_pool2d<2>, conv2d<8, 5>());
static_assert(output_shape(g).rank() == 3);
