#include "support.hpp"

#include <limits>
#include <new>

using namespace svtest;

BOOST_AUTO_TEST_SUITE(core_memory)

BOOST_AUTO_TEST_CASE(freed_blocks_are_reused) {
  { auto warm = sv::Tensor<float>::zeros({1000, 37}); }
  const auto before = sv::memory::stats();
  for (int i = 0; i < 10; ++i) {
    auto t = sv::Tensor<float>::zeros({1000, 37});
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
  }
  const auto after = sv::memory::stats();
  BOOST_TEST(after.system_allocations == before.system_allocations);
  BOOST_TEST(after.in_use_bytes == before.in_use_bytes);
}

BOOST_AUTO_TEST_CASE(release_cached_returns_memory) {
  { auto t = sv::Tensor<double>::zeros({12345}); }
  sv::memory::release_cached();
  const auto s = sv::memory::stats();
  BOOST_TEST(s.system_bytes >= s.in_use_bytes);
  BOOST_TEST(s.system_bytes - s.in_use_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(many_sizes_round_trip) {
  std::vector<sv::Tensor<std::uint8_t>> keep;
  for (std::int64_t n : {0, 1, 63, 64, 65, 500, 513, 1000, 4097, 100000, 3000000}) {
    auto t = sv::Tensor<std::uint8_t>::full({n}, 0xAB);
    for (std::int64_t i = 0; i < n; i += 997) BOOST_TEST(t.data()[i] == 0xAB);
    keep.push_back(t);
  }
}

BOOST_AUTO_TEST_CASE(absurd_requests_throw_bad_alloc) {
  const auto before = sv::memory::stats();
  BOOST_CHECK_THROW(sv::memory::allocate(std::numeric_limits<std::size_t>::max()), std::bad_alloc);
  BOOST_CHECK_THROW(sv::memory::allocate((std::size_t{1} << 62) + 1), std::bad_alloc);
  BOOST_TEST(sv::memory::stats().in_use_bytes == before.in_use_bytes);
}

BOOST_AUTO_TEST_SUITE_END()
