// A 20-layer residual network on the compile-time graph: ten residual blocks of two 3×3
// convolutions each (16 channels, 16×16), then global average pooling and a linear classifier.
// Besides the step time, this translation unit is the compile-time measure for deep graphs: it
// instantiates the forward and backward folds of every block.
#include <benchmark/benchmark.h>

#include "svertka/svertka.hpp"

namespace sv = svertka;
namespace gr = svertka::graph;

namespace {

constexpr auto block = gr::residual(gr::conv2d<16, 3>(gr::pad<1>), gr::relu, gr::conv2d<16, 3>(gr::pad<1>));
constexpr auto deep = gr::sequential(gr::input<16, 16, 16>, block, gr::relu, block, gr::relu, block, gr::relu, block,
                                     gr::relu, block, gr::relu, block, gr::relu, block, gr::relu, block, gr::relu,
                                     block, gr::relu, block, gr::relu, gr::global_avg_pool2d, gr::flatten,
                                     gr::linear<10>);
static_assert(gr::output_shape(deep) == sv::shape_c<10>);

void BM_Residual20_Batch16(benchmark::State& state) {
  sv::set_num_threads(2);
  sv::Rng rng(3);
  auto model = gr::instantiate<float>(deep, rng);
  auto x = sv::Tensor<float>::randn({16, 16, 16, 16}, rng);
  std::vector<std::int64_t> labels(16);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int64_t>(i % 10);
  sv::optim::SGD opt(0.01);
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.value_and_grad(x, labels, gr::cross_entropy));
    opt.step(model.parameters());
    model.zero_grad();
  }
}
BENCHMARK(BM_Residual20_Batch16)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
