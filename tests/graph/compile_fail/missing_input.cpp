// A complete graph must start with input<...>.
#include "svertka/graph/graph.hpp"
using namespace svertka::graph;
constexpr auto g = sequential(linear<4>, relu);
static_assert(output_shape(g).rank() == 1);
