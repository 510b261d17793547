// A linear layer mixes the whole input: it has no receptive field.
#include "svertka/graph/graph.hpp"
using namespace svertka::graph;
constexpr auto g = sequential(input<1, 8, 8>, conv2d<4, 3>(), flatten, linear<10>);
static_assert(receptive_field(g).size == 3);
