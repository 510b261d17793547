// A counting global operator new for the whole test executable: tests that promise "no heap
// allocation after the first step" read the count before and after.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::uint64_t> count{0};
}

namespace svtest {
std::uint64_t heap_allocations() { return count.load(std::memory_order_relaxed); }
}  // namespace svtest

// The replacement pair below is malloc/free underneath by design; GCC cannot see that they match.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
