// Convolution throughput on the workloads of shared/bench/README.md (float32): the op's forward, and
// forward + backward (gradients of x, w and b, zeroed first as the tape does), at 2 threads and at 1.
// backward_data / backward_filter time one kernel alone (GFLOPS = forward FLOPs / time), to show
// which kernel limits a row. The `GFLOPS` counter follows the README: forward FLOPs = 2·N·K·Ho·Wo·C/groups·R·S, and fwd+bwd
// GFLOP/s = 3 × forward FLOPs / wall time. Compare with PyTorch measured in the same session:
// /usr/bin/python3 shared/bench/torch_conv_bench.py 2
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>

#include "svertka/core/rng.hpp"
#include "svertka/core/tensor.hpp"
#include "svertka/core/threads.hpp"
#include "svertka/kernels/conv2d.hpp"
#include "svertka/ops/conv2d.hpp"

namespace {

namespace sv = svertka;

struct Workload {
  const char* name;
  std::int64_t N, C, H, W, K, R, S, stride, pad, dilation;
  sv::PadMode mode;
};

constexpr Workload workloads[] = {
    {"lenet_c1", 64, 1, 28, 28, 6, 5, 5, 1, 2, 1, sv::PadMode::zeros},
    {"lenet_c2", 64, 6, 14, 14, 16, 5, 5, 1, 0, 1, sv::PadMode::zeros},
    {"vgg_3x3", 16, 64, 56, 56, 64, 3, 3, 1, 1, 1, sv::PadMode::zeros},
    {"strided_3x3", 16, 64, 56, 56, 128, 3, 3, 2, 1, 1, sv::PadMode::zeros},
    {"dilated_reflect", 8, 64, 64, 64, 64, 3, 3, 1, 2, 2, sv::PadMode::reflect},
    {"alexnet_c1", 8, 3, 227, 227, 96, 11, 11, 4, 0, 1, sv::PadMode::zeros},
    {"replicate_5x5", 16, 32, 32, 32, 32, 5, 5, 1, 2, 1, sv::PadMode::replicate},
};

struct Problem {
  sv::ops::Conv2d op;
  sv::Tensor<float> x, w, b, y, gy, gx, gw, gb;
  double flops = 0;
  explicit Problem(const Workload& l)
      : op{{.stride = {l.stride, l.stride}, .dilation = {l.dilation, l.dilation}, .padding = sv::Padding2d::all(l.pad),
            .pad_mode = l.mode}} {
    sv::Rng rng(7);
    x = sv::Tensor<float>::randn({l.N, l.C, l.H, l.W}, rng);
    w = sv::Tensor<float>::randn({l.K, l.C, l.R, l.S}, rng, 0.0, 0.1);
    b = sv::Tensor<float>::randn({l.K}, rng);
    const sv::Shape ys = op.output_shape(x.shape(), w.shape(), b.shape());
    y = sv::Tensor<float>::empty(ys);
    gy = sv::Tensor<float>::randn(ys, rng);
    gx = sv::Tensor<float>::zeros(x.shape());
    gw = sv::Tensor<float>::zeros(w.shape());
    gb = sv::Tensor<float>::zeros(b.shape());
    flops = 2.0 * static_cast<double>(ys.numel()) * static_cast<double>(l.C * l.R * l.S);
  }
  void forward() { op.forward(x, w, b, y); }
  // forward, then the gradients of x, w and b, zeroed first as the tape does
  void forward_backward() {
    op.forward(x, w, b, y);
    gx.fill(0), gw.fill(0), gb.fill(0);
    op.backward(sv::ops::NoSaved{}, x, w, b, y, gy, &gx, &gw, &gb);
  }
};

void forward(benchmark::State& state) {
  const Workload& l = workloads[state.range(0)];
  sv::set_num_threads(static_cast<int>(state.range(1)));
  Problem p(l);
  for (auto _ : state) {
    p.forward();
    benchmark::ClobberMemory();
  }
  state.SetLabel(l.name);
  state.counters["GFLOPS"] = benchmark::Counter(p.flops, benchmark::Counter::kIsIterationInvariantRate);
}

// The statistic torch_conv_bench.py prints: two untimed calls, then the median of 10 timed ones,
// back to back (a repetition's mean over many calls, as above, also takes in every call that a busy
// host slowed).
template <class F>
double median_of_10_calls(F&& call) {
  using clock = std::chrono::steady_clock;
  call(), call();
  std::array<double, 10> t{};
  for (double& v : t) {
    const auto t0 = clock::now();
    call();
    benchmark::ClobberMemory();
    v = std::chrono::duration<double>(clock::now() - t0).count();
  }
  std::sort(t.begin(), t.end());
  return (t[4] + t[5]) / 2;
}

void forward_median(benchmark::State& state) {
  const Workload& l = workloads[state.range(0)];
  sv::set_num_threads(static_cast<int>(state.range(1)));
  Problem p(l);
  for (auto _ : state) state.SetIterationTime(median_of_10_calls([&p] { p.forward(); }));
  state.SetLabel(l.name);
  state.counters["GFLOPS"] = benchmark::Counter(p.flops, benchmark::Counter::kIsIterationInvariantRate);
}

void forward_backward(benchmark::State& state) {
  const Workload& l = workloads[state.range(0)];
  sv::set_num_threads(static_cast<int>(state.range(1)));
  Problem p(l);
  for (auto _ : state) {
    p.forward_backward();
    benchmark::ClobberMemory();
  }
  state.SetLabel(l.name);
  state.counters["GFLOPS"] = benchmark::Counter(3.0 * p.flops, benchmark::Counter::kIsIterationInvariantRate);
}

void forward_backward_median(benchmark::State& state) {
  const Workload& l = workloads[state.range(0)];
  sv::set_num_threads(static_cast<int>(state.range(1)));
  Problem p(l);
  for (auto _ : state) state.SetIterationTime(median_of_10_calls([&p] { p.forward_backward(); }));
  state.SetLabel(l.name);
  state.counters["GFLOPS"] = benchmark::Counter(3.0 * p.flops, benchmark::Counter::kIsIterationInvariantRate);
}

// The kernels alone, to see which one limits a row: the input gradient, the weight gradient.
void backward_data(benchmark::State& state) {
  const Workload& l = workloads[state.range(0)];
  sv::set_num_threads(static_cast<int>(state.range(1)));
  Problem p(l);
  const auto g = p.op.geometry(p.x.shape(), p.w.shape());
  for (auto _ : state) {
    sv::kernels::conv2d_backward_data<float>(g, p.w.data(), p.gy.data(), p.gx.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(l.name);
  state.counters["GFLOPS"] = benchmark::Counter(p.flops, benchmark::Counter::kIsIterationInvariantRate);
}

void backward_filter(benchmark::State& state) {
  const Workload& l = workloads[state.range(0)];
  sv::set_num_threads(static_cast<int>(state.range(1)));
  Problem p(l);
  const auto g = p.op.geometry(p.x.shape(), p.w.shape());
  for (auto _ : state) {
    sv::kernels::conv2d_backward_filter<float>(g, p.x.data(), p.gy.data(), p.gw.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(l.name);
  state.counters["GFLOPS"] = benchmark::Counter(p.flops, benchmark::Counter::kIsIterationInvariantRate);
}

void args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"workload", "threads"});
  for (int threads : {2, 1})
    for (std::int64_t i = 0; i < static_cast<std::int64_t>(std::size(workloads)); ++i) b->Args({i, threads});
  // ten short repetitions, reported as their mean, median, spread: the median is the figure to set
  // against torch_conv_bench.py's median of 10 steps (a busy host slows some steps by 20-50%)
  b->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(0.05)->Repetitions(10)->ReportAggregatesOnly(true);
}

// The medians of 10 calls at 2 threads, five of them (each after its own warm-up calls): the rows
// to set against torch_conv_bench.py 2, statistic for statistic.
void median_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"workload", "threads"});
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(std::size(workloads)); ++i) b->Args({i, 2});
  b->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1)->Repetitions(5)->ReportAggregatesOnly(true);
}

}  // namespace

BENCHMARK(forward)->Apply(args);
BENCHMARK(forward_backward)->Apply(args);
BENCHMARK(forward_median)->Apply(median_args);
BENCHMARK(forward_backward_median)->Apply(median_args);
BENCHMARK(backward_data)->Apply(args);
BENCHMARK(backward_filter)->Apply(args);

BENCHMARK_MAIN();
