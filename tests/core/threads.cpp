#include "support.hpp"

#include <atomic>
#include <vector>

using namespace svtest;

BOOST_AUTO_TEST_SUITE(core_threads)

struct RestoreThreads {
  int saved = sv::num_threads();
  ~RestoreThreads() { sv::set_num_threads(saved); }
};

BOOST_AUTO_TEST_CASE(parallel_for_covers_the_range_once) {
  RestoreThreads restore;
  for (int threads : {1, 2}) {
    sv::set_num_threads(threads);
    BOOST_TEST(sv::num_threads() == threads);
    std::vector<std::atomic<int>> hits(1003);
    sv::parallel_for(0, 1003, 10, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) ++hits[static_cast<std::size_t>(i)];
    });
    for (auto& h : hits) BOOST_TEST(h.load() == 1);
  }
}

BOOST_AUTO_TEST_CASE(small_work_stays_on_the_calling_thread) {
  RestoreThreads restore;
  sv::set_num_threads(2);
  int calls = 0;  // not atomic: a second thread would be a data race (and ASan/TSan would see it)
  sv::parallel_for(0, 100, 1000, [&](std::int64_t b, std::int64_t e) {
    ++calls;
    BOOST_TEST(b == 0);
    BOOST_TEST(e == 100);
  });
  BOOST_TEST(calls == 1);
  sv::set_num_threads(0);  // clamped to 1
  BOOST_TEST(sv::num_threads() == 1);
}

BOOST_AUTO_TEST_CASE(chunked_sum_is_bit_identical_across_thread_counts) {
  RestoreThreads restore;
  sv::Rng rng(11);
  auto x = sv::Tensor<float>::randn({1'000'003}, rng);
  auto sum_at = [&](int threads) {
    sv::set_num_threads(threads);
    return sv::chunked_sum<float>(x.numel(), 4096, [&](std::int64_t b, std::int64_t e) {
      float s = 0;
      for (std::int64_t i = b; i < e; ++i) s += x.data()[i];
      return s;
    });
  };
  const float one = sum_at(1), two = sum_at(2);
  BOOST_TEST(std::memcmp(&one, &two, sizeof(float)) == 0);
  double exact = 0;
  for (float v : x) exact += v;
  BOOST_TEST(std::abs(one - exact) < 1e-2);  // float sum of 1e6 N(0,1): rounding error ~ 1e-3
}

BOOST_AUTO_TEST_CASE(parallel_tasks_runs_each_task_once_with_single_threaded_kernels) {
  RestoreThreads restore;
  for (int threads : {1, 2}) {
    sv::set_num_threads(threads);
    std::vector<std::atomic<int>> hits(37);
    std::atomic<int> inner_threads{0};
    sv::parallel_tasks(37, [&](std::int64_t t) {
      ++hits[static_cast<std::size_t>(t)];
      inner_threads.fetch_add(sv::num_threads());  // kernels inside a task see one thread
    });
    for (auto& h : hits) BOOST_TEST(h.load() == 1);
    BOOST_TEST(inner_threads.load() == 37);
    BOOST_TEST(sv::num_threads() == threads);  // the caller's setting is untouched
  }
}

BOOST_AUTO_TEST_CASE(parallel_tasks_rethrows_a_task_exception) {
  RestoreThreads restore;
  sv::set_num_threads(2);
  BOOST_CHECK_EXCEPTION(sv::parallel_tasks(8,
                                           [](std::int64_t t) {
                                             if (t == 5) throw sv::ShapeError("task 5 failed");
                                           }),
                        sv::ShapeError, message_has({"task 5 failed"}));
  sv::parallel_tasks(0, [](std::int64_t) { throw std::logic_error("no task runs"); });
}

BOOST_AUTO_TEST_SUITE_END()
