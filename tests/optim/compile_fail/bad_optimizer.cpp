// An "optimizer" whose update is not called step(params): fit must say so in one sentence.
#include <span>
#include <vector>

#include "svertka/data/sampler.hpp"
#include "svertka/optim/fit.hpp"

namespace sv = svertka;

struct Update {
  void update(std::span<sv::Parameter<float>>) {}
};

int main() {
  std::vector<sv::Parameter<float>> params;
  Update opt;
  sv::data::BatchSampler batches(4, {});
  sv::optim::fit(params, opt, batches, [](std::span<const std::int64_t>) { return 1.0; }, sv::optim::no_evaluation);
}
