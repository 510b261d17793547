// 6 input channels cannot be split into 4 groups.
#include "svertka/graph/graph.hpp"
using namespace svertka::graph;
constexpr auto g = sequential(input<6, 8, 8>, conv2d<8, 3>(pad<1>, groups<4>));
static_assert(output_shape(g).rank() == 3);
