// The compile-time graph against the tape on the same model and data: the MLP 784-128-10 at batch 1
// (forward + backward + SGD step, the libtorch reference's workload) and LeNet-5 at batch 64.
#include <benchmark/benchmark.h>

#include "svertka/svertka.hpp"

namespace sv = svertka;
namespace gr = svertka::graph;
namespace tp = svertka::tape;

namespace {

constexpr auto mlp = gr::sequential(gr::input<784>, gr::linear<128>, gr::relu, gr::linear<10>);

constexpr auto lenet = gr::sequential(gr::input<1, 28, 28>, gr::conv2d<6, 5>(gr::pad<2>), gr::relu, gr::max_pool2d<2>,
                                      gr::conv2d<16, 5>(), gr::relu, gr::max_pool2d<2>, gr::flatten, gr::linear<120>,
                                      gr::relu, gr::linear<84>, gr::relu, gr::linear<10>);

// A model of `graph`, one random batch of `shape`, labels first_label, first_label + 1, ... (mod 10),
// and the SGD optimizer, on `threads` threads.
template <class Graph>
struct Step {
  sv::Rng rng;
  decltype(gr::instantiate<float>(Graph{}, rng)) model;
  sv::Tensor<float> x;
  sv::Tensor<std::int64_t> labels;
  sv::optim::SGD<> opt{0.01};
  Step(std::uint64_t seed, sv::Shape shape, std::int64_t first_label, int threads)
      : rng(seed), model(gr::instantiate<float>(Graph{}, rng)), x(sv::Tensor<float>::randn(shape, rng)),
        labels(sv::Tensor<std::int64_t>::zeros({shape[0]})) {
    sv::set_num_threads(threads);
    for (std::int64_t i = 0; i < shape[0]; ++i) labels.data()[i] = (first_label + i) % 10;
  }
  // The SGD step and zero_grad (libtorch's reference calls opt.zero_grad() and opt.step()): one fused
  // pass, or the two calls one after the other.
  void update(bool fused = true) {
    if (fused) {
      opt.step_and_zero_grad(model.parameters());
    } else {
      opt.step(model.parameters());
      model.zero_grad();
    }
  }
  void graph_step(bool fused = true) {
    benchmark::DoNotOptimize(model.value_and_grad(x, labels, gr::cross_entropy));
    update(fused);
  }
  void tape_step() {
    auto loss = tp::cross_entropy(model.forward(tp::constant(x)), labels);
    loss.backward();
    tp::clear();
    update();
  }
};

using MlpStep = Step<std::remove_const_t<decltype(mlp)>>;
using LenetStep = Step<std::remove_const_t<decltype(lenet)>>;

void BM_MlpBatch1_Graph(benchmark::State& state) {
  MlpStep s(1, {1, 784}, 3, 1);
  for (auto _ : state) s.graph_step();
}
BENCHMARK(BM_MlpBatch1_Graph)->Unit(benchmark::kMicrosecond);

void BM_MlpBatch1_Graph_SeparateZeroGrad(benchmark::State& state) {
  MlpStep s(1, {1, 784}, 3, 1);
  for (auto _ : state) s.graph_step(false);
}
BENCHMARK(BM_MlpBatch1_Graph_SeparateZeroGrad)->Unit(benchmark::kMicrosecond);

void BM_MlpBatch1_Tape(benchmark::State& state) {
  MlpStep s(1, {1, 784}, 3, 1);
  for (auto _ : state) s.tape_step();
}
BENCHMARK(BM_MlpBatch1_Tape)->Unit(benchmark::kMicrosecond);

// LeNet-5, batch 64: forward + backward + SGD step on random images (the per-step cost of an epoch of
// Fashion-MNIST: 938 such steps). PyTorch's figure comes from torch_lenet_fmnist.py's seconds per epoch.
void BM_LenetBatch64_Graph(benchmark::State& state) {
  LenetStep s(2, {64, 1, 28, 28}, 0, static_cast<int>(state.range(0)));
  for (auto _ : state) s.graph_step();
}
BENCHMARK(BM_LenetBatch64_Graph)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_LenetBatch64_Tape(benchmark::State& state) {
  LenetStep s(2, {64, 1, 28, 28}, 0, static_cast<int>(state.range(0)));
  for (auto _ : state) s.tape_step();
}
BENCHMARK(BM_LenetBatch64_Tape)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
