// The compile-time graph against the tape on the same model and data: the MLP 784-128-10 at batch 1
// (forward + backward + SGD step, the libtorch reference's workload) and LeNet-5 at batch 64.
#include <benchmark/benchmark.h>

#include "svertka/svertka.hpp"

namespace sv = svertka;
namespace gr = svertka::graph;
namespace tp = svertka::tape;

namespace {

constexpr auto mlp = gr::sequential(gr::input<784>, gr::linear<128>, gr::relu, gr::linear<10>);

// zero_grad + SGD step, as libtorch's reference does them (opt.zero_grad(), then opt.step()).
template <class Model>
void sgd_step(Model& model, sv::optim::SGD<>& opt) {
  opt.step(model.parameters());
  model.zero_grad();
}

void BM_MlpBatch1_Graph(benchmark::State& state) {
  sv::set_num_threads(1);
  sv::Rng rng(1);
  auto model = gr::instantiate<float>(mlp, rng);
  auto x = sv::Tensor<float>::randn({1, 784}, rng);
  const auto labels = sv::Tensor<std::int64_t>::from({1}, {3});
  sv::optim::SGD opt(0.01);
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.value_and_grad(x, labels, gr::cross_entropy));
    sgd_step(model, opt);
  }
}
BENCHMARK(BM_MlpBatch1_Graph)->Unit(benchmark::kMicrosecond);

void BM_MlpBatch1_Tape(benchmark::State& state) {
  sv::set_num_threads(1);
  sv::Rng rng(1);
  auto model = gr::instantiate<float>(mlp, rng);
  auto x = sv::Tensor<float>::randn({1, 784}, rng);
  const auto labels = sv::Tensor<std::int64_t>::from({1}, {3});
  sv::optim::SGD opt(0.01);
  for (auto _ : state) {
    auto loss = tp::cross_entropy(model.forward(tp::constant(x)), labels);
    loss.backward();
    tp::clear();
    sgd_step(model, opt);
  }
}
BENCHMARK(BM_MlpBatch1_Tape)->Unit(benchmark::kMicrosecond);

constexpr auto lenet = gr::sequential(gr::input<1, 28, 28>, gr::conv2d<6, 5>(gr::pad<2>), gr::relu, gr::max_pool2d<2>,
                                      gr::conv2d<16, 5>(), gr::relu, gr::max_pool2d<2>, gr::flatten, gr::linear<120>,
                                      gr::relu, gr::linear<84>, gr::relu, gr::linear<10>);

// LeNet-5, batch 64: forward + backward + SGD step on random images (the per-step cost of an epoch of
// Fashion-MNIST: 938 such steps). PyTorch's figure comes from torch_lenet_fmnist.py's seconds per epoch.
struct LenetBatch {
  sv::Rng rng{2};
  decltype(gr::instantiate<float>(lenet, rng)) model = gr::instantiate<float>(lenet, rng);
  sv::Tensor<float> x = sv::Tensor<float>::randn({64, 1, 28, 28}, rng);
  sv::Tensor<std::int64_t> labels = sv::Tensor<std::int64_t>::zeros({64});
  explicit LenetBatch(int threads) {
    sv::set_num_threads(threads);
    for (std::int64_t i = 0; i < 64; ++i) labels.data()[i] = i % 10;
  }
};

void BM_LenetBatch64_Graph(benchmark::State& state) {
  LenetBatch b(static_cast<int>(state.range(0)));
  sv::optim::SGD opt(0.01);
  for (auto _ : state) {
    benchmark::DoNotOptimize(b.model.value_and_grad(b.x, b.labels, gr::cross_entropy));
    sgd_step(b.model, opt);
  }
}
BENCHMARK(BM_LenetBatch64_Graph)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_LenetBatch64_Tape(benchmark::State& state) {
  LenetBatch b(static_cast<int>(state.range(0)));
  sv::optim::SGD opt(0.01);
  for (auto _ : state) {
    auto loss = tp::cross_entropy(b.model.forward(tp::constant(b.x)), b.labels);
    loss.backward();
    tp::clear();
    sgd_step(b.model, opt);
  }
}
BENCHMARK(BM_LenetBatch64_Tape)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
