// The compile-time graph against the tape on the same model and data: the MLP 784-128-10 at batch 1
// (forward + backward + SGD step, the libtorch reference's workload) and LeNet-5 at batch 64.
#include <benchmark/benchmark.h>

#include "svertka/svertka.hpp"

namespace sv = svertka;
namespace gr = svertka::graph;
namespace tp = svertka::tape;

namespace {

constexpr auto mlp = gr::sequential(gr::input<784>, gr::linear<128>, gr::relu, gr::linear<10>);

template <class Params>
void sgd_step(Params& ps, float lr) {
  for (auto& p : ps) {  // w -= lr·g and g = 0 in one pass (what zero_grad + step do)
    float* __restrict v = p.value().data();
    float* __restrict g = p.grad().data();
    for (std::int64_t i = 0; i < p.numel(); ++i) {
      v[i] -= lr * g[i];
      g[i] = 0.0f;
    }
  }
}

void BM_MlpBatch1_Graph(benchmark::State& state) {
  sv::set_num_threads(1);
  sv::Rng rng(1);
  auto model = gr::instantiate<float>(mlp, rng);
  auto x = sv::Tensor<float>::randn({1, 784}, rng);
  const auto labels = sv::Tensor<std::int64_t>::from({1}, {3});
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.value_and_grad(x, labels, gr::cross_entropy));
    sgd_step(model.parameters(), 0.01f);
  }
}
BENCHMARK(BM_MlpBatch1_Graph)->Unit(benchmark::kMicrosecond);

void BM_MlpBatch1_Tape(benchmark::State& state) {
  sv::set_num_threads(1);
  sv::Rng rng(1);
  auto model = gr::instantiate<float>(mlp, rng);
  auto x = sv::Tensor<float>::randn({1, 784}, rng);
  const auto labels = sv::Tensor<std::int64_t>::from({1}, {3});
  for (auto _ : state) {
    auto loss = tp::cross_entropy(model.forward(tp::constant(x)), labels);
    loss.backward();
    tp::clear();
    sgd_step(model.parameters(), 0.01f);
  }
}
BENCHMARK(BM_MlpBatch1_Tape)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
