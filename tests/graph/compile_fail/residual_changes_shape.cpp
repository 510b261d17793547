// A residual block whose output is not its input's shape: [16] in, [8] out.
#include "svertka/graph/graph.hpp"
using namespace svertka::graph;
constexpr auto g = sequential(input<16>, linear<16>, residual(linear<8>));
static_assert(output_shape(g).rank() == 1);
