#ifndef SVERTKA_CORE_THREADS_HPP
#define SVERTKA_CORE_THREADS_HPP
//! @file
//! Threads: how many the kernels use, a `parallel_for` with a grain size, and reductions whose result
//! does not depend on the thread count.
//!
//! The OpenMP code behind these lives in `src/kernels/threads.cpp`; nothing in the headers uses
//! OpenMP, so user code needs no OpenMP flags.

#include <algorithm>
#include <atomic>
#include <exception>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace svertka {

//! Number of threads the kernels use from now on (at least 1). Defaults to OpenMP's default.
void set_num_threads(int n);
int num_threads();

namespace detail {
using RangeFn = void (*)(void* ctx, std::int64_t begin, std::int64_t end);
void parallel_for_impl(std::int64_t begin, std::int64_t end, std::int64_t grain, RangeFn fn, void* ctx);
using TaskFn = void (*)(void* ctx, std::int64_t task);
void parallel_tasks_impl(std::int64_t n, TaskFn fn, void* ctx);
}  // namespace detail

//! Calls `fn(b, e)` on sub-ranges covering [begin, end). The range is cut into chunks of `grain`
//! items (the last may be shorter); when there is only one chunk, or one thread, `fn` runs on the
//! calling thread without starting a parallel region. `fn` must not throw.
template <class F>
void parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain, F&& fn) {
  if (end <= begin) return;
  if (grain < 1) grain = 1;
  if (end - begin <= grain || num_threads() == 1) {
    fn(begin, end);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  detail::parallel_for_impl(
      begin, end, grain, [](void* ctx, std::int64_t b, std::int64_t e) { (*static_cast<Fn*>(ctx))(b, e); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

//! Deterministic reduction: `chunk(b, e)` returns the partial result of [b, e); the range is cut into
//! chunks of exactly `chunk_size` items (independent of the thread count), partial results are
//! computed in parallel and added in chunk order. The same inputs give bit-identical results at any
//! thread count.
template <class Acc, class F>
Acc chunked_sum(std::int64_t n, std::int64_t chunk_size, F&& chunk) {
  if (n <= 0) return Acc{0};
  if (chunk_size < 1) chunk_size = 1;
  const std::int64_t chunks = (n + chunk_size - 1) / chunk_size;
  if (chunks == 1) return chunk(std::int64_t{0}, n);
  constexpr std::int64_t max_stack = 256;
  Acc stack_parts[max_stack] = {};
  Acc* parts = stack_parts;
  Acc* heap_parts = nullptr;
  if (chunks > max_stack) parts = heap_parts = new Acc[static_cast<std::size_t>(chunks)];
  parallel_for(0, chunks, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t c = b; c < e; ++c) parts[c] = chunk(c * chunk_size, std::min(n, (c + 1) * chunk_size));
  });
  Acc total = parts[0];
  for (std::int64_t c = 1; c < chunks; ++c) total += parts[c];
  delete[] heap_parts;
  return total;
}

//! Calls `fn(i)` for every i in [0, n), as independent tasks the threads take one at a time (a thread
//! that is slowed down takes fewer). Inside a task the kernels run on one thread, so a task is one
//! thread's whole job from start to end: one parallel region instead of one per kernel. Which thread
//! runs a task must not change its result. An exception thrown by a task is rethrown here (the first
//! one, after every task has run or been skipped).
template <class F>
void parallel_tasks(std::int64_t n, F&& fn) {
  if (n <= 0) return;
  struct Ctx {
    F& fn;
    std::exception_ptr error;
    std::atomic<bool> failed{false};
  } ctx{fn, nullptr};
  detail::parallel_tasks_impl(
      n,
      [](void* p, std::int64_t i) {
        Ctx& c = *static_cast<Ctx*>(p);
        if (c.failed.load(std::memory_order_relaxed)) return;
        try {
          c.fn(i);
        } catch (...) {
          if (!c.failed.exchange(true)) c.error = std::current_exception();
        }
      },
      &ctx);
  if (ctx.error) std::rethrow_exception(ctx.error);
}

}  // namespace svertka

#endif  // SVERTKA_CORE_THREADS_HPP
