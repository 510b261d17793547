#include "svertka/core/threads.hpp"

#include <omp.h>

namespace svertka {

void set_num_threads(int n) { omp_set_num_threads(n < 1 ? 1 : n); }

int num_threads() { return omp_get_max_threads(); }

namespace detail {

void parallel_for_impl(std::int64_t begin, std::int64_t end, std::int64_t grain, RangeFn fn, void* ctx) {
  const std::int64_t chunks = (end - begin + grain - 1) / grain;
  const int threads = static_cast<int>(std::min<std::int64_t>(chunks, omp_get_max_threads()));
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t c = 0; c < chunks; ++c) {
    const std::int64_t b = begin + c * grain;
    fn(ctx, b, std::min(end, b + grain));
  }
}

void parallel_tasks_impl(std::int64_t n, TaskFn fn, void* ctx) {
  const int threads = static_cast<int>(std::min<std::int64_t>(n, omp_get_max_threads()));
#pragma omp parallel num_threads(threads)
  {
    omp_set_num_threads(1);  // this thread's kernels, inside its tasks, run alone
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t i = 0; i < n; ++i) fn(ctx, i);
  }
}

}  // namespace detail
}  // namespace svertka
