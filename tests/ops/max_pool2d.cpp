#include "support.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <string>

using namespace svtest;
namespace tp = svertka::tape;

namespace {

// PyTorch's output-size rule restated as a count of windows: every window that fits in the padded
// input, one more in ceil mode when some input is left over, minus that one again when it would start
// in the trailing padding.
std::int64_t windows(std::int64_t n, std::int64_t k, std::int64_t s, std::int64_t d, std::int64_t p0, std::int64_t p1,
                     bool ceil) {
  const std::int64_t span = n + p0 + p1 - (d * (k - 1) + 1);
  std::int64_t count = 0;
  for (std::int64_t start = 0; start <= span; start += s) ++count;
  if (ceil && span % s != 0) ++count;
  if (ceil && (count - 1) * s >= n + p0) --count;
  return count;
}

// Reference max-pool: every tap of every window, padding as −∞, the first maximum wins, a NaN wins
// over anything before it; the argmax is −1 until a tap inside the input is seen.
template <class T>
std::pair<sv::Tensor<T>, sv::Tensor<std::int64_t>> naive_max_pool(const sv::Tensor<T>& x, const sv::Pool2dOptions& o) {
  const std::int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const std::int64_t sh = o.stride.h ? o.stride.h : o.kernel.h, sw = o.stride.w ? o.stride.w : o.kernel.w;
  const auto& p = o.padding;
  const std::int64_t Ho = windows(H, o.kernel.h, sh, o.dilation.h, p.top, p.bottom, o.ceil_mode);
  const std::int64_t Wo = windows(W, o.kernel.w, sw, o.dilation.w, p.left, p.right, o.ceil_mode);
  auto y = sv::Tensor<T>::empty({N, C, Ho, Wo});
  auto idx = sv::Tensor<std::int64_t>::empty({N, C, Ho, Wo});
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t i = 0; i < Ho; ++i)
        for (std::int64_t j = 0; j < Wo; ++j) {
          T best = -std::numeric_limits<T>::infinity();
          std::int64_t arg = -1;
          for (std::int64_t a = 0; a < o.kernel.h; ++a)
            for (std::int64_t b = 0; b < o.kernel.w; ++b) {
              const std::int64_t h = i * sh - p.top + a * o.dilation.h, w = j * sw - p.left + b * o.dilation.w;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              const T v = x(n, c, h, w);
              if (arg < 0 || v > best || std::isnan(v)) best = v, arg = h * W + w;
            }
          y(n, c, i, j) = best;
          idx(n, c, i, j) = arg;
        }
  return {y, idx};
}

// x with distinct values 0.01 apart (a permutation), so no finite-difference nudge changes an argmax
sv::Tensor<double> distinct(const sv::Shape& s) {
  auto x = sv::Tensor<double>::empty(s);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<double>((i * 7919) % x.numel()) * 0.01 - 1.0;
  return x;
}

// The op run directly, for its argmax
template <class T>
std::pair<sv::Tensor<T>, sv::Tensor<std::int32_t>> run(const sv::Tensor<T>& x, const sv::Pool2dOptions& o) {
  const sv::ops::MaxPool2d op{o};
  auto y = sv::Tensor<T>::empty(op.output_shape(x.shape()));
  auto idx = op.forward(x, y);
  return {y, idx};
}

std::string fixture(const std::string& name, const char* what) {
  return fmt::format("{}/pool_{}_{}.npy", SVERTKA_TEST_DATA_DIR, name, what);
}

struct RestoreThreads {
  int saved = sv::num_threads();
  ~RestoreThreads() { sv::set_num_threads(saved); }
};

const std::array<sv::Pool2dOptions, 9> option_sets{
    sv::Pool2dOptions{.kernel = {3, 3}, .stride = {2, 2}},
    sv::Pool2dOptions{.kernel = {2, 2}},
    sv::Pool2dOptions{.kernel = {3, 3}, .stride = {1, 1}, .padding = sv::Padding2d::all(1)},
    sv::Pool2dOptions{.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 0, 1, 1}, .ceil_mode = true},
    sv::Pool2dOptions{.kernel = {3, 2}, .stride = {3, 3}, .padding = {1, 1, 0, 1}, .dilation = {2, 3}},
    sv::Pool2dOptions{.kernel = {4, 5}, .stride = {1, 3}, .padding = {2, 1, 2, 2}, .dilation = {1, 2}, .ceil_mode = true},
    sv::Pool2dOptions{.kernel = {1, 1}, .stride = {1, 2}},
    sv::Pool2dOptions{.kernel = {2, 3}, .stride = {2, 2}, .padding = {0, 0, 1, 1}, .dilation = {2, 2}},
    sv::Pool2dOptions{.kernel = {1, 2}, .stride = {1, 1}},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_max_pool2d)

BOOST_AUTO_TEST_CASE(values_and_argmax_match_the_reference) {
  for (const auto& o : option_sets)
    for (sv::Shape s : {sv::Shape{2, 3, 13, 17}, sv::Shape{1, 2, 8, 40}}) {
      BOOST_TEST_CONTEXT("kernel " << o.kernel.h << "x" << o.kernel.w << " stride " << o.stride.h << "x" << o.stride.w
                                   << " shape " << s.str()) {
        const auto x = random(s, 21);
        const auto [want, want_idx] = naive_max_pool(x, o);
        const auto [y, idx] = run(x, o);
        BOOST_TEST(max_abs_diff(y, want) == 0.0);
        BOOST_TEST(max_abs_diff(idx, want_idx) == 0.0);
        const auto xf = random<float>(s, 22);
        const auto [want_f, want_idx_f] = naive_max_pool(xf, o);
        const auto [yf, idxf] = run(xf, o);
        BOOST_TEST(max_abs_diff(yf, want_f) == 0.0);
        BOOST_TEST(max_abs_diff(idxf, want_idx_f) == 0.0);
      }
    }
}

// Small integers (many ties) and a few NaNs on rows of width W, every option set.
static void check_ties_and_nans(std::int64_t W) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& o : option_sets) {
    auto x = sv::Tensor<float>::empty({2, 3, 9, W});
    auto xd = sv::Tensor<double>::empty(x.shape());
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      xd.data()[i] = i % 53 == 7 ? nan : static_cast<double>((i * 7919) % 5);
      x.data()[i] = static_cast<float>(xd.data()[i]);
    }
    BOOST_TEST_CONTEXT("kernel " << o.kernel.h << "x" << o.kernel.w << " stride " << o.stride.h << "x" << o.stride.w) {
      const auto [want, want_idx] = naive_max_pool(x, o);
      const auto [y, idx] = run(x, o);
      BOOST_TEST(max_abs_diff(idx, want_idx) == 0.0);
      for (std::int64_t i = 0; i < y.numel(); ++i) {
        const float a = y.data()[i], b = want.data()[i];
        BOOST_TEST((a == b || (std::isnan(a) && std::isnan(b))), "at " << i << ": " << a << " vs " << b);
      }
      BOOST_TEST(max_abs_diff(run(xd, o).second, want_idx) == 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(ties_and_nans_on_long_rows) {
  check_ties_and_nans(45);  // interior runs of 8 or more outputs: the 8-wide vector path
}

BOOST_AUTO_TEST_CASE(ties_and_nans_on_short_rows) {
  check_ties_and_nans(13);  // runs of 1 to 7 outputs (the masked path on AVX-512)
  check_ties_and_nans(4);
}

BOOST_AUTO_TEST_CASE(pytorch_fixtures) {
  // tests/data/make_pool_fixtures.py: x, y, gy, dx and the argmax from PyTorch 1.13 in float64
  struct Case {
    const char* name;
    sv::Pool2dOptions o;
  };
  for (const Case& c :
       {Case{"max_k3s2p1_ceil", {.kernel = {3, 3}, .stride = {2, 2}, .padding = sv::Padding2d::all(1), .ceil_mode = true}},
        Case{"max_dilated", {.kernel = {3, 2}, .stride = {2, 1}, .padding = sv::Padding2d::all(1), .dilation = {2, 3}}},
        Case{"max_k2_ceil_odd", {.kernel = {2, 2}, .stride = {2, 2}, .ceil_mode = true}},
        Case{"max_dilated_ceil",
             {.kernel = {2, 3}, .stride = {3, 2}, .padding = sv::Padding2d::all(1), .dilation = {3, 2}, .ceil_mode = true}}}) {
    BOOST_TEST_CONTEXT(c.name) {
      const auto x = sv::io::load_npy<double>(fixture(c.name, "x"));
      const auto gy = sv::io::load_npy<double>(fixture(c.name, "gy"));
      sv::Parameter<double> px(x.clone());
      auto y = tp::max_pool2d(tp::param(px), c.o);
      BOOST_TEST(max_abs_diff(y.value(), sv::io::load_npy<double>(fixture(c.name, "y"))) == 0.0);
      y.backward(gy);
      BOOST_TEST(max_abs_diff(px.grad(), sv::io::load_npy<double>(fixture(c.name, "dx"))) < 1e-14);
      BOOST_TEST(max_abs_diff(run(x, c.o).second, sv::io::load_npy<std::int64_t>(fixture(c.name, "idx"))) == 0.0);
      tp::clear();
    }
  }
}

BOOST_AUTO_TEST_CASE(the_lectures_example) {
  // 2×2 windows over `1 0 2 1 0 0 / 0 1 3 2 1 2` give `1 3 2`; the first window's two 1s tie and the
  // first of them, top-left, wins
  const auto x = sv::Tensor<double>::from({1, 1, 2, 6}, {1, 0, 2, 1, 0, 0, 0, 1, 3, 2, 1, 2});
  sv::Parameter<double> px(x.clone());
  auto y = tp::max_pool2d(tp::param(px), {.kernel = {2, 2}});
  BOOST_TEST(y.shape() == (sv::Shape{1, 1, 1, 3}));
  BOOST_TEST(y.value()(0, 0, 0, 0) == 1.0);
  BOOST_TEST(y.value()(0, 0, 0, 1) == 3.0);
  BOOST_TEST(y.value()(0, 0, 0, 2) == 2.0);
  y.backward(sv::Tensor<double>::from({1, 1, 1, 3}, {10, 20, 30}));
  const std::array<double, 12> want{10, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 30};
  for (std::size_t k = 0; k < want.size(); ++k) BOOST_TEST(px.grad().data()[k] == want[k], "at " << k);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(ties_go_to_the_first_maximum_in_scan_order) {
  // a constant image: every window's first tap (top row, leftmost) wins, overlapping windows included
  const sv::Pool2dOptions o{.kernel = {3, 3}, .stride = {2, 2}, .padding = sv::Padding2d::all(1)};
  for (double v : {0.5, -std::numeric_limits<double>::infinity()}) {
    const auto x = sv::Tensor<double>::full({1, 1, 7, 9}, v);
    const auto [y, idx] = run(x, o);
    for (std::int64_t i = 0; i < y.dim(2); ++i)
      for (std::int64_t j = 0; j < y.dim(3); ++j) {
        const std::int64_t h = std::max<std::int64_t>(0, 2 * i - 1), w = std::max<std::int64_t>(0, 2 * j - 1);
        BOOST_TEST(y(0, 0, i, j) == v);
        BOOST_TEST(idx(0, 0, i, j) == h * 9 + w);
      }
  }
  // a tie on the second row does not move the argmax off the first row's maximum
  const auto x = sv::Tensor<float>::from({1, 1, 2, 3}, {1, 5, 2, 5, 5, 0});
  const auto [y, idx] = run(x, {.kernel = {2, 3}});
  BOOST_TEST(y(0, 0, 0, 0) == 5.0f);
  BOOST_TEST(idx(0, 0, 0, 0) == 1);
}

BOOST_AUTO_TEST_CASE(nan_propagates_like_pytorch) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // PyTorch: y = NaN and the argmax is the last NaN (its CPU kernel takes `val > max || isnan(val)`)
  const auto x = sv::Tensor<double>::from({1, 1, 2, 4}, {1, nan, 7, 2, 3, 9, nan, 0});
  sv::Parameter<double> px(x.clone());
  auto y = tp::max_pool2d(tp::param(px), {.kernel = {2, 2}});
  BOOST_TEST(std::isnan(y.value()(0, 0, 0, 0)));
  BOOST_TEST(std::isnan(y.value()(0, 0, 0, 1)));
  BOOST_TEST(run(x, {.kernel = {2, 2}}).second(0, 0, 0, 1) == 6);
  y.backward(sv::Tensor<double>::ones({1, 1, 1, 2}));
  BOOST_TEST(px.grad()(0, 0, 0, 1) == 1.0);
  BOOST_TEST(px.grad()(0, 0, 1, 2) == 1.0);
  BOOST_TEST(px.grad()(0, 0, 1, 1) == 0.0);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(a_window_wholly_in_the_padding_gives_minus_infinity) {
  // dilation 5 puts both taps of the only window outside a 4×4 input; PyTorch leaves its index out of
  // range here, svertka returns −∞ and sends no gradient
  const sv::Pool2dOptions o{.kernel = {2, 2}, .stride = {1, 1}, .padding = sv::Padding2d::all(1), .dilation = {5, 5}};
  sv::Parameter<double> px(random({1, 1, 4, 4}, 23));
  auto y = tp::max_pool2d(tp::param(px), o);
  BOOST_TEST(y.shape() == (sv::Shape{1, 1, 1, 1}));
  BOOST_TEST(y.value().item() == -std::numeric_limits<double>::infinity());
  y.backward(sv::Tensor<double>::ones({1, 1, 1, 1}));
  for (double g : px.grad().span()) BOOST_TEST(g == 0.0);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients) {
  for (const auto& o : option_sets) {
    BOOST_TEST_CONTEXT("kernel " << o.kernel.h << "x" << o.kernel.w) {
      BOOST_TEST(gradcheck([&](auto& v) { return tp::max_pool2d(v[0], o); }, {distinct({1, 2, 7, 8})}));
    }
  }
}

BOOST_AUTO_TEST_CASE(same_bits_at_one_and_two_threads) {
  RestoreThreads restore;
  const auto x = random<float>({8, 16, 23, 21}, 24);
  std::array<sv::Tensor<float>, 2> y, gx;
  for (int t : {1, 2}) {
    sv::set_num_threads(t);
    sv::Parameter<float> px(x.clone());
    auto out = tp::max_pool2d(tp::param(px), {.kernel = {3, 3}, .stride = {2, 2}, .padding = sv::Padding2d::all(1)});
    out.backward(random<float>(out.shape(), 25));
    y[t - 1] = out.value();
    gx[t - 1] = px.grad();
    tp::clear();
  }
  BOOST_TEST(max_abs_diff(y[0], y[1]) == 0.0);
  BOOST_TEST(max_abs_diff(gx[0], gx[1]) == 0.0);
}

BOOST_AUTO_TEST_CASE(an_empty_batch_gives_an_empty_output) {
  BOOST_TEST(run(sv::Tensor<double>::zeros({0, 3, 8, 8}), {.kernel = {2, 2}}).first.shape() == (sv::Shape{0, 3, 4, 4}));
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_rejected) {
  auto x = tp::constant(sv::Tensor<double>::zeros({2, 3, 8, 8}));
  using E = sv::OptionError;
  BOOST_CHECK_EXCEPTION(tp::max_pool2d(tp::constant(sv::Tensor<double>::zeros({3, 8, 8})), {}), sv::ShapeError,
                        message_has({"max_pool2d", "[N, C, H, W]", "rank 3", "[3,8,8]"}));
  BOOST_CHECK_EXCEPTION(tp::max_pool2d(tp::constant(sv::Tensor<double>::zeros({2, 0, 8, 8})), {}), sv::ShapeError,
                        message_has({"max_pool2d", "empty", "[2,0,8,8]"}));
  BOOST_CHECK_EXCEPTION(tp::max_pool2d(x, {.kernel = {0, 2}}), E, message_has({"max_pool2d", "kernel", "> 0", "0×2"}));
  BOOST_CHECK_EXCEPTION(tp::max_pool2d(x, {.kernel = {2, 2}, .stride = {-1, 1}}), E,
                        message_has({"max_pool2d", "stride", "-1×1"}));
  BOOST_CHECK_EXCEPTION(tp::max_pool2d(x, {.kernel = {2, 2}, .dilation = {1, 0}}), E,
                        message_has({"max_pool2d", "dilation", "1×0"}));
  BOOST_CHECK_EXCEPTION(tp::max_pool2d(x, {.kernel = {3, 3}, .padding = {0, 0, -1, 0}}), E,
                        message_has({"max_pool2d", "padding", "≥ 0", "left -1"}));
  BOOST_CHECK_EXCEPTION(tp::max_pool2d(x, {.kernel = {3, 3}, .padding = {0, 2, 0, 0}, .dilation = {2, 2}}), E,
                        message_has({"max_pool2d", "half the kernel", "PyTorch", "bottom 2", "kernel 3×3"}));
  BOOST_CHECK_EXCEPTION(tp::max_pool2d(x, {.kernel = {3, 5}, .dilation = {3, 2}}), sv::ShapeError,
                        message_has({"max_pool2d", "output size 1×0", "too small", "7×9", "8×8", "[2,3,8,8]"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
