#include <cmath>

#include "support.hpp"

using namespace svtest;

BOOST_AUTO_TEST_SUITE(core_tensor)

BOOST_AUTO_TEST_CASE(factories) {
  auto z = sv::Tensor<float>::zeros({2, 3});
  BOOST_TEST(z.numel() == 6);
  BOOST_TEST(z.shape() == (sv::Shape{2, 3}));
  for (float v : z) BOOST_TEST(v == 0.0f);
  auto o = sv::Tensor<double>::ones({4});
  for (double v : o) BOOST_TEST(v == 1.0);
  auto f = sv::Tensor<float>::full({2}, 2.5f);
  BOOST_TEST(f(1) == 2.5f);
  auto d = sv::Tensor<double>::from({2, 2}, {1, 2, 3, 4});
  BOOST_TEST(d(1, 0) == 3.0);
  BOOST_TEST(d(0, 1) == 2.0);
  BOOST_CHECK_EXCEPTION((sv::Tensor<double>::from({2, 2}, {1, 2, 3})), sv::ShapeError,
                        message_has({"Tensor::from", "3 values", "[2,2]"}));
  BOOST_TEST(!sv::Tensor<float>{}.defined());
  BOOST_TEST(sv::Tensor<float>{}.numel() == 0);
}

BOOST_AUTO_TEST_CASE(large_fill_and_clone_cover_every_element) {
  // 5.3 chunks of bulk_grain: split over the threads, with a short last chunk
  const int threads = sv::num_threads();
  sv::set_num_threads(2);
  const std::int64_t n = sv::Tensor<float>::bulk_grain * 5 + 1234;
  sv::Rng rng(3);
  auto t = sv::Tensor<float>::randn({n}, rng);
  const auto copy = t.clone();
  BOOST_TEST(!copy.shares_storage(t));
  std::int64_t same = 0;
  for (std::int64_t i = 0; i < n; ++i) same += copy(i) == t(i) ? 1 : 0;
  BOOST_TEST(same == n);
  t.fill(0.0f);
  std::int64_t zero = 0;
  for (float v : t) zero += v == 0.0f && !std::signbit(v) ? 1 : 0;
  BOOST_TEST(zero == n);
  t.fill(-0.0f);  // not all bytes zero: filled value by value
  std::int64_t negative_zero = 0;
  for (float v : t) negative_zero += v == 0.0f && std::signbit(v) ? 1 : 0;
  BOOST_TEST(negative_zero == n);
  t.fill(2.5f);
  std::int64_t filled = 0;
  for (float v : t) filled += v == 2.5f ? 1 : 0;
  BOOST_TEST(filled == n);
  sv::set_num_threads(threads);
}

BOOST_AUTO_TEST_CASE(storage_is_aligned_and_shared) {
  auto a = sv::Tensor<float>::zeros({3, 5});
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
  auto b = a;  // shares
  b(1, 1) = 7.0f;
  BOOST_TEST(a(1, 1) == 7.0f);
  BOOST_TEST(a.use_count() == 2);
  auto c = a.clone();  // deep
  c(1, 1) = 1.0f;
  BOOST_TEST(a(1, 1) == 7.0f);
  BOOST_TEST(!c.shares_storage(a));
}

BOOST_AUTO_TEST_CASE(reshape_is_a_view) {
  auto a = sv::Tensor<double>::from({2, 3}, {0, 1, 2, 3, 4, 5});
  auto r = a.reshape({3, -1});
  BOOST_TEST(r.shape() == (sv::Shape{3, 2}));
  BOOST_TEST(r.shares_storage(a));
  BOOST_TEST(r(2, 1) == 5.0);
  BOOST_CHECK_EXCEPTION(a.reshape({4, 2}), sv::ShapeError, message_has({"reshape", "[4,2]", "[2,3]"}));
  BOOST_CHECK_EXCEPTION(a.reshape({4, -1}), sv::ShapeError, message_has({"reshape", "infer"}));
}

#ifndef NDEBUG
BOOST_AUTO_TEST_CASE(bounds_checked_in_debug) {
  auto a = sv::Tensor<float>::zeros({2, 3});
  BOOST_CHECK_EXCEPTION(a(2, 0), sv::ShapeError, message_has({"index 2", "size 2"}));
  BOOST_CHECK_EXCEPTION(a(0), sv::ShapeError, message_has({"1 indices", "rank 2"}));
}
#endif

BOOST_AUTO_TEST_CASE(item) {
  BOOST_TEST(sv::Tensor<float>::full({}, 3.0f).item() == 3.0f);
  BOOST_CHECK_EXCEPTION(sv::Tensor<float>::zeros({2}).item(), sv::ShapeError, message_has({"item", "2 elements"}));
}

BOOST_AUTO_TEST_CASE(formatting) {
  auto a = sv::Tensor<float>::from({2, 2}, {1, 2, 3, 4.5f});
  BOOST_TEST(fmt::format("{}", a) == "tensor([[1, 2],\n        [3, 4.5]], shape=[2,2], dtype=float32)");
  auto big = sv::Tensor<double>::zeros({2000});
  const std::string s = fmt::format("{}", big);
  BOOST_TEST(s.find("...") != std::string::npos);
  BOOST_TEST(s.size() < 100u);
  BOOST_TEST(fmt::format("{}", sv::Tensor<double>::full({}, 2.0)) == "tensor(2, shape=[], dtype=float64)");
  BOOST_TEST(fmt::format("{}", sv::Tensor<float>{}) == "tensor(undefined, shape=[], dtype=float32)");
}

BOOST_AUTO_TEST_CASE(random_tensors_are_seeded) {
  sv::Rng r1(42), r2(42), r3(43);
  auto a = sv::Tensor<float>::randn({100}, r1);
  auto b = sv::Tensor<float>::randn({100}, r2);
  auto c = sv::Tensor<float>::randn({100}, r3);
  BOOST_TEST(max_abs_diff(a, b) == 0.0);
  BOOST_TEST(max_abs_diff(a, c) > 0.0);
  auto u = sv::Tensor<double>::uniform({1000}, r1, 2.0, 3.0);
  for (double v : u) BOOST_TEST((v >= 2.0 && v < 3.0));
}

BOOST_AUTO_TEST_CASE(rows_is_a_view_of_a_range_of_the_first_dimension) {
  auto t = sv::Tensor<float>::from({4, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23});
  auto r = t.rows(1, 2);
  BOOST_TEST(r.shape() == (sv::Shape{2, 2, 3}));
  BOOST_TEST(r.numel() == 12);
  BOOST_TEST(r.shares_storage(t));
  BOOST_TEST(r(0, 0, 0) == 6.0f);
  BOOST_TEST(r(1, 1, 2) == 17.0f);
  r(0, 1, 1) = -1.0f;  // writes through to t
  BOOST_TEST(t(1, 1, 1) == -1.0f);
  BOOST_TEST(t.rows(4, 0).numel() == 0);
  BOOST_TEST(t.rows(0, 4).data() == t.data());
  BOOST_CHECK_EXCEPTION(t.rows(3, 2), sv::ShapeError, message_has({"Tensor::rows", "[3, 5)", "[4,2,3]"}));
  BOOST_CHECK_EXCEPTION(t.rows(-1, 1), sv::ShapeError, message_has({"Tensor::rows"}));
  BOOST_CHECK_EXCEPTION(sv::Tensor<float>::zeros({}).rows(0, 0), sv::ShapeError, message_has({"Tensor::rows"}));
}

BOOST_AUTO_TEST_SUITE_END()
