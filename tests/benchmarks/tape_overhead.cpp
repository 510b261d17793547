// Tape overhead: a chain of 1000 tiny ops on a 16-element tensor, forward + backward + clear.
// Reported as time per op (the `per_op` counter). Single thread, like the libtorch figure it is
// compared with (../shared/bench/libtorch_overhead.cpp).
#include <benchmark/benchmark.h>

#include "svertka/svertka.hpp"

namespace sv = svertka;

static void BM_TapeChain(benchmark::State& state) {
  sv::set_num_threads(1);
  const int ops = static_cast<int>(state.range(0));
  sv::Rng rng(1);
  sv::Parameter<float> p(sv::Tensor<float>::randn({16}, rng));
  for (auto _ : state) {
    auto x = sv::tape::param(p);
    auto y = x;
    // the chain alternates cheap elementwise ops, as the libtorch reference does
    for (int i = 0; i < ops / 2; ++i) y = sv::tape::tanh(y * 1.0001);  // as the libtorch reference
    auto loss = sv::tape::sum(y);
    loss.backward();
    benchmark::DoNotOptimize(p.grad().data());
    sv::tape::clear();
  }
  state.counters["per_op"] = benchmark::Counter(static_cast<double>(ops), benchmark::Counter::kIsIterationInvariantRate |
                                                                             benchmark::Counter::kInvert);
}
BENCHMARK(BM_TapeChain)->Arg(1000)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
