// A train_step that returns nothing: fit must say what it should return, in one sentence.
#include <span>
#include <vector>

#include "svertka/data/sampler.hpp"
#include "svertka/optim/fit.hpp"
#include "svertka/optim/sgd.hpp"

namespace sv = svertka;

int main() {
  std::vector<sv::Parameter<float>> params;
  sv::optim::SGD opt{0.1};
  sv::data::BatchSampler batches(4, {});
  sv::optim::fit(params, opt, batches, [](std::span<const std::int64_t>) {}, sv::optim::no_evaluation);
}
