#include "svertka/core/memory.hpp"

#include <array>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>

namespace svertka::memory {
namespace {

// Size classes: multiples of 64 bytes up to 512, then four classes per power of two, so a block is
// at most 25% larger than asked for. The largest class starts at 2^62 bytes; anything bigger is
// refused with std::bad_alloc before a class is computed.
constexpr int max_log2 = 62;
constexpr int n_classes = 8 + 4 * (max_log2 - 9 + 1);
constexpr std::size_t max_request = std::size_t{1} << max_log2;

struct ClassOf {
  int index;
  std::size_t bytes;
};

ClassOf class_of(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= 512) {
    const std::size_t k = (bytes + 63) / 64;
    return {static_cast<int>(k - 1), k * 64};
  }
  const int lg = std::bit_width(bytes - 1) - 1;  // 2^lg < bytes <= 2^(lg+1)
  const std::size_t base = std::size_t{1} << lg;
  const std::size_t step = base / 4;
  const std::size_t k = (bytes - base + step - 1) / step;  // 1..4
  return {8 + (lg - 9) * 4 + static_cast<int>(k) - 1, base + k * step};
}

std::size_t class_bytes(std::size_t index) {
  if (index < 8) return (index + 1) * 64;
  const std::size_t base = std::size_t{1} << (9 + (index - 8) / 4);
  return base + ((index - 8) % 4 + 1) * (base / 4);
}

struct FreeBlock {
  FreeBlock* next;
};

struct Pool {
  std::mutex mutex;
  std::array<FreeBlock*, n_classes> free{};
  Stats stats;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: tensors in static objects may outlive it
  return *p;
}

}  // namespace

void* allocate(std::size_t bytes) {
  if (bytes > max_request) throw std::bad_alloc();
  const ClassOf c = class_of(bytes);
  Pool& p = pool();
  {
    std::lock_guard lock(p.mutex);
    p.stats.in_use_bytes += c.bytes;
    if (FreeBlock* b = p.free[static_cast<std::size_t>(c.index)]) {
      p.free[static_cast<std::size_t>(c.index)] = b->next;
      return b;
    }
    ++p.stats.system_allocations;
    p.stats.system_bytes += c.bytes;
  }
  void* mem = std::aligned_alloc(alignment, c.bytes);
  if (!mem) {
    std::lock_guard lock(p.mutex);
    p.stats.in_use_bytes -= c.bytes;
    p.stats.system_bytes -= c.bytes;
    throw std::bad_alloc();
  }
  return mem;
}

void deallocate(void* mem, std::size_t bytes) noexcept {
  if (!mem) return;
  const ClassOf c = class_of(bytes);
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  p.stats.in_use_bytes -= c.bytes;
  auto* b = static_cast<FreeBlock*>(mem);
  b->next = p.free[static_cast<std::size_t>(c.index)];
  p.free[static_cast<std::size_t>(c.index)] = b;
}

Stats stats() {
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  return p.stats;
}

void release_cached() noexcept {
  Pool& p = pool();
  std::lock_guard lock(p.mutex);
  for (std::size_t i = 0; i < p.free.size(); ++i) {
    const std::size_t bytes = class_bytes(i);
    while (FreeBlock* b = p.free[i]) {
      p.free[i] = b->next;
      std::free(b);
      p.stats.system_bytes -= bytes;
    }
  }
}

}  // namespace svertka::memory
