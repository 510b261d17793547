// GEMM throughput: svertka's sgemm against OpenBLAS's cblas_sgemm on square NN problems, measured in
// the same run with 2 threads each, plus svertka's dgemm at 512. The `GFLOPS` counter is
// 2·M·N·K / wall time (Google Benchmark prints it scaled: "100G/s" is 100 GFLOP/s). Wall time, not
// the CPU time of the main thread, because both libraries run 2 threads.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <cstdint>
#include <random>
#include <vector>

#include "svertka/kernels/gemm.hpp"

namespace {

using svertka::kernels::Trans;

constexpr int threads = 2;

template <class T>
struct Operands {
  std::vector<T> a, b, c;
  explicit Operands(std::int64_t n) : a(static_cast<std::size_t>(n * n)), b(a.size()), c(a.size()) {
    std::mt19937 gen(42);
    std::uniform_real_distribution<T> u(-1, 1);
    for (auto& x : a) x = u(gen);
    for (auto& x : b) x = u(gen);
    for (auto& x : c) x = u(gen);
  }
};

void set_flops(benchmark::State& state, std::int64_t n) {
  const auto size = static_cast<double>(n);
  state.counters["GFLOPS"] = benchmark::Counter(2 * size * size * size, benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void BM_svertka_gemm(benchmark::State& state) {
  omp_set_num_threads(threads);
  const std::int64_t n = state.range(0);
  Operands<T> x(n);
  for (auto _ : state) {
    svertka::kernels::gemm<T>(Trans::no, Trans::no, n, n, n, T(1), x.a.data(), n, x.b.data(), n, T(0), x.c.data(), n);
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, n);
}

void BM_openblas_sgemm(benchmark::State& state) {
  openblas_set_num_threads(threads);
  const std::int64_t n = state.range(0);
  const auto ni = static_cast<blasint>(n);
  Operands<float> x(n);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, ni, ni, ni, 1.0f, x.a.data(), ni, x.b.data(), ni, 0.0f,
                x.c.data(), ni);
    benchmark::DoNotOptimize(x.c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, n);
}

}  // namespace

// interleaved per size, so the two libraries see the same machine state
BENCHMARK(BM_svertka_gemm<float>)->Name("svertka_sgemm")->Arg(256)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_openblas_sgemm)->Name("openblas_sgemm")->Arg(256)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_svertka_gemm<float>)->Name("svertka_sgemm")->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_openblas_sgemm)->Name("openblas_sgemm")->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_svertka_gemm<float>)->Name("svertka_sgemm")->Arg(1024)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_openblas_sgemm)->Name("openblas_sgemm")->Arg(1024)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_svertka_gemm<double>)->Name("svertka_dgemm")->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();

BENCHMARK_MAIN();
