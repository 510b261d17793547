#ifndef SVERTKA_CORE_MEMORY_HPP
#define SVERTKA_CORE_MEMORY_HPP
//! @file
//! Where tensor storage comes from: a caching pool of 64-byte aligned blocks.
//!
//! A freed block is kept in a free list of its size class instead of going back to the system, so a
//! training step that repeats the sizes of the previous one allocates nothing from the heap. Blocks
//! are returned to the system only by `release_cached()`.

#include <cstddef>
#include <cstdint>

namespace svertka::memory {

inline constexpr std::size_t alignment = 64;

//! At least `bytes` bytes aligned to `alignment`, from the cache when a block of the same size class
//! is free. Thread-safe.
void* allocate(std::size_t bytes);
//! Returns a block from `allocate(bytes)` (the same `bytes`) to the cache.
void deallocate(void* p, std::size_t bytes) noexcept;

//! Counters since the start of the process.
struct Stats {
  std::uint64_t system_allocations = 0;  //!< blocks taken from the system (the heap)
  std::uint64_t system_bytes = 0;        //!< bytes of those blocks still held (in use or cached)
  std::uint64_t in_use_bytes = 0;        //!< bytes handed out and not yet returned
};
Stats stats();

//! Gives every cached (free) block back to the system.
void release_cached() noexcept;

}  // namespace svertka::memory

#endif  // SVERTKA_CORE_MEMORY_HPP
