#include "support.hpp"

#include <array>
#include <sstream>
#include <string>

using namespace svtest;
namespace tp = svertka::tape;
using sv::PadMode;

namespace {

constexpr std::array<PadMode, 5> all_modes{PadMode::zeros, PadMode::reflect, PadMode::replicate, PadMode::circular,
                                           PadMode::symmetric};

// The reference's own index map, from numpy.pad's definitions (not from sv::pad_source): bounce the
// coordinate off the edges until it lands inside. Returns −1 for zeros.
std::int64_t source(std::int64_t i, std::int64_t n, PadMode mode) {
  switch (mode) {
    case PadMode::zeros: return i >= 0 && i < n ? i : -1;
    case PadMode::replicate: return std::min(std::max(i, std::int64_t{0}), n - 1);
    case PadMode::circular:
      while (i < 0) i += n;
      while (i >= n) i -= n;
      return i;
    case PadMode::reflect:  // mirror about the edge pixel: -1 → 1, n → n - 2
      if (n == 1) return 0;
      while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
      return i;
    case PadMode::symmetric:  // mirror about the edge itself: -1 → 0, n → n - 1
      while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - 1 - i;
      return i;
  }
  return -1;
}

template <class T>
sv::Tensor<T> naive_pad(const sv::Tensor<T>& x, sv::Padding2d p, PadMode mode) {
  const std::int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  auto y = sv::Tensor<T>::zeros({N, C, H + p.top + p.bottom, W + p.left + p.right});
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t i = 0; i < y.dim(2); ++i)
        for (std::int64_t j = 0; j < y.dim(3); ++j) {
          const std::int64_t a = source(i - p.top, H, mode), b = source(j - p.left, W, mode);
          if (a >= 0 && b >= 0) y(n, c, i, j) = x(n, c, a, b);
        }
  return y;
}

template <class T>
sv::Tensor<T> pad(const sv::Tensor<T>& x, sv::Padding2d p, PadMode mode) {
  auto y = tp::pad2d(tp::constant(x), p, mode).value();
  tp::clear();
  return y;
}

// A picture from the lecture: rows of numbers, the same length or shorter (only the shown part).
void check_picture(const sv::Tensor<double>& y, std::initializer_list<std::string> rows) {
  std::int64_t i = 0;
  for (const std::string& row : rows) {
    std::istringstream in(row);
    double v;
    for (std::int64_t j = 0; in >> v; ++j) BOOST_TEST(y(0, 0, i, j) == v, "at (" << i << ", " << j << ")");
    ++i;
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_pad2d)

BOOST_AUTO_TEST_CASE(every_mode_matches_the_reference) {
  const auto x = random({2, 3, 5, 4}, 11);
  const auto xf = random<float>({2, 3, 5, 4}, 11);
  for (PadMode mode : all_modes)
    for (sv::Padding2d p : {sv::Padding2d{2, 1, 3, 0}, sv::Padding2d{0, 0, 0, 0}, sv::Padding2d{1, 4, 2, 3},
                            sv::Padding2d{4, 4, 3, 3}}) {
      BOOST_TEST_CONTEXT("mode " << sv::to_string(mode) << ", padding " << p.top << p.bottom << p.left << p.right) {
        BOOST_TEST(max_abs_diff(pad(x, p, mode), naive_pad(x, p, mode)) == 0.0);
        BOOST_TEST(max_abs_diff(pad(xf, p, mode), naive_pad(xf, p, mode)) == 0.0);
      }
    }
}

BOOST_AUTO_TEST_CASE(padding_wider_than_the_input_repeats_like_numpy) {
  // the reference above, then numpy itself (tests/data/make_pad_fixtures.py)
  const auto x = random({1, 2, 3, 2}, 12);
  for (PadMode mode : all_modes) BOOST_TEST(max_abs_diff(pad(x, {7, 9, 5, 8}, mode), naive_pad(x, {7, 9, 5, 8}, mode)) == 0.0);

  struct Case {
    const char* name;
    PadMode mode;
    std::int64_t H, W;
    sv::Padding2d p;
  };
  for (const Case& c : {Case{"reflect_wide", PadMode::reflect, 3, 4, {7, 5, 9, 2}},
                        Case{"symmetric_wide", PadMode::symmetric, 3, 4, {4, 8, 2, 11}},
                        Case{"circular_wide", PadMode::circular, 2, 3, {5, 3, 7, 4}},
                        Case{"replicate_wide", PadMode::replicate, 2, 3, {4, 1, 0, 6}},
                        Case{"reflect_single_row", PadMode::reflect, 1, 4, {3, 2, 5, 5}}}) {
    BOOST_TEST_CONTEXT(c.name) {
      auto xi = sv::Tensor<double>::empty({1, 2, c.H, c.W});
      for (std::int64_t k = 0; k < c.H * c.W; ++k) {
        xi.data()[k] = static_cast<double>(k + 1);
        xi.data()[c.H * c.W + k] = static_cast<double>(k + 101);
      }
      const auto want = sv::io::load_npy<double>(fmt::format("{}/pad_{}_y.npy", SVERTKA_TEST_DATA_DIR, c.name));
      BOOST_TEST(max_abs_diff(pad(xi, c.p, c.mode), want) == 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_lectures_pictures) {
  // zero padding: a 6×6 image inside an 8×8 frame of zeros
  const auto img = random({1, 1, 6, 6}, 13, 1.0, 2.0);
  const auto framed = pad(img, sv::Padding2d::all(1), PadMode::zeros);
  BOOST_TEST(framed.shape() == (sv::Shape{1, 1, 8, 8}));
  for (std::int64_t i = 0; i < 8; ++i)
    for (std::int64_t j = 0; j < 8; ++j) {
      const bool frame = i == 0 || j == 0 || i == 7 || j == 7;
      BOOST_TEST(framed(0, 0, i, j) == (frame ? 0.0 : img(0, 0, i - 1, j - 1)));
    }

  // The image behind the replication and reflection slides (its first rows are what the slides show;
  // the third row's tail is not shown and is chosen here), padded by 2 on top and left.
  const auto x = sv::Tensor<double>::from({1, 1, 3, 6}, {1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 8, 7, 1, 2, 3, 4, 5, 6});
  // replication: every cell of the slide
  check_picture(pad(x, {2, 0, 2, 0}, PadMode::replicate),
                {"1 1 1 2 3", "1 1 1 2 3", "1 1 1 2 3 4 5 6", "6 6 6 7 8 9 8 7", "1 1 1 2 3"});
  // reflection: the slide's mirror repeats the edge pixel (`2 1 | 1 2 3`), numpy's 'symmetric'. Its
  // edge cells all match; its two corner cells (3 6 / 8 7) fit no mirror of any image: the cell
  // diagonal to x[0,0] would have to be 7 while x[0,0] = 1 (checked by brute force over both mirror
  // modes, every padding width and image size), so here the corners are numpy's.
  check_picture(pad(x, {2, 0, 2, 0}, PadMode::symmetric),
                {"7 6 6 7 8", "2 1 1 2 3", "2 1 1 2 3 4 5 6", "7 6 6 7 8 9 8 7", "2 1 1 2 3"});
  // PyTorch's 'reflect' does not repeat the edge pixel
  check_picture(pad(x, {2, 0, 2, 0}, PadMode::reflect),
                {"3 2 1 2 3 4 5 6", "8 7 6 7 8 9 8 7", "3 2 1 2 3 4 5 6", "8 7 6 7 8 9 8 7", "3 2 1 2 3 4 5 6"});
}

BOOST_AUTO_TEST_CASE(other_ranks_pad_the_last_two_dimensions) {
  const auto x3 = random({3, 4, 5}, 14);
  const auto y3 = pad(x3, {1, 2, 3, 1}, PadMode::reflect);
  BOOST_TEST(y3.shape() == (sv::Shape{3, 7, 9}));
  const auto y4 = naive_pad(x3.reshape({1, 3, 4, 5}), {1, 2, 3, 1}, PadMode::reflect);
  BOOST_TEST(max_abs_diff(y3.reshape({1, 3, 7, 9}), y4) == 0.0);
  const auto x2 = random({2, 3}, 15);
  BOOST_TEST(max_abs_diff(pad(x2, {1, 1, 2, 2}, PadMode::circular).reshape({1, 1, 4, 7}),
                          naive_pad(x2.reshape({1, 1, 2, 3}), {1, 1, 2, 2}, PadMode::circular)) == 0.0);
  // zeros mode pads an empty image; no planes at all is an empty output
  BOOST_TEST(pad(sv::Tensor<double>::zeros({2, 0, 3}), {1, 1, 1, 1}, PadMode::zeros).shape() == (sv::Shape{2, 2, 5}));
  BOOST_TEST(pad(sv::Tensor<double>::zeros({0, 2, 3}), {1, 1, 1, 1}, PadMode::reflect).shape() == (sv::Shape{0, 4, 5}));
}

BOOST_AUTO_TEST_CASE(gradients) {
  // every mode, widths beyond the input included (pixels that receive many contributions)
  const auto x = random({1, 2, 3, 3}, 16);
  for (PadMode mode : all_modes)
    for (sv::Padding2d p : {sv::Padding2d{1, 2, 2, 1}, sv::Padding2d{4, 0, 5, 7}}) {
      BOOST_TEST_CONTEXT("mode " << sv::to_string(mode)) {
        BOOST_TEST(gradcheck([&](auto& v) { return tp::pad2d(v[0], p, mode); }, {x}));
      }
    }
}

BOOST_AUTO_TEST_CASE(backward_is_the_adjoint_and_accumulates) {
  // <pad(x), g> = <x, pad^T(g)> with pad^T computed independently: each padded cell adds to its source
  const auto x = random({2, 2, 4, 3}, 17);
  const sv::Padding2d p{3, 5, 6, 2};
  for (PadMode mode : all_modes) {
    sv::Parameter<double> px(x.clone());
    auto y = tp::pad2d(tp::param(px), p, mode);
    const auto g = random(y.shape(), 18);
    y.backward(g);
    auto want = sv::Tensor<double>::zeros(x.shape());
    for (std::int64_t n = 0; n < 2; ++n)
      for (std::int64_t c = 0; c < 2; ++c)
        for (std::int64_t i = 0; i < y.shape()[2]; ++i)
          for (std::int64_t j = 0; j < y.shape()[3]; ++j) {
            const std::int64_t a = source(i - p.top, 4, mode), b = source(j - p.left, 3, mode);
            if (a >= 0 && b >= 0) want(n, c, a, b) += g(n, c, i, j);
          }
    BOOST_TEST(max_abs_diff(px.grad(), want) < 1e-13);
    // a second backward pass adds the same again
    tp::clear();
    tp::pad2d(tp::param(px), p, mode).backward(g);
    for (std::int64_t k = 0; k < want.numel(); ++k) want.data()[k] *= 2;
    BOOST_TEST(max_abs_diff(px.grad(), want) < 1e-13);
    tp::clear();
  }
}

BOOST_AUTO_TEST_CASE(same_bits_at_one_and_two_threads) {
  const int saved = sv::num_threads();
  const auto x = random<float>({8, 16, 20, 24}, 19);
  std::array<sv::Tensor<float>, 2> y, gx;
  for (int t : {1, 2}) {
    sv::set_num_threads(t);
    sv::Parameter<float> px(x.clone());
    auto out = tp::pad2d(tp::param(px), {5, 2, 3, 9}, PadMode::reflect);
    out.backward(random<float>(out.shape(), 20));
    y[t - 1] = out.value();
    gx[t - 1] = px.grad();
    tp::clear();
  }
  sv::set_num_threads(saved);
  BOOST_TEST(max_abs_diff(y[0], y[1]) == 0.0);
  BOOST_TEST(max_abs_diff(gx[0], gx[1]) == 0.0);
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_rejected) {
  auto x = tp::constant(sv::Tensor<double>::zeros({1, 2, 3, 4}));
  BOOST_CHECK_EXCEPTION(tp::pad2d(x, {1, -1, 0, 0}, PadMode::zeros), sv::OptionError,
                        message_has({"pad2d", "padding", "≥ 0", "bottom -1"}));
  BOOST_CHECK_EXCEPTION(tp::pad2d(tp::constant(sv::Tensor<double>::zeros({5})), {1, 1, 1, 1}), sv::ShapeError,
                        message_has({"pad2d", "rank ≥ 2", "rank 1", "[5]"}));
  BOOST_CHECK_EXCEPTION(tp::pad2d(tp::constant(sv::Tensor<double>::zeros({1, 0, 4})), {1, 0, 0, 0}, PadMode::reflect),
                        sv::ShapeError, message_has({"pad2d", "empty", "reflect", "[1,0,4]"}));
  BOOST_CHECK_EXCEPTION(tp::pad2d(tp::constant(sv::Tensor<double>::zeros({1, 3, 0})), {0, 0, 2, 0}, PadMode::symmetric),
                        sv::ShapeError, message_has({"pad2d", "empty", "symmetric", "[1,3,0]"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
