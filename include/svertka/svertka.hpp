#ifndef SVERTKA_SVERTKA_HPP
#define SVERTKA_SVERTKA_HPP
//! @file
//! Everything in svertka in one include. `namespace sv = svertka;` is the usual alias.

#include "svertka/check/gradcheck.hpp"
#include "svertka/core/error.hpp"
#include "svertka/core/format.hpp"
#include "svertka/core/memory.hpp"
#include "svertka/core/parameter.hpp"
#include "svertka/core/receptive_field.hpp"
#include "svertka/core/rng.hpp"
#include "svertka/core/shape.hpp"
#include "svertka/core/tensor.hpp"
#include "svertka/core/tensor_dict.hpp"
#include "svertka/core/threads.hpp"
#include "svertka/graph/graph.hpp"
#include "svertka/data/dataset.hpp"
#include "svertka/data/idx.hpp"
#include "svertka/data/normalize.hpp"
#include "svertka/data/sampler.hpp"
#include "svertka/io/checkpoint.hpp"
#include "svertka/io/checkpoint_callback.hpp"
#include "svertka/io/npy.hpp"
#include "svertka/io/npz.hpp"
#include "svertka/ops/conv2d.hpp"
#include "svertka/optim/adam.hpp"
#include "svertka/optim/callbacks.hpp"
#include "svertka/optim/fit.hpp"
#include "svertka/optim/gd.hpp"
#include "svertka/optim/momentum.hpp"
#include "svertka/optim/on_plateau.hpp"
#include "svertka/optim/sgd.hpp"
#include "svertka/optim/stopping.hpp"
#include "svertka/tape/conv2d.hpp"
#include "svertka/tape/functions.hpp"
#include "svertka/tape/pool.hpp"
#include "svertka/tape/tape.hpp"
#include "svertka/tape/var.hpp"

namespace svertka {
//! Loss reductions, shared by the ops and both engines.
using ops::Reduction;
}  // namespace svertka

#endif  // SVERTKA_SVERTKA_HPP
