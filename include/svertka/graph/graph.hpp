#ifndef SVERTKA_GRAPH_GRAPH_HPP
#define SVERTKA_GRAPH_GRAPH_HPP
//! @file
//! The compile-time computation graph: `using namespace svertka::graph;` then `sequential(...)`,
//! `output_shape(g)`, `instantiate<float>(g, rng)`.

#include "svertka/graph/conv.hpp"
#include "svertka/graph/errors.hpp"
#include "svertka/graph/exec.hpp"
#include "svertka/graph/expr.hpp"
#include "svertka/graph/layers.hpp"
#include "svertka/graph/model.hpp"
#include "svertka/graph/receptive_field.hpp"
#include "svertka/graph/sequential.hpp"

#endif  // SVERTKA_GRAPH_GRAPH_HPP
