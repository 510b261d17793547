#include "support.hpp"

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "conv2d_reference.hpp"

using namespace svtest;
namespace tp = svertka::tape;
using sv::PadMode;
using sv::kernels::Conv2dAlgo;

namespace {

constexpr std::array<PadMode, 5> all_modes{PadMode::zeros, PadMode::reflect, PadMode::replicate, PadMode::circular,
                                           PadMode::symmetric};
constexpr std::array<Conv2dAlgo, 3> all_algos{Conv2dAlgo::gemm, Conv2dAlgo::direct, Conv2dAlgo::lanes};
const char* algo_name(Conv2dAlgo a) {
  return a == Conv2dAlgo::gemm ? "gemm" : a == Conv2dAlgo::direct ? "direct" : a == Conv2dAlgo::lanes ? "lanes" : "winograd";
}
// Every algorithm that runs a layer of R × S filters at this stride and dilation: winograd takes 3 × 3
// and 5 × 5 at stride 1, and forward (the backward passes then run gemm) filters of 3 × 3 or 5 × 5
// taps per phase of a stride without dilation.
std::vector<Conv2dAlgo> algos_for(std::int64_t R, std::int64_t S, sv::Size2d stride, sv::Size2d dilation) {
  std::vector<Conv2dAlgo> a(all_algos.begin(), all_algos.end());
  const std::int64_t r = (R + stride.h - 1) / stride.h, s = (S + stride.w - 1) / stride.w;
  const bool unit = stride.h == 1 && stride.w == 1, undilated = dilation.h == 1 && dilation.w == 1;
  if (r == s && (r == 3 || r == 5) && (unit || undilated)) a.push_back(Conv2dAlgo::winograd);
  return a;
}

// Every instruction set this CPU runs, each chosen in turn (the automatic choice restored after).
template <class F>
void for_each_isa(F&& f) {
  using sv::kernels::Conv2dIsa;
  for (Conv2dIsa isa : {Conv2dIsa::generic, Conv2dIsa::avx2, Conv2dIsa::avx512}) {
    if (!sv::kernels::conv2d_isa_supported(isa)) continue;
    sv::kernels::set_conv2d_isa(isa);
    BOOST_TEST_CONTEXT("isa " << static_cast<int>(isa)) { f(); }
  }
  sv::kernels::set_conv2d_isa(Conv2dIsa::automatic);
}

struct Case {
  std::int64_t N, C, H, W, K, R, S;
  sv::Size2d stride, dilation;
  sv::Padding2d padding;
  std::int64_t groups;
  sv::Conv2dOptions options(PadMode mode, Conv2dAlgo algo = Conv2dAlgo::automatic) const {
    return {.stride = stride, .dilation = dilation, .padding = padding, .pad_mode = mode, .groups = groups, .algo = algo};
  }
};

template <class T>
struct Run {
  sv::Tensor<T> y, dx, dw, db;
};

// The op, called as the engines call it; the gradients start at `pre` so that accumulation shows.
template <class T>
Run<T> run_op(const sv::Tensor<T>& x, const sv::Tensor<T>& w, const sv::Tensor<T>& b, const sv::Tensor<T>& gy,
              const sv::Conv2dOptions& o, T pre = T(0)) {
  const sv::ops::Conv2d op{o};
  Run<T> r{sv::Tensor<T>::empty(op.output_shape(x.shape(), w.shape(), b.shape())), sv::Tensor<T>::full(x.shape(), pre),
           sv::Tensor<T>::full(w.shape(), pre), sv::Tensor<T>::full(b.shape(), pre)};
  op.forward(x, w, b, r.y);
  op.backward(sv::ops::NoSaved{}, x, w, b, r.y, gy, &r.dx, &r.dw, &r.db);
  return r;
}

// max |a − pre − ref| relative to the largest |ref| (at least 1)
template <class T>
double error(const sv::Tensor<T>& a, const sv::Tensor<double>& ref, double pre = 0) {
  BOOST_REQUIRE(a.shape() == ref.shape());
  double m = 0, scale = 1;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::abs(static_cast<double>(a.data()[i]) - pre - ref.data()[i]));
    scale = std::max(scale, std::abs(ref.data()[i]));
  }
  return m / scale;
}

template <class T>
void check_against_reference(const Case& cs, PadMode mode, Conv2dAlgo algo, std::uint64_t seed) {
  const auto o = cs.options(mode, algo);
  const auto x = random<T>({cs.N, cs.C, cs.H, cs.W}, seed), w = random<T>({cs.K, cs.C / cs.groups, cs.R, cs.S}, seed + 1);
  const auto b = random<T>({cs.K}, seed + 2);
  const sv::Shape ys = sv::ops::Conv2d{o}.output_shape(x.shape(), w.shape());
  const auto gy = random<T>(ys, seed + 3);
  const auto ref = conv_ref::conv(x, w, b, gy, o);
  const Run<T> r = run_op(x, w, b, gy, o, T(0.5));
  const double tol = std::is_same_v<T, float> ? 2e-5 : 1e-12;
  const std::string what = fmt::format("{} {} {} case [{},{},{},{}] w [{},{},{},{}]", sv::dtype_name<T>(), mode,
                                       algo_name(algo), cs.N, cs.C, cs.H, cs.W, cs.K,
                                       cs.C / cs.groups, cs.R, cs.S);
  // without a bias: the reference's values less b[k]
  auto y_nb = sv::Tensor<T>::empty(ys);
  sv::ops::Conv2d{o}.forward(x, w, y_nb);
  auto ref_nb = ref.y.clone();
  for (std::int64_t i = 0; i < ref_nb.numel(); ++i) ref_nb.data()[i] -= b.data()[(i / (ys[2] * ys[3])) % cs.K];
  BOOST_TEST_CONTEXT(what) {
    BOOST_TEST(error(r.y, ref.y) < tol);
    BOOST_TEST(error(y_nb, ref_nb) < tol);
    BOOST_TEST(error(r.dx, ref.dx, 0.5) < tol);
    BOOST_TEST(error(r.dw, ref.dw, 0.5) < tol);
    BOOST_TEST(error(r.db, ref.db, 0.5) < tol);
  }
}

// N, C, H, W, K, R, S, stride, dilation, padding (top, bottom, left, right), groups
const Case value_cases[] = {
    {2, 3, 9, 8, 4, 3, 3, {1, 1}, {1, 1}, {1, 2, 0, 1}, 1},   // asymmetric padding
    {1, 4, 10, 9, 6, 3, 2, {2, 1}, {1, 2}, {2, 1, 3, 0}, 2},  // stride, dilation, groups
    {2, 6, 7, 7, 6, 3, 3, {1, 2}, {2, 1}, {2, 2, 1, 1}, 6},   // depthwise
    {3, 5, 7, 7, 8, 2, 3, {1, 1}, {1, 1}, {0, 1, 1, 0}, 1},   // panels spanning two images
    {1, 2, 12, 11, 3, 5, 5, {3, 2}, {1, 1}, {4, 4, 3, 5}, 1},
    {1, 2, 3, 4, 5, 3, 3, {1, 1}, {2, 1}, {5, 6, 7, 4}, 1},   // padding wider than the input
    {1, 32, 6, 6, 300, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},  // several depth chunks and row blocks
    {2, 1, 28, 28, 6, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},   // LeNet's first layer
    {2, 6, 14, 14, 16, 5, 5, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1},  // LeNet's second layer
    {2, 3, 9, 30, 20, 3, 3, {1, 1}, {1, 1}, {1, 1, 2, 0}, 1},   // runs of 12, 12, 6 columns; 20 filters
    {1, 3, 6, 21, 8, 3, 4, {1, 1}, {1, 2}, {1, 0, 2, 3}, 1},    // stride 1, dilated taps over two row vectors
    {4, 9, 32, 32, 2, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},   // backward data: tasks over runs of channel blocks
    {2, 3, 18, 24, 5, 5, 4, {1, 1}, {2, 3}, {2, 1, 3, 2}, 1},  // weight gradient from padded rows, dilated
    {2, 2, 48, 48, 4, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},  // weight gradient over blocks of 576 columns
    // strided: blocks crossing rows, two channel blocks, 9 column blocks in 8 filter parts
    {3, 20, 40, 61, 7, 3, 3, {2, 2}, {1, 1}, {1, 2, 1, 1}, 1},
    {1, 3, 23, 40, 5, 3, 4, {2, 3}, {2, 2}, {2, 1, 3, 3}, 1},   // stride 2 × 3 with dilation 2
    // 3 × 3 at stride 2, the data gradient's three taps a row in one pass: left padding 3 (the first
    // column one by one, vectors from the second), rows of 27 columns (3 vectors and a tail)
    {2, 3, 12, 50, 5, 3, 3, {2, 2}, {1, 1}, {0, 1, 3, 2}, 1},
    {1, 2, 3, 1030, 3, 1, 3, {1, 2}, {1, 1}, {0, 0, 1, 1}, 1},  // rows of 515 outputs
    {1, 2, 9, 26, 9, 2, 7, {1, 1}, {1, 2}, {1, 1, 3, 2}, 1},    // 7 dilated taps in a row: blocks of 5 + 2
    {1, 3, 30, 35, 10, 3, 11, {2, 4}, {1, 1}, {0, 1, 2, 2}, 1},  // 11 taps, stride 4: blocks of 5 + 5 + 1
    // stride 4 over blocks of 1024 columns: the weight gradient's im2col rows in two sub-blocks, the
    // second starting inside a run of 4 taps
    {2, 1, 127, 258, 3, 3, 11, {2, 4}, {1, 1}, {1, 1, 2, 3}, 1},
    {2, 3, 20, 45, 5, 2, 4, {1, 2}, {1, 1}, {0, 1, 1, 2}, 1},   // 4 taps at stride 2: pairs 0 1, 2 3
    {1, 4, 11, 50, 5, 2, 5, {2, 2}, {1, 1}, {2, 0, 3, 1}, 1},   // 5 taps at stride 2: 2 + 2 + 1
    // stride 2 over blocks of 1024 columns: a sub-block of the weight gradient's im2col rows starts
    // inside a pair of taps
    {2, 10, 16, 520, 3, 1, 4, {1, 2}, {1, 1}, {0, 0, 1, 2}, 1},
    // stride 2, rows of 110 outputs (AVX-512 float: the weight gradient's phase planes of 23 channels
    // at a time, the second set from channel 22, whose taps straddle the first set's end)
    {1, 40, 30, 220, 4, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},
    {2, 3, 67, 75, 8, 11, 11, {4, 4}, {1, 1}, {1, 2, 3, 0}, 1},  // and 16 phase planes at stride 4
    {1, 4, 21, 44, 5, 3, 3, {2, 2}, {2, 2}, {2, 1, 2, 2}, 1},    // stride 2, dilation 2: taps on one phase
    // stride 1, rows of 1000 outputs: the weight gradient's padded planes built 16 channels at a time
    {1, 20, 4, 1000, 3, 2, 5, {1, 1}, {1, 1}, {1, 0, 2, 2}, 1},
    {2, 2, 45, 40, 4, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},  // blocks of 11 output rows and one of 1
    // 24 filters (whole micro-tiles of 6 and 8) and planes of whole panels: the GEMM forward writes
    // blocks inside one image straight into y, blocks across two images through its buffer
    {3, 5, 8, 8, 24, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},
    {3, 4, 16, 16, 24, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},
    // filter lanes with three blocks of 16 filters per pass (AVX-512): 40 filters (the third block
    // half full), strided and padded columns; 48 filters per group with two groups
    {2, 3, 23, 25, 40, 5, 5, {2, 2}, {1, 1}, {2, 1, 2, 3}, 1},
    {1, 4, 12, 13, 96, 3, 3, {2, 1}, {1, 2}, {1, 1, 2, 1}, 2},
    // the image-lanes data gradient (filter-lanes shapes at stride and dilation 1, AVX-512): 3
    // groups of 2 channels (a pass of 3 with one computed twice); 5 channels (passes of 3 and 2);
    // zero padding wider than R − 1 (through the padded input's gradient)
    {3, 6, 9, 11, 12, 3, 3, {1, 1}, {1, 1}, {1, 2, 0, 1}, 3},
    {2, 5, 8, 8, 9, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},
    {2, 3, 5, 6, 8, 3, 3, {1, 1}, {1, 1}, {3, 2, 4, 1}, 1},
    // filter lanes over rows of 21 outputs: runs of 12 and 9 columns (both halves of the AVX-512
    // sums' 16 × 16 transpose), 24 filters (a second block of 8)
    {2, 3, 8, 23, 24, 3, 3, {1, 1}, {1, 1}, {1, 1, 0, 0}, 1},
};

// 3 × 3 and 5 × 5 at stride 1 for the Winograd path: 2 × 2 output tiles per phase of the dilation,
// blocks of about 48 tiles (96 with AVX-512; 256 in the weight gradient, in up to 8 parts), the data gradient as a
// convolution of gY on the input's pixels when the padding is zeros of at most (r − 1)·dilation, else
// on the padded input, folded
const Case winograd_cases[] = {
    {2, 3, 9, 8, 4, 3, 3, {1, 1}, {1, 1}, {1, 2, 0, 1}, 1},     // asymmetric padding, odd output rows
    {2, 6, 13, 17, 8, 3, 3, {1, 1}, {2, 2}, {2, 2, 2, 2}, 2},   // dilation 2: four phases; groups
    {1, 4, 11, 10, 5, 3, 3, {1, 1}, {3, 1}, {3, 0, 1, 2}, 1},   // dilation 3 × 1, uneven phases
    {3, 8, 30, 31, 20, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},  // 5 blocks per image, across tile rows
    {1, 300, 6, 6, 7, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},   // two depth chunks, 7 filters
    {1, 2, 3, 4, 5, 3, 3, {1, 1}, {2, 1}, {5, 6, 7, 4}, 1},     // padding wider than 2·dilation
    {2, 5, 1, 9, 4, 3, 3, {1, 1}, {1, 1}, {1, 1, 0, 2}, 1},     // one output row
    {1, 3, 5, 5, 2, 3, 3, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1},     // no padding
    // padding of at most 2·dilation: the interior and the frame; 70 channels a group are blocks of
    // 64 and 6 (double: 32, 32 and 6), taps cut by the edges in both directions
    {2, 140, 9, 7, 6, 3, 3, {1, 1}, {2, 1}, {4, 1, 0, 2}, 2},
    {1, 4, 4, 70, 3, 3, 3, {1, 1}, {1, 2}, {1, 1, 2, 2}, 1},    // rows of 35 tiles: vectors and a tail
    {3, 3, 45, 46, 4, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},   // weight gradient: 3 blocks per image, 9 in 8 parts
    // F(4 × 4, 3 × 3) from 32 × 32 outputs per phase on: 9 × 10 tiles, a vector of 8 and a tail of
    // 2 per tile row, a last tile row of 2 output rows
    {2, 3, 34, 41, 5, 3, 3, {1, 1}, {1, 1}, {0, 2, 1, 0}, 1},
    {1, 4, 66, 70, 4, 3, 3, {1, 1}, {2, 2}, {2, 3, 1, 2}, 2},   // dilation 2: phases of 34 and 33 rows; groups
    {1, 2, 33, 35, 3, 3, 3, {1, 1}, {1, 1}, {4, 5, 3, 6}, 1},   // zero padding wider than 2: the padded input
    // and the weight gradient F(3 × 3, 4 × 4) from 48 × 48: 13 × 14 tiles, a last row of 1 output
    // row; dilation 2 with phases of 67 × 66 outputs, 17 × 17 tiles in blocks of 160 and 129
    {2, 3, 50, 53, 4, 3, 3, {1, 1}, {1, 1}, {1, 0, 2, 1}, 1},
    {1, 2, 134, 132, 3, 3, 3, {1, 1}, {2, 2}, {2, 2, 2, 2}, 1},
    // 5 × 5, F(2 × 2, 5 × 5) below 16 outputs per phase in a direction (and in the weight gradient
    // below 32)
    {2, 3, 11, 10, 4, 5, 5, {1, 1}, {1, 1}, {2, 3, 0, 1}, 1},   // asymmetric padding, odd output columns
    {2, 6, 17, 19, 8, 5, 5, {1, 1}, {2, 2}, {4, 4, 4, 4}, 2},   // dilation 2: four phases; groups
    {1, 4, 15, 12, 5, 5, 5, {1, 1}, {3, 1}, {6, 1, 2, 3}, 1},   // dilation 3 × 1, uneven phases
    // 7 × 17 tiles in blocks of 64 and 55 (AVX2: 48, 48 and 23), across tile rows
    {3, 8, 14, 33, 20, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},
    {1, 300, 8, 8, 7, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},   // two depth chunks, 7 filters
    {1, 2, 3, 4, 5, 5, 5, {1, 1}, {1, 1}, {5, 6, 7, 4}, 1},     // padding wider than 4 and than the input
    {1, 3, 2, 3, 4, 5, 5, {1, 1}, {1, 1}, {3, 4, 2, 4}, 1},     // at most 4 but wider than the input: a frame
    {2, 3, 5, 6, 2, 5, 5, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1},     // no padding
    {1, 4, 6, 74, 3, 5, 5, {1, 1}, {1, 2}, {2, 2, 4, 4}, 1},    // rows of 35 tiles: vectors and a tail
    {3, 3, 15, 140, 4, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},  // weight gradient: 3 blocks per image, 9 in 8 parts
    // F(4 × 4, 5 × 5) from 16 × 16 outputs per phase (the weight gradient F(5 × 5, 4 × 4) from 32 × 32):
    // 21 × 19 outputs, a last tile row of 1 output row and a last tile of 3 columns
    {2, 3, 20, 22, 4, 5, 5, {1, 1}, {1, 1}, {2, 3, 0, 1}, 1},
    {1, 4, 36, 38, 4, 5, 5, {1, 1}, {2, 2}, {4, 4, 4, 4}, 2},   // dilation 2: phases of 18 × 19; groups
    {1, 300, 16, 17, 7, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},  // two depth chunks, 7 filters
    {1, 2, 12, 10, 3, 5, 5, {1, 1}, {1, 1}, {5, 6, 7, 4}, 1},   // padding wider than 4: the padded input
    {1, 4, 20, 150, 3, 5, 5, {1, 1}, {1, 2}, {2, 2, 4, 4}, 1},  // phases of 75 columns: a vector of 16 tiles and 3
    // 25 × 25 tiles: blocks of 96 and a last one of 49 (AVX2: 48 and 1)
    {1, 2, 100, 99, 3, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},
    // weight gradient: 18 × 17 tiles, blocks of 160 and 146, 6 in 6 parts; and 32 × 32 outputs
    {3, 2, 70, 68, 3, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},
    {2, 3, 32, 32, 5, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},
    // the data gradient through the padded input in two parts (not zeros: 9 or 33 tiles per tile
    // row, the last column of tiles transposed): 36 columns in 4 × 4 tiles; 18 in 2 × 2 with
    // asymmetric padding and groups; 66 in 2 × 2, rows dilated by 2
    {1, 3, 20, 32, 4, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},
    {2, 4, 12, 16, 6, 3, 3, {1, 1}, {1, 1}, {1, 0, 2, 0}, 2},
    {1, 2, 10, 64, 3, 3, 3, {1, 1}, {2, 1}, {2, 2, 1, 1}, 1},
    // forward at a stride, through the phases of the padded input (3 × 3 or 5 × 5 taps per phase;
    // the backward passes run gemm): AlexNet's 11 × 11 at stride 4 (16 phases, taps past 11 zero),
    // small (F(2 × 2, 3 × 3)) and at 33 × 32 outputs (F(4 × 4, 3 × 3), tile rows of a vector of 8
    // tiles and a part of one)
    {2, 3, 27, 31, 8, 11, 11, {4, 4}, {1, 1}, {0, 0, 0, 0}, 1},
    {1, 3, 139, 135, 5, 11, 11, {4, 4}, {1, 1}, {1, 2, 0, 3}, 1},
    {2, 4, 15, 16, 6, 5, 5, {2, 2}, {1, 1}, {2, 1, 2, 3}, 2},   // 5 × 5 at stride 2, padded, groups
    {1, 3, 10, 17, 4, 3, 5, {1, 2}, {1, 1}, {1, 1, 2, 2}, 1},   // 3 × 5 at stride 1 × 2: 3 × 3 per phase
    {1, 2, 20, 22, 4, 9, 9, {3, 3}, {1, 1}, {1, 0, 2, 1}, 1},   // stride 3: 3 × 3 per phase, 9 phases
    {1, 2, 21, 20, 3, 10, 10, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},  // 10 × 10 at stride 2: 5 × 5 per phase
    {1, 2, 40, 38, 3, 10, 10, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},  // and at 17 × 16 outputs: F(4 × 4, 5 × 5)
    {1, 2, 9, 84, 3, 6, 6, {2, 2}, {1, 1}, {2, 2, 2, 2}, 1},    // rows of 42 outputs: vectors of tiles and a tail
    // 3 × 3 at stride 2 (forward through F(4 × 4, 3 × 3) at stride 2, 9 × 9 transformed values per
    // tile from input columns 8 apart, blocks over all images): a last tile of 1 row and 2 columns;
    // tile rows of a vector of 8 tiles and 2; asymmetric padding and groups; one tile, unpadded;
    // 11 × 11 tiles in blocks of 64 and 57 (AVX2: 48, 48, 25); padding wider than the input; two
    // depth chunks, 7 filters; 3 images of 7 × 7 tiles in blocks of 64, 64, 19 (AVX2: 48 × 3, 3),
    // each across two images; 20 images of 2 × 2 tiles in blocks of 48 and 32 (12 and 8 images)
    {2, 3, 17, 23, 5, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},
    {1, 4, 20, 75, 6, 3, 3, {2, 2}, {1, 1}, {1, 0, 1, 0}, 1},
    {2, 6, 16, 15, 8, 3, 3, {2, 2}, {1, 1}, {2, 1, 0, 3}, 2},
    {1, 3, 9, 9, 4, 3, 3, {2, 2}, {1, 1}, {0, 0, 0, 0}, 1},
    {1, 2, 88, 88, 3, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},
    {1, 2, 5, 6, 3, 3, 3, {2, 2}, {1, 1}, {3, 2, 4, 3}, 1},
    {1, 300, 9, 10, 7, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},
    {3, 3, 56, 56, 4, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},
    {20, 2, 15, 16, 3, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},
    // its data gradient (zero padding 0-2 above and left, of one parity: 8 × 8 pixels from 5 × 5
    // values of ∂L/∂y; the cases above take it with padding 1 (tiles from an odd padded pixel), 2
    // and 0 (from an even one, ∂L/∂y from row or column −1), in blocks over the images, cut tiles at
    // the right and bottom edges): products as deep as 300 filters (two chunks); rows of 18 tiles (two
    // vectors of 8 and 2); mixed parities (GEMM path)
    {1, 3, 12, 13, 300, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1},
    {1, 2, 9, 140, 3, 3, 3, {2, 2}, {1, 1}, {2, 1, 2, 1}, 1},
    {2, 3, 19, 18, 4, 3, 3, {2, 2}, {1, 1}, {1, 0, 2, 1}, 1},
};

// The filter-lanes forward pass through F(4, S) along the rows (float on AVX-512, stride and dilation
// 1, 3 or 5 taps a row, at least 8 output columns; unpadded 3-tap rows of at most 12 outputs stay
// direct): rows of 3 tiles taken in pairs, of 4 and more in groups of 4 tiles (one, two and three
// groups), columns padded on either side (read through the column map), rows padded wider than the
// filter, a padded input of 3 rows, one tap row, groups, 9 to 40 filters (blocks of 8, the last
// part empty), positions in blocks of 2 vectors and a last single vector
const Case rows_cases[] = {
    {2, 3, 11, 13, 12, 5, 5, {1, 1}, {1, 1}, {2, 1, 3, 0}, 1},  // 10 × 12 outputs
    {1, 4, 9, 20, 9, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 2}, 1},    // 9 × 21: two groups of tiles
    {2, 4, 6, 45, 20, 5, 5, {1, 1}, {1, 1}, {4, 4, 2, 2}, 2},   // 10 × 45: three groups; groups
    {1, 2, 3, 8, 8, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},     // 3 × 8: 7 padded rows
    {2, 3, 7, 12, 8, 1, 5, {1, 1}, {1, 1}, {0, 0, 2, 2}, 1},    // one tap row
    {1, 3, 8, 10, 40, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},   // 40 filters
    {2, 2, 12, 12, 8, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},   // 36 positions: 2 vectors and 1
    {1, 5, 10, 14, 16, 3, 3, {1, 1}, {1, 1}, {1, 1, 0, 0}, 1},  // 3 taps, unpadded rows of 12: direct
};

// Every case in every pad mode, float and double, through `algo` on every instruction set.
template <std::size_t N>
void check_cases(const Case (&cases)[N], Conv2dAlgo algo, std::uint64_t seed) {
  for_each_isa([&] {
    std::uint64_t sd = seed;
    for (const Case& cs : cases)
      for (PadMode mode : all_modes) {
        check_against_reference<float>(cs, mode, algo, sd);
        check_against_reference<double>(cs, mode, algo, sd);
        sd += 4;
      }
  });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_conv2d)

BOOST_AUTO_TEST_CASE(filter_lanes_through_winograd_rows_match_a_naive_reference) {
  check_cases(rows_cases, Conv2dAlgo::lanes, 900);
}

BOOST_AUTO_TEST_CASE(winograd_values_and_gradients_match_a_naive_reference) {
  check_cases(winograd_cases, Conv2dAlgo::winograd, 500);
}

BOOST_AUTO_TEST_CASE(winograd_takes_3x3_and_5x5_filters_at_stride_1_or_per_phase_of_a_stride) {
  auto run = [](const sv::Shape& ws, sv::Size2d stride) {
    const sv::Conv2dOptions o{.stride = stride, .padding = sv::Padding2d::all(1), .algo = Conv2dAlgo::winograd};
    return tp::conv2d(tp::constant(random<double>({1, 2, 8, 8}, 51)), tp::constant(random<double>(ws, 52)), o);
  };
  BOOST_CHECK_EXCEPTION(run({3, 2, 7, 7}, {1, 1}), sv::OptionError,
                        message_has({"Winograd", "3 × 3 or 5 × 5", "7 × 7", "stride (1, 1)"}));
  BOOST_CHECK_EXCEPTION(run({3, 2, 3, 5}, {1, 1}), sv::OptionError, message_has({"Winograd", "3 × 5"}));
  BOOST_CHECK_EXCEPTION(run({3, 2, 5, 5}, {2, 1}), sv::OptionError, message_has({"Winograd", "5 × 5", "stride (2, 1)"}));
  BOOST_CHECK_EXCEPTION(run({3, 2, 3, 3}, {2, 1}), sv::OptionError, message_has({"Winograd", "stride (2, 1)"}));
  // at a stride, 3 × 3 or 5 × 5 taps per phase run forward, but not with dilation
  const auto x = tp::constant(random<double>({1, 2, 12, 12}, 53)), w = tp::constant(random<double>({3, 2, 5, 5}, 54));
  const sv::Conv2dOptions strided{.stride = {2, 2}, .padding = sv::Padding2d::all(1), .algo = Conv2dAlgo::winograd};
  BOOST_TEST(tp::conv2d(x, w, strided).value().shape() == (sv::Shape{1, 3, 5, 5}));
  auto dilated = strided;
  dilated.dilation = {2, 2};
  BOOST_CHECK_EXCEPTION(tp::conv2d(x, w, dilated), sv::OptionError,
                        message_has({"Winograd", "5 × 5", "stride (2, 2)", "dilation (2, 2)"}));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(values_and_gradients_match_a_naive_reference) {
  for_each_isa([] {
    std::uint64_t seed = 100;
    for (const Case& cs : value_cases)
      for (PadMode mode : all_modes)
        for (Conv2dAlgo algo : algos_for(cs.R, cs.S, cs.stride, cs.dilation)) {
          check_against_reference<float>(cs, mode, algo, seed);
          check_against_reference<double>(cs, mode, algo, seed);
          seed += 4;
        }
  });
}

BOOST_AUTO_TEST_CASE(an_isa_the_cpu_lacks_is_refused) {
  using sv::kernels::Conv2dIsa;
  BOOST_TEST(sv::kernels::conv2d_isa_supported(Conv2dIsa::generic));
  BOOST_TEST((sv::kernels::conv2d_isa() != Conv2dIsa::automatic));
  if (!sv::kernels::conv2d_isa_supported(Conv2dIsa::avx512))
    BOOST_CHECK_EXCEPTION(sv::kernels::set_conv2d_isa(Conv2dIsa::avx512), sv::OptionError,
                          message_has({"set_conv2d_isa", "AVX-512"}));
}

BOOST_AUTO_TEST_CASE(the_algorithm_is_chosen_by_shape) {
  auto algo = [](std::int64_t C, std::int64_t K, std::int64_t groups) {
    return sv::ops::Conv2d{{.groups = groups}}.geometry({8, C, 16, 16}, {K, C / groups, 3, 3});
  };
  using sv::kernels::conv2d_algorithm;
  BOOST_TEST((conv2d_algorithm(algo(1, 6, 1)) == Conv2dAlgo::direct));    // LeNet c1
  BOOST_TEST((conv2d_algorithm(algo(32, 32, 32)) == Conv2dAlgo::direct));  // depthwise
  BOOST_TEST((conv2d_algorithm(algo(6, 16, 1)) == Conv2dAlgo::lanes));    // LeNet c2 (depth 54 here)
  BOOST_TEST((conv2d_algorithm(algo(56, 32, 1)) == Conv2dAlgo::lanes));   // depth 504
  BOOST_TEST((conv2d_algorithm(algo(64, 32, 1)) == Conv2dAlgo::gemm));    // depth 576
  BOOST_TEST((conv2d_algorithm(algo(8, 40, 1)) == Conv2dAlgo::gemm));     // more than two vectors of filters
  BOOST_TEST((conv2d_algorithm(algo(64, 64, 1)) == Conv2dAlgo::gemm));
  BOOST_TEST((conv2d_algorithm(algo(3, 96, 1)) == Conv2dAlgo::gemm));     // AlexNet c1
}

BOOST_AUTO_TEST_CASE(the_forward_pass_of_a_gemm_shape_with_full_rows_runs_direct) {
  // [N, C, W, W] input, K filters of 7×7 (no Winograd path), padding 3 (Wo = W)
  auto geom = [](std::int64_t C, std::int64_t W, std::int64_t K, sv::kernels::Conv2dAlgo a = Conv2dAlgo::automatic) {
    auto g = sv::ops::Conv2d{{.padding = sv::Padding2d::all(3)}}.geometry({4, C, W, W}, {K, C, 7, 7});
    g.algo = a;
    return g;
  };
  using sv::kernels::conv2d_algorithm;
  using sv::kernels::conv2d_forward_algorithm;
  const bool simd = sv::kernels::conv2d_isa() != sv::kernels::Conv2dIsa::generic;  // AVX2 or AVX-512
  const auto full = simd ? Conv2dAlgo::direct : Conv2dAlgo::gemm;
  BOOST_TEST((conv2d_algorithm(geom(64, 56, 64)) == Conv2dAlgo::gemm));                    // the backward passes
  BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 56, 64)) == full));                 // 56 of 64 lanes
  BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 32, 64)) == full));                 // 32 of 32
  BOOST_TEST((conv2d_forward_algorithm<double>(geom(64, 32, 64)) == Conv2dAlgo::gemm));    // float only
  BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 33, 64)) == Conv2dAlgo::gemm));     // 33 of 48
  BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 28, 64)) == Conv2dAlgo::gemm));     // two vectors
  BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 14, 64)) == Conv2dAlgo::gemm));     // one vector
  BOOST_TEST((conv2d_forward_algorithm<float>(geom(128, 32, 128)) == Conv2dAlgo::gemm));   // 128·128·49 > 2^18
  BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 56, 64, Conv2dAlgo::gemm)) == Conv2dAlgo::gemm));  // forced
  BOOST_TEST((conv2d_forward_algorithm<float>(geom(6, 56, 16)) == Conv2dAlgo::lanes));     // not a GEMM shape
  BOOST_CHECK_THROW(conv2d_forward_algorithm<float>(sv::kernels::Conv2dGeometry{}), sv::ShapeError);
}

BOOST_AUTO_TEST_CASE(strided_deep_layers_of_48_filters_run_filter_lanes_forward_on_avx512) {
  using sv::kernels::Conv2dIsa;
  using sv::kernels::conv2d_forward_algorithm;
  // C channels, K filters of r × r at stride st on 8 images of 227 × 227
  auto geom = [](std::int64_t C, std::int64_t K, std::int64_t r, std::int64_t st) {
    return sv::ops::Conv2d{{.stride = {st, st}}}.geometry({8, C, 227, 227}, {K, C, r, r});
  };
  for_each_isa([&] {
    const bool avx512 = sv::kernels::conv2d_isa() == Conv2dIsa::avx512;
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(3, 48, 9, 2)) == Conv2dAlgo::lanes) == avx512));   // depth 243
    BOOST_TEST((conv2d_forward_algorithm<double>(geom(3, 96, 11, 4)) != Conv2dAlgo::lanes));
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(3, 96, 9, 2)) == Conv2dAlgo::lanes) == avx512));
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(3, 64, 9, 2)) != Conv2dAlgo::lanes));   // a lone 4th block
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(3, 96, 11, 1)) != Conv2dAlgo::lanes));  // stride 1
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(3, 96, 7, 2)) != Conv2dAlgo::lanes));   // depth 147
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(5, 96, 11, 4)) != Conv2dAlgo::lanes));  // depth 605
    // the backward passes keep their own choice
    BOOST_TEST((sv::kernels::conv2d_backward_data_algorithm<float>(geom(3, 96, 11, 4)) != Conv2dAlgo::lanes));
  });
}

BOOST_AUTO_TEST_CASE(filter_lanes_shapes_take_the_image_lanes_data_gradient_on_avx512) {
  using sv::kernels::Conv2dIsa;
  using sv::kernels::conv2d_backward_data_algorithm;
  auto geom = [](std::int64_t C, std::int64_t K, sv::Conv2dOptions o) {
    return sv::ops::Conv2d{o}.geometry({64, C, 14, 14}, {K, C / o.groups, 5, 5});
  };
  for_each_isa([&] {
    const bool avx512 = sv::kernels::conv2d_isa() == Conv2dIsa::avx512;
    const auto lanes = Conv2dAlgo::lanes;
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(geom(6, 16, {})) == lanes) == avx512));  // LeNet c2
    BOOST_TEST(((conv2d_backward_data_algorithm<double>(geom(6, 16, {})) == lanes) == avx512));
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(geom(6, 16, {.padding = sv::Padding2d::all(2),
                                                                     .pad_mode = PadMode::reflect})) == lanes) == avx512));
    BOOST_TEST((conv2d_backward_data_algorithm<float>(geom(6, 16, {.stride = {2, 2}})) == Conv2dAlgo::gemm));
    BOOST_TEST((conv2d_backward_data_algorithm<float>(geom(6, 16, {.dilation = {1, 2}})) == Conv2dAlgo::gemm));
    BOOST_TEST((conv2d_backward_data_algorithm<float>(geom(64, 64, {})) != lanes));  // not a lanes shape
  });
}

BOOST_AUTO_TEST_CASE(strided_layers_of_3x3_taps_per_phase_run_winograd_forward_on_avx512) {
  using sv::kernels::Conv2dIsa;
  using sv::kernels::conv2d_forward_algorithm;
  // C channels, K filters of r × r at stride st on 8 images of hw × hw
  auto geom = [](std::int64_t C, std::int64_t K, std::int64_t r, std::int64_t st, std::int64_t hw = 227,
                 sv::Size2d dilation = {1, 1}) {
    return sv::ops::Conv2d{{.stride = {st, st}, .dilation = dilation}}.geometry({8, C, hw, hw}, {K, C, r, r});
  };
  const auto wino = Conv2dAlgo::winograd;
  for_each_isa([&] {
    const bool avx512 = sv::kernels::conv2d_isa() == Conv2dIsa::avx512;
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(3, 96, 11, 4)) == wino) == avx512));  // AlexNet c1: 55 × 55
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(16, 64, 5, 2, 68)) == wino) == avx512));  // 32 × 32 outputs
    BOOST_TEST((conv2d_forward_algorithm<double>(geom(3, 96, 11, 4)) != wino));              // float only
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(3, 96, 11, 4, 135)) == wino) == avx512));  // 32 × 32 outputs...
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(3, 96, 11, 4, 131)) != wino));          // ... not 31 × 31
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(1, 96, 11, 4)) != wino));               // 16 phase planes
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(3, 16, 11, 4)) != wino));               // 16 filters
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(16, 64, 10, 2, 72)) != wino));          // 5 × 5 per phase
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 64, 3, 3, 72)) != wino));           // 1 × 1 per phase
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(16, 64, 5, 2, 72, {2, 2})) != wino));   // dilated
    BOOST_TEST((sv::kernels::conv2d_backward_data_algorithm<float>(geom(3, 96, 11, 4)) != wino));
    BOOST_TEST((sv::kernels::conv2d_backward_filter_algorithm<float>(geom(3, 96, 11, 4)) != wino));
  });
}

BOOST_AUTO_TEST_CASE(layers_of_3x3_at_stride_2_run_winograd_on_avx2_and_avx512) {
  using sv::kernels::Conv2dIsa;
  using sv::kernels::conv2d_forward_algorithm;
  // C channels, K filters of 3 × 3 at stride st, padding 1, on n images of hw × hw (hw / st outputs)
  auto geom = [](std::int64_t C, std::int64_t K, std::int64_t hw, sv::Size2d st = {2, 2}, std::int64_t groups = 1,
                 std::int64_t n = 16) {
    return sv::ops::Conv2d{{.stride = st, .padding = sv::Padding2d::all(1), .groups = groups}}.geometry(
        {n, C, hw, hw}, {K, C / groups, 3, 3});
  };
  const auto wino = Conv2dAlgo::winograd;
  for_each_isa([&] {
    const bool vector_isa = sv::kernels::conv2d_isa() != Conv2dIsa::generic;  // AVX2 or AVX-512
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(64, 128, 56)) == wino) == vector_isa));   // strided_3x3
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(128, 128, 56)) == wino) == vector_isa));  // 16384 pairs
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(128, 128, 56, {2, 2}, 2)) == wino) == vector_isa));  // groups
    BOOST_TEST((conv2d_forward_algorithm<double>(geom(64, 128, 56)) != wino));   // float only
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 128, 54)) != wino));    // 27 × 27 outputs
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(32, 128, 56)) != wino));    // 32 channels
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 32, 56)) != wino));     // 32 filters
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(128, 256, 56)) == wino) == vector_isa));  // 32768 pairs
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(256, 512, 56, {2, 2}, 1, 8)) == wino) == vector_isa));  // 131072
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(512, 512, 56, {2, 2}, 1, 8)) != wino));  // 262144 pairs
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(64, 128, 56, {2, 2}, 1, 8)) == wino) == vector_isa));  // 392 tiles
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 128, 56, {2, 2}, 1, 7)) != wino));   // 343 tiles
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 128, 56, {2, 1})) != wino));  // stride 2 × 1
    // the data gradient through the adjoint transform (zero padding 0-2 above and left, of one parity)
    // from 32 × 32 inputs, 256 tiles of 8 × 8, 32 channels and 64 filters per group, 131072 pairs
    using sv::kernels::conv2d_backward_data_algorithm;
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(geom(64, 128, 56)) == wino) == vector_isa));  // strided_3x3
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(geom(32, 64, 32)) == wino) == vector_isa));   // 256 tiles
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(geom(256, 512, 56, {2, 2}, 1, 8)) == wino) == vector_isa));
    BOOST_TEST((conv2d_backward_data_algorithm<float>(geom(512, 512, 56, {2, 2}, 1, 8)) != wino));  // 262144 pairs
    BOOST_TEST((conv2d_backward_data_algorithm<double>(geom(64, 128, 56)) != wino));  // float only
    BOOST_TEST((conv2d_backward_data_algorithm<float>(geom(64, 128, 28, {2, 2}, 1, 32)) != wino));  // 28 × 28
    BOOST_TEST((conv2d_backward_data_algorithm<float>(geom(64, 128, 56, {2, 2}, 1, 4)) != wino));   // 196 tiles
    BOOST_TEST((conv2d_backward_data_algorithm<float>(geom(16, 128, 56)) != wino));   // 16 channels
    BOOST_TEST((conv2d_backward_data_algorithm<float>(geom(64, 32, 56)) != wino));    // 32 filters
    BOOST_TEST((conv2d_backward_data_algorithm<float>(geom(64, 128, 56, {2, 1})) != wino));  // stride 2 × 1
    auto padded = [&](sv::Padding2d p, sv::PadMode mode) {
      return sv::ops::Conv2d{{.stride = {2, 2}, .padding = p, .pad_mode = mode}}.geometry({16, 64, 56, 56}, {128, 64, 3, 3});
    };
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(padded({0, 1, 0, 1}, PadMode::zeros)) == wino) == vector_isa));
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(padded({2, 2, 2, 0}, PadMode::zeros)) == wino) == vector_isa));
    BOOST_TEST((conv2d_backward_data_algorithm<float>(padded({1, 1, 2, 2}, PadMode::zeros)) != wino));  // parities
    BOOST_TEST((conv2d_backward_data_algorithm<float>(padded({3, 3, 3, 3}, PadMode::zeros)) != wino));  // padding 3
    BOOST_TEST((conv2d_backward_data_algorithm<float>(padded({1, 1, 1, 1}, PadMode::reflect)) != wino));
    // the weight gradient through Wino<3, 4, 2> transposed (zero padding), on AVX-512, from 28 × 28
    // outputs, 196 tiles of 4 × 4, 64 channels and 128 filters per group, up to 65536 pairs
    using sv::kernels::conv2d_backward_filter_algorithm;
    const bool avx512 = sv::kernels::conv2d_isa() == Conv2dIsa::avx512;
    BOOST_TEST(((conv2d_backward_filter_algorithm<float>(geom(64, 128, 56)) == wino) == avx512));  // strided_3x3
    BOOST_TEST(((conv2d_backward_filter_algorithm<float>(geom(64, 128, 56, {2, 2}, 1, 4)) == wino) == avx512));
    BOOST_TEST(((conv2d_backward_filter_algorithm<float>(geom(256, 256, 56, {2, 2}, 1, 8)) == wino) == avx512));
    BOOST_TEST(((conv2d_backward_filter_algorithm<float>(geom(128, 256, 56, {2, 2}, 2)) == wino) == avx512));  // groups
    BOOST_TEST((conv2d_backward_filter_algorithm<float>(geom(256, 512, 56, {2, 2}, 1, 8)) != wino));  // 131072 pairs
    BOOST_TEST((conv2d_backward_filter_algorithm<double>(geom(64, 128, 56)) != wino));           // float only
    BOOST_TEST((conv2d_backward_filter_algorithm<float>(geom(64, 128, 54)) != wino));            // 27 × 27 outputs
    BOOST_TEST((conv2d_backward_filter_algorithm<float>(geom(64, 128, 56, {2, 2}, 1, 3)) != wino));  // 147 tiles
    BOOST_TEST((conv2d_backward_filter_algorithm<float>(geom(32, 128, 56)) != wino));            // 32 channels
    BOOST_TEST((conv2d_backward_filter_algorithm<float>(geom(64, 96, 56)) != wino));             // 96 filters
    BOOST_TEST((conv2d_backward_filter_algorithm<float>(geom(64, 128, 56, {2, 1})) != wino));    // stride 2 × 1
    BOOST_TEST((conv2d_backward_filter_algorithm<float>(padded({1, 1, 1, 1}, PadMode::reflect)) != wino));
    BOOST_TEST(((conv2d_backward_filter_algorithm<float>(padded({0, 1, 2, 0}, PadMode::zeros)) == wino) == avx512));
  });
}

BOOST_AUTO_TEST_CASE(winograd_runs_3x3_and_5x5_layers_of_32_channels_or_more_in_float_on_avx2_and_avx512) {
  using sv::kernels::Conv2dIsa;
  // C channels, K filters of r × r on 4 images of hw × hw
  auto geom = [](std::int64_t C, std::int64_t K, sv::Conv2dOptions o, std::int64_t r = 3, std::int64_t hw = 28) {
    return sv::ops::Conv2d{o}.geometry({4, C, hw, hw}, {K, C / o.groups, r, r});
  };
  using sv::kernels::conv2d_backward_data_algorithm;
  using sv::kernels::conv2d_backward_filter_algorithm;
  using sv::kernels::conv2d_forward_algorithm;
  const sv::Conv2dOptions same{.padding = sv::Padding2d::all(1)}, same5{.padding = sv::Padding2d::all(2)};
  const auto wino = Conv2dAlgo::winograd;
  for_each_isa([&] {
    const bool avx2 = sv::kernels::conv2d_isa() == Conv2dIsa::avx2;
    const bool simd = sv::kernels::conv2d_isa() != Conv2dIsa::generic;  // AVX2 or AVX-512
    for (const auto& g : {geom(64, 64, same), geom(32, 32, same5, 5, 16)}) {
      BOOST_TEST(((conv2d_forward_algorithm<float>(g) == wino) == simd));
      BOOST_TEST(((conv2d_backward_data_algorithm<float>(g) == wino) == simd));
      // the weight gradient from 28 × 28 (3 × 3) or 16 × 16 (5 × 5) outputs on
      BOOST_TEST(((conv2d_backward_filter_algorithm<float>(g) == wino) == simd));
    }
    // ... and up to 128 × 128 channels and filters per group
    BOOST_TEST(((conv2d_backward_filter_algorithm<float>(geom(128, 128, same, 3, 56)) == wino) == simd));
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(256, 128, same)) == wino) == simd));
    BOOST_TEST((conv2d_backward_filter_algorithm<float>(geom(256, 128, same)) == Conv2dAlgo::gemm));
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(64, 64, same, 3, 27)) == wino) == simd));
    BOOST_TEST((conv2d_backward_filter_algorithm<float>(geom(64, 64, same, 3, 27)) == Conv2dAlgo::gemm));
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(geom(64, 64, same5, 5, 15)) == wino) == simd));
    BOOST_TEST((conv2d_backward_filter_algorithm<float>(geom(64, 64, same5, 5, 15)) == Conv2dAlgo::gemm));
    BOOST_TEST((conv2d_backward_filter_algorithm<double>(geom(64, 64, same)) == Conv2dAlgo::gemm));
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(32, 48, same)) == wino) == simd));
    // a 3 × 3 forward pass on AVX-512 from 16 × 16 outputs on; its data gradient at any size
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(64, 64, same, 3, 15)) == wino) == avx2));
    BOOST_TEST(((conv2d_forward_algorithm<float>(geom(64, 64, same, 3, 16)) == wino) == simd));
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(geom(64, 64, same, 3, 15)) == wino) == simd));
    // not in double, not with fewer than 32 channels or filters per group, not strided, not 7 × 7
    BOOST_TEST((conv2d_forward_algorithm<double>(geom(64, 64, same)) != wino));
    BOOST_TEST((conv2d_backward_data_algorithm<double>(geom(64, 64, same)) != wino));
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(16, 64, same)) != wino));
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 64, {.padding = sv::Padding2d::all(1), .groups = 4})) != wino));
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 64, {.stride = {2, 2}, .padding = sv::Padding2d::all(1)})) != wino));
    BOOST_TEST((conv2d_forward_algorithm<float>(geom(64, 64, {.padding = sv::Padding2d::all(3)}, 7)) != wino));
    // every padding mode and width: the data gradient through the padded input
    const sv::Conv2dOptions reflect{.padding = sv::Padding2d::all(1), .pad_mode = PadMode::reflect};
    for (const auto& g : {geom(64, 64, reflect, 3, 56), geom(64, 64, {.padding = {3, 1, 1, 1}}, 3, 56),
                          geom(32, 32, {.padding = sv::Padding2d::all(2), .pad_mode = PadMode::replicate}, 5, 32)}) {
      BOOST_TEST(((conv2d_forward_algorithm<float>(g) == wino) == simd));
      BOOST_TEST(((conv2d_backward_data_algorithm<float>(g) == wino) == simd));
      BOOST_TEST(((conv2d_backward_filter_algorithm<float>(g) == wino) == simd));
    }
    // ... with dilation too (and zero padding of at most 2·dilation transposes)
    const sv::Conv2dOptions dilated{.dilation = {2, 2}, .padding = sv::Padding2d::all(2), .pad_mode = PadMode::reflect};
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(geom(64, 64, dilated)) == wino) == simd));
    BOOST_TEST(((conv2d_backward_data_algorithm<float>(geom(64, 64, {.dilation = {2, 2}, .padding = sv::Padding2d::all(2)})) ==
                 wino) == simd));
    // forced: any size, type and instruction set
    for (const auto& forced : {geom(8, 8, {.padding = {3, 1, 1, 1}, .algo = wino}, 3, 6),
                               geom(2, 3, {.padding = sv::Padding2d::all(2), .pad_mode = PadMode::circular, .algo = wino}, 5, 5)}) {
      BOOST_TEST((conv2d_forward_algorithm<double>(forced) == wino));
      BOOST_TEST((conv2d_backward_data_algorithm<double>(forced) == wino));
      BOOST_TEST((conv2d_backward_filter_algorithm<double>(forced) == wino));
    }
    const auto forced7 = geom(8, 8, {.padding = sv::Padding2d::all(3), .algo = wino}, 7);
    BOOST_TEST((conv2d_backward_data_algorithm<double>(forced7) == Conv2dAlgo::gemm));
    BOOST_TEST((conv2d_backward_filter_algorithm<double>(forced7) == Conv2dAlgo::gemm));
  });
}

// The lecture's zero padding: a 6×6 image in a frame of zeros, 8×8, read by a 1×1 identity kernel;
// a 3×3 kernel with padding 1 keeps the size 6×6, and its top-left tap reads the frame.
BOOST_AUTO_TEST_CASE(zero_padding_frames_the_image) {
  auto x = sv::Tensor<double>::empty({1, 1, 6, 6});
  for (std::int64_t i = 0; i < 36; ++i) x.data()[i] = static_cast<double>(i + 1);
  const auto one = sv::Tensor<double>::ones({1, 1, 1, 1});
  const auto y = tp::conv2d(tp::constant(x), tp::constant(one), {.padding = sv::Padding2d::all(1)}).value();
  BOOST_TEST(y.shape() == (sv::Shape{1, 1, 8, 8}));
  for (std::int64_t i = 0; i < 8; ++i)
    for (std::int64_t j = 0; j < 8; ++j) {
      const bool frame = i == 0 || j == 0 || i == 7 || j == 7;
      BOOST_TEST(y(0, 0, i, j) == (frame ? 0.0 : x(0, 0, i - 1, j - 1)));
    }
  auto delta = sv::Tensor<double>::zeros({1, 1, 3, 3});
  delta(0, 0, 0, 0) = 1;
  const auto z = tp::conv2d(tp::constant(x), tp::constant(delta), {.padding = sv::Padding2d::all(1)}).value();
  BOOST_TEST(z.shape() == (sv::Shape{1, 1, 6, 6}));
  for (std::int64_t i = 0; i < 6; ++i)
    for (std::int64_t j = 0; j < 6; ++j) BOOST_TEST(z(0, 0, i, j) == y(0, 0, i, j));
  tp::clear();
}

// The lecture's pictures of reflection and replication padding, two pixels above and to the left of
// the image with rows 1 2 3 4 5 6 / 6 7 8 9 8 7 / 1 2 3 4 5 6, read by a 1×1 identity kernel. The
// slide's "reflection" rows (2 1 | 1 2 3 4 5 6, 7 6 | 6 7 8 9 8 7) repeat the edge pixel: that is
// numpy's 'symmetric'; PyTorch's and numpy's 'reflect' does not repeat it (3 2 | 1 2 3 ...).
BOOST_AUTO_TEST_CASE(reflection_and_replication_pictures) {
  const auto x = sv::Tensor<double>::from({1, 1, 3, 6}, {1, 2, 3, 4, 5, 6, 6, 7, 8, 9, 8, 7, 1, 2, 3, 4, 5, 6});
  const auto one = sv::Tensor<double>::ones({1, 1, 1, 1});
  auto picture = [&](PadMode mode, std::vector<std::vector<double>> rows) {
    const auto y = tp::conv2d(tp::constant(x), tp::constant(one), {.padding = {2, 0, 2, 0}, .pad_mode = mode}).value();
    BOOST_TEST_CONTEXT(fmt::format("{}", mode)) {
      BOOST_REQUIRE(y.shape() == (sv::Shape{1, 1, 5, 8}));
      for (std::int64_t i = 0; i < 5; ++i)
        for (std::int64_t j = 0; j < 8; ++j) BOOST_TEST(y(0, 0, i, j) == rows[i][j]);
    }
    tp::clear();
  };
  picture(PadMode::replicate, {{1, 1, 1, 2, 3, 4, 5, 6},
                               {1, 1, 1, 2, 3, 4, 5, 6},
                               {1, 1, 1, 2, 3, 4, 5, 6},
                               {6, 6, 6, 7, 8, 9, 8, 7},
                               {1, 1, 1, 2, 3, 4, 5, 6}});
  picture(PadMode::symmetric, {{7, 6, 6, 7, 8, 9, 8, 7},
                               {2, 1, 1, 2, 3, 4, 5, 6},
                               {2, 1, 1, 2, 3, 4, 5, 6},
                               {7, 6, 6, 7, 8, 9, 8, 7},
                               {2, 1, 1, 2, 3, 4, 5, 6}});
  picture(PadMode::reflect, {{3, 2, 1, 2, 3, 4, 5, 6},
                             {8, 7, 6, 7, 8, 9, 8, 7},
                             {3, 2, 1, 2, 3, 4, 5, 6},
                             {8, 7, 6, 7, 8, 9, 8, 7},
                             {3, 2, 1, 2, 3, 4, 5, 6}});
  // a 3×3 delta kernel at its top-left tap reads the same padded pixels
  auto delta = sv::Tensor<double>::zeros({1, 1, 3, 3});
  delta(0, 0, 0, 0) = 1;
  const auto z = tp::conv2d(tp::constant(x), tp::constant(delta), {.padding = {2, 0, 2, 0}, .pad_mode = PadMode::reflect}).value();
  BOOST_REQUIRE(z.shape() == (sv::Shape{1, 1, 3, 6}));
  BOOST_TEST(z(0, 0, 0, 0) == 3.0);
  BOOST_TEST(z(0, 0, 1, 1) == 7.0);
  BOOST_TEST(z(0, 0, 2, 5) == 4.0);
  tp::clear();
}

// Wider than the input, reflect and symmetric repeat periodically as numpy.pad does (values from
// numpy 1.24: np.pad([1, 2, 3], (7, 5), mode)).
BOOST_AUTO_TEST_CASE(reflect_and_symmetric_wider_than_the_input_follow_numpy) {
  const auto x = sv::Tensor<double>::from({1, 1, 1, 3}, {1, 2, 3});
  const auto one = sv::Tensor<double>::ones({1, 1, 1, 1});
  const std::vector<double> reflect{2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2};
  const std::vector<double> symmetric{1, 1, 2, 3, 3, 2, 1, 1, 2, 3, 3, 2, 1, 1, 2};
  for (auto [mode, expected] : {std::pair{PadMode::reflect, reflect}, std::pair{PadMode::symmetric, symmetric}})
    for (Conv2dAlgo algo : all_algos) {
      const auto y = tp::conv2d(tp::constant(x), tp::constant(one),
                                {.padding = {0, 0, 7, 5}, .pad_mode = mode, .algo = algo}).value();
      BOOST_REQUIRE(y.shape() == (sv::Shape{1, 1, 1, 15}));
      for (std::int64_t j = 0; j < 15; ++j) BOOST_TEST(y(0, 0, 0, j) == expected[j]);
      // and the reference's own map agrees with numpy
      const auto idx = conv_ref::pad_indices(3, 7, 5, mode);
      for (std::int64_t j = 0; j < 15; ++j) BOOST_TEST(static_cast<double>(idx[j] + 1) == expected[j]);
      tp::clear();
    }
  // numpy: np.pad([[1, 2], [3, 4]], ((3, 1), (4, 2)), 'symmetric')[0] = [3, 4, 4, 3, 3, 4, 4, 3]
  const auto x2 = sv::Tensor<double>::from({1, 1, 2, 2}, {1, 2, 3, 4});
  const auto y2 = tp::conv2d(tp::constant(x2), tp::constant(one), {.padding = {3, 1, 4, 2}, .pad_mode = PadMode::symmetric}).value();
  const double row0[] = {3, 4, 4, 3, 3, 4, 4, 3};
  for (std::int64_t j = 0; j < 8; ++j) BOOST_TEST(y2(0, 0, 0, j) == row0[j]);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(same_padding_gives_ceil_of_input_over_stride) {
  struct SameCase { std::int64_t H, k, s; sv::Padding2d expected; };
  const SameCase cases[] = {{7, 4, 1, {1, 2, 1, 2}}, {8, 3, 2, {0, 1, 0, 1}}, {7, 3, 2, {1, 1, 1, 1}}, {9, 4, 2, {1, 2, 1, 2}}};
  for (const auto& c : cases) {
    const sv::Padding2d p = sv::Padding2d::same({c.H, c.H}, {c.k, c.k}, {c.s, c.s});
    BOOST_TEST((p == c.expected));
    BOOST_TEST(p.bottom >= p.top);  // the extra pixel goes bottom / right
    const sv::Conv2dOptions o{.stride = {c.s, c.s}, .padding = p, .pad_mode = PadMode::reflect};
    const auto x = random({2, 3, c.H, c.H}, 7), w = random({4, 3, c.k, c.k}, 8), b = random({4}, 9);
    const auto y = tp::conv2d(tp::constant(x), tp::constant(w), tp::constant(b), o).value();
    const std::int64_t out = (c.H + c.s - 1) / c.s;
    BOOST_TEST(y.shape() == (sv::Shape{2, 4, out, out}));
    BOOST_TEST(error(y, conv_ref::conv(x, w, b, sv::Tensor<double>{}, o).y) < 1e-12);
    tp::clear();
  }
}

BOOST_AUTO_TEST_CASE(gradcheck_every_mode_stride_dilation_groups) {
  const Case cases[] = {
      {1, 2, 5, 4, 2, 2, 3, {1, 2}, {2, 1}, {1, 2, 2, 0}, 1},
      {2, 4, 4, 5, 4, 3, 3, {2, 1}, {1, 1}, {2, 1, 0, 1}, 2},
      {1, 3, 5, 5, 3, 3, 3, {1, 1}, {2, 2}, {2, 2, 1, 3}, 3},  // depthwise, dilated
      {2, 3, 6, 5, 8, 3, 2, {1, 1}, {1, 1}, {1, 0, 1, 1}, 1},  // stride 1: the image-lanes data gradient
  };
  for (const Case& cs : cases)
    for (PadMode mode : all_modes)
      for (Conv2dAlgo algo : algos_for(cs.R, cs.S, cs.stride, cs.dilation)) {
        const auto o = cs.options(mode, algo);
        const auto x = random({cs.N, cs.C, cs.H, cs.W}, 11), w = random({cs.K, cs.C / cs.groups, cs.R, cs.S}, 12);
        const auto b = random({cs.K}, 13);
        BOOST_TEST_CONTEXT(fmt::format("{} {} groups {}", mode, algo_name(algo), cs.groups)) {
          BOOST_TEST(gradcheck([&](auto& v) { return tp::conv2d(v[0], v[1], v[2], o); }, {x, w, b}));
          BOOST_TEST(gradcheck([&](auto& v) { return tp::conv2d(v[0], v[1], o); }, {x, w}));
        }
      }
}

BOOST_AUTO_TEST_CASE(frozen_weight_gets_no_gradient_work) {
  const sv::Conv2dOptions o{.padding = {1, 0, 2, 1}, .pad_mode = PadMode::reflect};
  sv::Parameter<double> x(random({2, 3, 6, 5}, 21));
  auto w = tp::constant(random({4, 3, 3, 3}, 22));
  tp::sum(tp::conv2d(tp::param(x), w, o)).backward();
  BOOST_TEST(!w.requires_grad());
  BOOST_TEST(!w.grad().defined());
  const auto ones = sv::Tensor<double>::ones(sv::ops::Conv2d{o}.output_shape(x.value().shape(), w.shape()));
  const auto ref = conv_ref::conv(x.value(), w.value(), sv::Tensor<double>{}, ones, o);
  BOOST_TEST(error(x.grad(), ref.dx) < 1e-12);
  tp::clear();
  // the op itself: null gradients are skipped, the others accumulate
  auto gx = sv::Tensor<double>::zeros(x.value().shape());
  auto y = sv::Tensor<double>::empty(ones.shape());
  const sv::ops::Conv2d op{o};
  op.forward(x.value(), w.value(), y);
  op.backward(sv::ops::NoSaved{}, x.value(), w.value(), y, ones, &gx, static_cast<sv::Tensor<double>*>(nullptr));
  op.backward<double>(sv::ops::NoSaved{}, x.value(), w.value(), y, ones, nullptr, nullptr);
  BOOST_TEST(error(gx, ref.dx) < 1e-12);
}

BOOST_AUTO_TEST_CASE(pytorch_fixtures) {
  struct Fixture { const char* name; sv::Conv2dOptions o; };
  const Fixture fixtures[] = {
      {"zeros_g2", {.stride = {2, 1}, .dilation = {1, 2}, .padding = {1, 2, 2, 1}, .groups = 2}},
      {"reflect", {.dilation = {2, 1}, .padding = {2, 1, 1, 2}, .pad_mode = PadMode::reflect}},
      {"replicate", {.stride = {2, 2}, .padding = sv::Padding2d::all(2), .pad_mode = PadMode::replicate}},
      {"circular_dw", {.padding = {1, 1, 2, 2}, .pad_mode = PadMode::circular, .groups = 4}},
      {"zeros_big", {.padding = sv::Padding2d::all(1)}},
      {"replicate_5x5", {.padding = sv::Padding2d::all(2), .pad_mode = PadMode::replicate}},
      {"reflect_5x5_d2", {.dilation = {2, 1}, .padding = {3, 4, 2, 4}, .pad_mode = PadMode::reflect}},
  };
  for (const auto& f : fixtures) {
    auto load = [&](const char* what) {
      return sv::io::load_npy<double>(fmt::format("{}/conv2d/{}_{}.npy", SVERTKA_TEST_DATA_DIR, f.name, what));
    };
    const auto x = load("x"), w = load("w"), b = load("b"), gy = load("gy");
    for_each_isa([&] {
    for (Conv2dAlgo algo : algos_for(w.shape()[2], w.shape()[3], f.o.stride, f.o.dilation)) {
      auto o = f.o;
      o.algo = algo;
      const Run<double> r = run_op(x, w, b, gy, o);
      BOOST_TEST_CONTEXT(f.name << " " << algo_name(algo)) {
        BOOST_TEST(max_abs_diff(r.y, load("y")) < 1e-12);
        BOOST_TEST(max_abs_diff(r.dx, load("dx")) < 1e-12);
        BOOST_TEST(max_abs_diff(r.dw, load("dw")) < 1e-12);
        BOOST_TEST(max_abs_diff(r.db, load("db")) < 1e-12);
      }
    }
    });
  }
}

BOOST_AUTO_TEST_CASE(bit_identical_at_one_and_two_threads) {
  const int saved = sv::num_threads();
  const Case cases[] = {{4, 16, 20, 19, 24, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1},
                        {3, 16, 21, 20, 32, 3, 3, {2, 1}, {1, 2}, {2, 1, 2, 1}, 4},
                        {8, 2, 24, 24, 6, 5, 5, {1, 1}, {1, 1}, {2, 2, 2, 2}, 1},
                        // 8 partial weight gradients of 288 × 64, large enough to be summed in parallel
                        {2, 32, 12, 40, 64, 3, 3, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1}};
  auto check = [](const Case& cs, PadMode mode, Conv2dAlgo algo) {
    const auto o = cs.options(mode, algo);
    const auto x = random<float>({cs.N, cs.C, cs.H, cs.W}, 31), w = random<float>({cs.K, cs.C / cs.groups, cs.R, cs.S}, 32);
    const auto b = random<float>({cs.K}, 33);
    const auto gy = random<float>(sv::ops::Conv2d{o}.output_shape(x.shape(), w.shape()), 34);
    sv::set_num_threads(1);
    const Run<float> one = run_op(x, w, b, gy, o);
    sv::set_num_threads(2);
    const Run<float> two = run_op(x, w, b, gy, o);
    auto same = [](const sv::Tensor<float>& a, const sv::Tensor<float>& c) {
      return std::memcmp(a.data(), c.data(), sizeof(float) * static_cast<std::size_t>(a.numel())) == 0;
    };
    BOOST_TEST_CONTEXT(fmt::format("stride {} groups {} {} {}", cs.stride.h, cs.groups, mode, algo_name(algo))) {
      BOOST_TEST(same(one.y, two.y));
      BOOST_TEST(same(one.dx, two.dx));
      BOOST_TEST(same(one.dw, two.dw));
      BOOST_TEST(same(one.db, two.db));
    }
  };
  for_each_isa([&] {
    for (const Case& cs : cases)
      for (Conv2dAlgo algo : algos_for(cs.R, cs.S, cs.stride, cs.dilation)) check(cs, PadMode::reflect, algo);
    // a 3 × 3 layer at stride 2 with zero padding: its weight gradient through Wino<3, 4, 2> runs
    // two parts of two images, 9 tasks each
    check({4, 8, 30, 30, 16, 3, 3, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1}, PadMode::zeros, Conv2dAlgo::winograd);
  });
  sv::set_num_threads(saved);
}

BOOST_AUTO_TEST_CASE(repeated_calls_make_no_heap_allocation) {
  const sv::Conv2dOptions o{.padding = sv::Padding2d::all(1), .pad_mode = PadMode::replicate};
  const auto x = random<float>({4, 16, 20, 20}, 41), w = random<float>({24, 16, 3, 3}, 42), b = random<float>({24}, 43);
  const auto gy = random<float>({4, 24, 20, 20}, 44);
  auto wino = o, wino_padded = o;
  wino.pad_mode = PadMode::zeros, wino.algo = Conv2dAlgo::winograd;  // its data gradient on the input's pixels
  wino_padded.algo = Conv2dAlgo::winograd;                            // and on the padded input
  const auto all = [&] { run_op(x, w, b, gy, o), run_op(x, w, b, gy, wino), run_op(x, w, b, gy, wino_padded); };
  for (int i = 0; i < 3; ++i) all();
  const auto before = heap_allocations();
  for (int i = 0; i < 5; ++i) all();
  BOOST_TEST(heap_allocations() - before == 0u);
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_rejected) {
  auto c = [](const sv::Shape& xs, const sv::Shape& ws, sv::Conv2dOptions o = {}) {
    return tp::conv2d(tp::constant(sv::Tensor<double>::zeros(xs)), tp::constant(sv::Tensor<double>::zeros(ws)), o);
  };
  using sv::ShapeError, sv::OptionError;
  BOOST_CHECK_EXCEPTION(c({8, 3, 32, 32}, {16, 4, 3, 3}), ShapeError,
                        message_has({"conv2d: input has 3 channels but weight expects 4 (x: [8,3,32,32], w: [16,4,3,3])"}));
  BOOST_CHECK_EXCEPTION(c({3, 32, 32}, {16, 3, 3, 3}), ShapeError, message_has({"conv2d", "input", "rank 3", "[3,32,32]"}));
  BOOST_CHECK_EXCEPTION(c({1, 3, 8, 8}, {16, 3, 3}), ShapeError, message_has({"conv2d", "weight", "rank 3", "[16,3,3]"}));
  BOOST_CHECK_EXCEPTION(c({1, 8, 8, 8}, {16, 2, 3, 3}, {.groups = 2}), ShapeError,
                        message_has({"conv2d", "8 channels", "expects 4", "2 per group", "2 groups", "[1,8,8,8]", "[16,2,3,3]"}));
  BOOST_CHECK_EXCEPTION(c({1, 6, 8, 8}, {4, 2, 3, 3}, {.groups = 4}), ShapeError,
                        message_has({"conv2d", "groups = 4", "6 channels", "[1,6,8,8]"}));
  BOOST_CHECK_EXCEPTION(c({1, 4, 8, 8}, {6, 1, 3, 3}, {.groups = 4}), ShapeError,
                        message_has({"conv2d", "groups = 4", "6 filters", "[6,1,3,3]"}));
  BOOST_CHECK_EXCEPTION(c({1, 4, 8, 8}, {4, 4, 3, 3}, {.groups = 0}), OptionError, message_has({"conv2d", "groups", "0"}));
  BOOST_CHECK_EXCEPTION(c({1, 4, 8, 8}, {4, 4, 3, 3}, {.stride = {0, 1}}), OptionError, message_has({"conv2d", "stride", "0x1"}));
  BOOST_CHECK_EXCEPTION(c({1, 4, 8, 8}, {4, 4, 3, 3}, {.dilation = {1, -2}}), OptionError, message_has({"conv2d", "dilation", "1x-2"}));
  BOOST_CHECK_EXCEPTION(c({1, 4, 8, 8}, {4, 4, 3, 3}, {.padding = {0, -1, 0, 0}}), OptionError,
                        message_has({"conv2d", "padding", "bottom -1"}));
  BOOST_CHECK_EXCEPTION(c({1, 4, 8, 8}, {4, 4, 0, 3}), ShapeError, message_has({"conv2d", "kernel size", "0x3", "[4,4,0,3]"}));
  BOOST_CHECK_EXCEPTION(c({1, 1, 4, 4}, {1, 1, 5, 5}), ShapeError,
                        message_has({"conv2d", "kernel spans 5x5", "padded input is only 4x4", "[1,1,4,4]", "[1,1,5,5]"}));
  BOOST_CHECK_EXCEPTION(c({1, 1, 6, 6}, {1, 1, 3, 3}, {.dilation = {3, 3}}), ShapeError,
                        message_has({"conv2d", "7x7", "dilation 3x3", "6x6"}));
  BOOST_CHECK_EXCEPTION(c({0, 3, 8, 8}, {4, 3, 3, 3}), ShapeError, message_has({"conv2d", "input is empty", "[0,3,8,8]"}));
  BOOST_CHECK_EXCEPTION(c({2, 3, 0, 8}, {4, 3, 3, 3}), ShapeError, message_has({"conv2d", "input is empty", "[2,3,0,8]"}));
  BOOST_CHECK_EXCEPTION(c({2, 3, 8, 8}, {0, 3, 3, 3}), ShapeError, message_has({"conv2d", "weight is empty", "[0,3,3,3]"}));
  auto x = tp::constant(sv::Tensor<double>::zeros({8, 3, 32, 32}));
  auto w = tp::constant(sv::Tensor<double>::zeros({16, 3, 3, 3}));
  BOOST_CHECK_EXCEPTION(tp::conv2d(x, w, tp::constant(sv::Tensor<double>::zeros({15})), {}), ShapeError,
                        message_has({"conv2d", "bias must be [16]", "[15]"}));
  // the kernels check their geometry too
  sv::kernels::Conv2dGeometry g = sv::ops::Conv2d{}.geometry({1, 3, 8, 8}, {4, 3, 3, 3});
  g.Ho = 7;
  double buf[1024] = {};
  BOOST_CHECK_EXCEPTION(sv::kernels::conv2d_forward<double>(g, buf, buf, nullptr, buf), ShapeError,
                        message_has({"conv2d kernel", "output size"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
