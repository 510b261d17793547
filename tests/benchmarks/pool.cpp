// Pooling and padding, forward + backward on a [64, 32, 56, 56] float32 input at 2 threads: the
// workloads of ../shared/bench/torch_conv_bench.py (max-pool 3/2, avg-pool 2/2, reflect and replicate
// padding by 3), timed the way that script times PyTorch: one step records the op on the tape, runs
// backward with a fixed seed gradient and drops the graph; the input's gradient starts from zero each
// step (PyTorch allocates a zeroed x.grad, here `zero_grad()` clears it). Wall time.
//
// The `kernels_*` rows time the kernels alone (no tape, no allocation, no zeroing), to show where the
// time of a step goes.
#include <benchmark/benchmark.h>

#include "svertka/svertka.hpp"

namespace {

namespace sv = svertka;
namespace tp = svertka::tape;

constexpr int threads = 2;
const sv::Shape input_shape{64, 32, 56, 56};

const sv::Pool2dOptions max_3s2{.kernel = {3, 3}, .stride = {2, 2}};
const sv::Pool2dOptions avg_2s2{.kernel = {2, 2}, .stride = {2, 2}};

template <class F>
void step(benchmark::State& state, F f) {
  sv::set_num_threads(threads);
  sv::Rng rng(1);
  sv::Parameter<float> x(sv::Tensor<float>::randn(input_shape, rng));
  const auto g = sv::Tensor<float>::randn(f(tp::param(x)).shape(), rng);
  tp::clear();
  for (auto _ : state) {
    x.zero_grad();
    f(tp::param(x)).backward(g);
    tp::clear();
    benchmark::DoNotOptimize(x.grad().data());
  }
}

void BM_max_pool(benchmark::State& s) { step(s, [](const tp::Var<float>& v) { return tp::max_pool2d(v, max_3s2); }); }
void BM_avg_pool(benchmark::State& s) { step(s, [](const tp::Var<float>& v) { return tp::avg_pool2d(v, avg_2s2); }); }
void BM_pad_reflect(benchmark::State& s) {
  step(s, [](const tp::Var<float>& v) { return tp::pad2d(v, sv::Padding2d::all(3), sv::PadMode::reflect); });
}
void BM_pad_replicate(benchmark::State& s) {
  step(s, [](const tp::Var<float>& v) { return tp::pad2d(v, sv::Padding2d::all(3), sv::PadMode::replicate); });
}

// An op's forward and backward alone, on preallocated tensors.
template <class Op>
void kernels(benchmark::State& state, const Op& op) {
  sv::set_num_threads(threads);
  sv::Rng rng(1);
  const auto x = sv::Tensor<float>::randn(input_shape, rng);
  auto y = sv::Tensor<float>::empty(op.output_shape(x.shape()));
  const auto gy = sv::Tensor<float>::randn(y.shape(), rng);
  auto gx = sv::Tensor<float>::zeros(x.shape());
  for (auto _ : state) {
    auto saved = op.forward(x, y);
    op.backward(saved, x, y, gy, &gx);
    benchmark::DoNotOptimize(gx.data());
  }
}
void BM_kernels_max_pool(benchmark::State& s) { kernels(s, sv::ops::MaxPool2d{max_3s2}); }
void BM_kernels_avg_pool(benchmark::State& s) { kernels(s, sv::ops::AvgPool2d{avg_2s2}); }
void BM_kernels_pad_reflect(benchmark::State& s) {
  kernels(s, sv::ops::Pad2d{sv::Padding2d::all(3), sv::PadMode::reflect});
}
void BM_kernels_pad_replicate(benchmark::State& s) {
  kernels(s, sv::ops::Pad2d{sv::Padding2d::all(3), sv::PadMode::replicate});
}

}  // namespace

BENCHMARK(BM_max_pool)->Name("maxpool_3s2")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_avg_pool)->Name("avgpool_2s2")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_pad_reflect)->Name("pad_reflect_3")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_pad_replicate)->Name("pad_replicate_3")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_kernels_max_pool)->Name("kernels_maxpool_3s2")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_kernels_avg_pool)->Name("kernels_avgpool_2s2")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_kernels_pad_reflect)->Name("kernels_pad_reflect_3")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_kernels_pad_replicate)->Name("kernels_pad_replicate_3")->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
