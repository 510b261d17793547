#include "support.hpp"

#include <array>
#include <string>

using namespace svtest;
namespace tp = svertka::tape;

namespace {

// Reference average-pool: the taps of each window inside the input are summed; the divisor counts
// the taps inside the padded input (count_include_pad) or inside the input. The output size is
// PyTorch's (checked by ops_pool2d and the max-pool reference).
template <class T>
sv::Tensor<T> naive_avg_pool(const sv::Tensor<T>& x, const sv::Pool2dOptions& o) {
  const std::int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const std::int64_t sh = o.stride.h ? o.stride.h : o.kernel.h, sw = o.stride.w ? o.stride.w : o.kernel.w;
  const auto& p = o.padding;
  const std::int64_t Ho = sv::ops::pool_output_size(H, o.kernel.h, sh, 1, p.top, p.bottom, o.ceil_mode);
  const std::int64_t Wo = sv::ops::pool_output_size(W, o.kernel.w, sw, 1, p.left, p.right, o.ceil_mode);
  auto y = sv::Tensor<T>::empty({N, C, Ho, Wo});
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t i = 0; i < Ho; ++i)
        for (std::int64_t j = 0; j < Wo; ++j) {
          T sum = 0;
          std::int64_t in_input = 0, in_padded = 0;
          for (std::int64_t a = 0; a < o.kernel.h; ++a)
            for (std::int64_t b = 0; b < o.kernel.w; ++b) {
              const std::int64_t h = i * sh - p.top + a, w = j * sw - p.left + b;
              if (h < H + p.bottom && w < W + p.right) ++in_padded;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              sum += x(n, c, h, w);
              ++in_input;
            }
          y(n, c, i, j) = sum / static_cast<T>(o.count_include_pad ? in_padded : in_input);
        }
  return y;
}

template <class T>
sv::Tensor<T> avg(const sv::Tensor<T>& x, const sv::Pool2dOptions& o) {
  auto y = tp::avg_pool2d(tp::constant(x), o).value();
  tp::clear();
  return y;
}

std::string fixture(const std::string& name, const char* what) {
  return fmt::format("{}/pool_{}_{}.npy", SVERTKA_TEST_DATA_DIR, name, what);
}

struct RestoreThreads {
  int saved = sv::num_threads();
  ~RestoreThreads() { sv::set_num_threads(saved); }
};

const std::array<sv::Pool2dOptions, 8> option_sets{
    sv::Pool2dOptions{.kernel = {2, 2}},
    sv::Pool2dOptions{.kernel = {3, 3}, .stride = {2, 2}},
    sv::Pool2dOptions{.kernel = {3, 3}, .stride = {1, 1}, .padding = sv::Padding2d::all(1)},
    sv::Pool2dOptions{.kernel = {3, 3}, .stride = {2, 2}, .padding = sv::Padding2d::all(1), .ceil_mode = true},
    sv::Pool2dOptions{
        .kernel = {3, 3}, .stride = {2, 2}, .padding = sv::Padding2d::all(1), .ceil_mode = true, .count_include_pad = false},
    sv::Pool2dOptions{.kernel = {4, 5}, .stride = {3, 3}, .padding = {2, 1, 0, 2}, .ceil_mode = true},
    sv::Pool2dOptions{.kernel = {2, 3}, .stride = {1, 3}, .padding = {0, 1, 1, 1}, .count_include_pad = false},
    sv::Pool2dOptions{.kernel = {5, 1}, .stride = {2, 1}},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_avg_pool2d)

BOOST_AUTO_TEST_CASE(values_match_the_reference) {
  for (const auto& o : option_sets)
    for (sv::Shape s : {sv::Shape{2, 3, 13, 17}, sv::Shape{1, 2, 8, 40}}) {
      BOOST_TEST_CONTEXT("kernel " << o.kernel.h << "x" << o.kernel.w << " stride " << o.stride.h << "x" << o.stride.w
                                   << " shape " << s.str()) {
        const auto x = random(s, 31);
        BOOST_TEST(max_abs_diff(avg(x, o), naive_avg_pool(x, o)) < 1e-15);
        const auto xf = random<float>(s, 32);
        BOOST_TEST(max_abs_diff(avg(xf, o), naive_avg_pool(xf, o)) < 1e-6);
      }
    }
}

BOOST_AUTO_TEST_CASE(pytorch_fixtures) {
  // tests/data/make_pool_fixtures.py: x, y, gy, dx from PyTorch 1.13 in float64
  struct Case {
    const char* name;
    sv::Pool2dOptions o;
  };
  const auto p1 = sv::Padding2d::all(1);
  for (const Case& c :
       {Case{"avg_k3s2p1_ceil", {.kernel = {3, 3}, .stride = {2, 2}, .padding = p1, .ceil_mode = true}},
        Case{"avg_k3s2p1_nopad",
             {.kernel = {3, 3}, .stride = {2, 2}, .padding = p1, .ceil_mode = true, .count_include_pad = false}},
        Case{"avg_k2x3_s3x2", {.kernel = {2, 3}, .stride = {3, 2}, .padding = p1, .count_include_pad = false}},
        Case{"avg_k3s3_clip", {.kernel = {3, 3}, .stride = {3, 3}, .padding = p1, .ceil_mode = true}},
        Case{"avg_k2s1", {.kernel = {2, 2}, .stride = {1, 1}}}}) {
    BOOST_TEST_CONTEXT(c.name) {
      const auto x = sv::io::load_npy<double>(fixture(c.name, "x"));
      sv::Parameter<double> px(x.clone());
      auto y = tp::avg_pool2d(tp::param(px), c.o);
      BOOST_TEST(max_abs_diff(y.value(), sv::io::load_npy<double>(fixture(c.name, "y"))) < 1e-15);
      y.backward(sv::io::load_npy<double>(fixture(c.name, "gy")));
      BOOST_TEST(max_abs_diff(px.grad(), sv::io::load_npy<double>(fixture(c.name, "dx"))) < 1e-15);
      tp::clear();
    }
  }
}

BOOST_AUTO_TEST_CASE(the_ceil_mode_window_is_clipped_to_the_padded_input) {
  // 6 rows, kernel 3, stride 3, padding 1, ceil mode: windows start at rows −1, 2, 5; the last one,
  // rows 5..7, hangs past the padded input (rows −1..6), so PyTorch's divisor counts 2 rows, not 3.
  // 2 columns: one window, columns −1..1 (a second would start in the trailing padding: dropped)
  const auto x = sv::Tensor<double>::ones({1, 1, 6, 2});
  const auto y = avg(x, {.kernel = {3, 3}, .stride = {3, 3}, .padding = sv::Padding2d::all(1), .ceil_mode = true});
  BOOST_TEST(y.shape() == (sv::Shape{1, 1, 3, 1}));
  BOOST_TEST(y(0, 0, 0, 0) == 4.0 / 9.0, boost::test_tools::tolerance(1e-15));  // 2×2 ones in 3×3
  BOOST_TEST(y(0, 0, 1, 0) == 6.0 / 9.0, boost::test_tools::tolerance(1e-15));  // 3×2 ones in 3×3
  BOOST_TEST(y(0, 0, 2, 0) == 2.0 / 6.0, boost::test_tools::tolerance(1e-15));  // 1×2 ones in 2×3
}

BOOST_AUTO_TEST_CASE(gradients) {
  const auto x = random({1, 2, 7, 8}, 33);
  for (const auto& o : option_sets) {
    BOOST_TEST_CONTEXT("kernel " << o.kernel.h << "x" << o.kernel.w) {
      BOOST_TEST(gradcheck([&](auto& v) { return tp::avg_pool2d(v[0], o); }, {x}));
    }
  }
  BOOST_TEST(gradcheck([](auto& v) { return tp::global_avg_pool2d(v[0]); }, {x}));
}

BOOST_AUTO_TEST_CASE(global_average_pooling) {
  const auto x = random<float>({3, 4, 9, 7}, 34);
  sv::Parameter<float> px(x.clone());
  auto y = tp::global_avg_pool2d(tp::param(px));
  BOOST_TEST(y.shape() == (sv::Shape{3, 4, 1, 1}));
  for (std::int64_t n = 0; n < 3; ++n)
    for (std::int64_t c = 0; c < 4; ++c) {
      double s = 0;
      for (std::int64_t h = 0; h < 9; ++h)
        for (std::int64_t w = 0; w < 7; ++w) s += x(n, c, h, w);
      BOOST_TEST(std::abs(y.value()(n, c, 0, 0) - s / 63) < 1e-6);
    }
  const auto g = random<float>({3, 4, 1, 1}, 35);
  y.backward(g);
  for (std::int64_t n = 0; n < 3; ++n)
    for (std::int64_t c = 0; c < 4; ++c)
      for (std::int64_t h = 0; h < 9; ++h)
        for (std::int64_t w = 0; w < 7; ++w) BOOST_TEST(px.grad()(n, c, h, w) == g(n, c, 0, 0) / 63.0f);
  tp::clear();
  BOOST_CHECK_EXCEPTION(tp::global_avg_pool2d(tp::constant(sv::Tensor<float>::zeros({4, 9, 7}))), sv::ShapeError,
                        message_has({"global_avg_pool2d", "[N, C, H, W]", "rank 3", "[4,9,7]"}));
  BOOST_CHECK_EXCEPTION(tp::global_avg_pool2d(tp::constant(sv::Tensor<float>::zeros({4, 2, 0, 7}))), sv::ShapeError,
                        message_has({"global_avg_pool2d", "empty", "[4,2,0,7]"}));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(same_bits_at_one_and_two_threads) {
  RestoreThreads restore;
  const auto x = random<float>({8, 16, 23, 21}, 36);
  for (const auto& o : {sv::Pool2dOptions{.kernel = {3, 3}, .stride = {1, 1}, .padding = sv::Padding2d::all(1)},
                        sv::Pool2dOptions{.kernel = {2, 2}}}) {
    std::array<sv::Tensor<float>, 2> y, gx;
    for (int t : {1, 2}) {
      sv::set_num_threads(t);
      sv::Parameter<float> px(x.clone());
      auto out = tp::avg_pool2d(tp::param(px), o);
      out.backward(random<float>(out.shape(), 37));
      y[t - 1] = out.value();
      gx[t - 1] = px.grad();
      tp::clear();
    }
    BOOST_TEST(max_abs_diff(y[0], y[1]) == 0.0);
    BOOST_TEST(max_abs_diff(gx[0], gx[1]) == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_rejected) {
  auto x = tp::constant(sv::Tensor<double>::zeros({2, 3, 8, 8}));
  using E = sv::OptionError;
  BOOST_CHECK_EXCEPTION(tp::avg_pool2d(tp::constant(sv::Tensor<double>::zeros({8, 8})), {}), sv::ShapeError,
                        message_has({"avg_pool2d", "[N, C, H, W]", "rank 2", "[8,8]"}));
  BOOST_CHECK_EXCEPTION(tp::avg_pool2d(tp::constant(sv::Tensor<double>::zeros({2, 3, 8, 0})), {}), sv::ShapeError,
                        message_has({"avg_pool2d", "empty", "[2,3,8,0]"}));
  BOOST_CHECK_EXCEPTION(tp::avg_pool2d(x, {.kernel = {2, -2}}), E, message_has({"avg_pool2d", "kernel", "2×-2"}));
  BOOST_CHECK_EXCEPTION(tp::avg_pool2d(x, {.kernel = {2, 2}, .stride = {1, -3}}), E,
                        message_has({"avg_pool2d", "stride", "1×-3"}));
  BOOST_CHECK_EXCEPTION(tp::avg_pool2d(x, {.kernel = {2, 2}, .dilation = {2, 1}}), E,
                        message_has({"avg_pool2d", "dilation must be 1×1", "2×1"}));
  BOOST_CHECK_EXCEPTION(tp::avg_pool2d(x, {.kernel = {2, 2}, .padding = {-1, 0, 0, 0}}), E,
                        message_has({"avg_pool2d", "padding", "top -1"}));
  BOOST_CHECK_EXCEPTION(tp::avg_pool2d(x, {.kernel = {4, 3}, .padding = {2, 2, 2, 0}}), E,
                        message_has({"avg_pool2d", "half the kernel", "2×1", "left 2", "kernel 4×3"}));
  BOOST_CHECK_EXCEPTION(tp::avg_pool2d(x, {.kernel = {9, 2}}), sv::ShapeError,
                        message_has({"avg_pool2d", "output size 0×4", "too small", "9×2", "8×8"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
