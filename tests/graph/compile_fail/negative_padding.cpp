// Padding is validated where it is declared.
#include "svertka/graph/graph.hpp"
using namespace svertka::graph;
constexpr auto g = sequential(input<1, 8, 8>, conv2d<4, 3>(pad<-1>));
static_assert(output_shape(g).rank() == 3);
