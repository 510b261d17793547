// The convolution kernels' entry points: validation of the geometry, the padding index maps, the
// choice of algorithm, the task runner (the only OpenMP region of the convolution), and the bias
// gradient. The algorithms live in conv2d_gemm*.cpp, conv2d_direct.cpp and conv2d_lanes.cpp.

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <limits>

#include <fmt/format.h>

#include "conv2d_impl.hpp"
#include "svertka/core/error.hpp"

namespace svertka::kernels {
namespace conv {

Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

namespace {
bool cpu_has(Conv2dIsa which) {
#ifdef SVERTKA_CONV_X86
  __builtin_cpu_init();
  switch (which) {
    case Conv2dIsa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && cpu_has(Conv2dIsa::avx2);
    case Conv2dIsa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default: return true;
  }
#else
  return which == Conv2dIsa::generic || which == Conv2dIsa::automatic;
#endif
}

Conv2dIsa best_isa() {
  static const Conv2dIsa best = cpu_has(Conv2dIsa::avx512) ? Conv2dIsa::avx512
                                : cpu_has(Conv2dIsa::avx2) ? Conv2dIsa::avx2
                                                           : Conv2dIsa::generic;
  return best;
}

std::atomic<Conv2dIsa> chosen{Conv2dIsa::automatic};
}  // namespace

Conv2dIsa isa() {
  const Conv2dIsa c = chosen.load(std::memory_order_relaxed);
  return c == Conv2dIsa::automatic ? best_isa() : c;
}

void validate(const Conv2dGeometry& g) {
  auto shape_error = [&](std::string_view what) {
    throw ShapeError(fmt::format("conv2d kernel: {} (N={}, C={}, H={}, W={}, K={}, R={}, S={}, groups={}, Ho={}, Wo={})",
                                 what, g.N, g.C, g.H, g.W, g.K, g.R, g.S, g.groups, g.Ho, g.Wo));
  };
  if (g.stride.h <= 0 || g.stride.w <= 0 || g.dilation.h <= 0 || g.dilation.w <= 0)
    throw OptionError(fmt::format("conv2d kernel: stride ({}, {}) and dilation ({}, {}) must be positive", g.stride.h,
                                  g.stride.w, g.dilation.h, g.dilation.w));
  const Padding2d& p = g.padding;
  if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0)
    throw OptionError(fmt::format("conv2d kernel: padding ({}, {}, {}, {}) must not be negative", p.top, p.bottom,
                                  p.left, p.right));
  if (g.groups <= 0) throw OptionError(fmt::format("conv2d kernel: groups must be positive but is {}", g.groups));
  if (g.N <= 0 || g.C <= 0 || g.H <= 0 || g.W <= 0 || g.K <= 0 || g.R <= 0 || g.S <= 0) shape_error("a size is not positive");
  if (g.C % g.groups != 0 || g.K % g.groups != 0) shape_error("groups do not divide the channels and filters");
  const i64 Ho = (g.H + p.top + p.bottom - g.dilation.h * (g.R - 1) - 1), Wo = (g.W + p.left + p.right - g.dilation.w * (g.S - 1) - 1);
  if (Ho < 0 || Wo < 0 || g.Ho != Ho / g.stride.h + 1 || g.Wo != Wo / g.stride.w + 1)
    shape_error("Ho, Wo are not the output size");
  constexpr i64 limit = std::numeric_limits<i32>::max();
  if (g.H * g.W >= limit || g.Ho * g.Wo >= limit || g.N >= limit)
    shape_error("a plane of 2^31 pixels or more, or 2^31 images, is not supported");
}

Conv2dAlgo choose(const Conv2dGeometry& g) {
  if (g.algo != Conv2dAlgo::automatic) return g.algo;
  const i64 Cg = g.C / g.groups, Kg = g.K / g.groups;
  // a GEMM row tile has 6 filters: with fewer than 4 per group most of it is wasted; with one or two
  // input channels per group and few filters, packing im2col costs more than the product it feeds
  if (Kg < 4 || (Cg <= 2 && Kg <= 8)) return Conv2dAlgo::direct;
  // one or two vectors of filters over a shallow depth: broadcasting the inputs beats packing them
  return Kg >= 8 && Kg <= 32 && Cg * g.R * g.S <= 512 ? Conv2dAlgo::lanes : Conv2dAlgo::gemm;
}

namespace {
// The Winograd path (conv2d_winograd.hpp) in place of the GEMM path: float on the
// AVX2 or AVX-512 kernels, at least 32 channels and filters per group. Each pass has its own rule
// below (choose_forward, choose_data, choose_filter), from measurements at 2 threads.
template <class T>
bool winograd_pays(const Conv2dGeometry& g) {
  return std::is_same_v<T, float> && (isa() == Conv2dIsa::avx2 || isa() == Conv2dIsa::avx512) &&
         winograd::applies(g) && g.C / g.groups >= 32 && g.K / g.groups >= 32;
}
}  // namespace

template <class T>
Conv2dAlgo choose_forward(const Conv2dGeometry& g) {
  const Conv2dAlgo a = choose(g);
  if (g.algo != Conv2dAlgo::automatic || a != Conv2dAlgo::gemm) return a;
  // Winograd: on AVX2, 1.4-1.6x the direct and GEMM paths on 3 × 3 layers of 64-256 channels from
  // 14 × 14 to 64 × 64, level at 32 channels; 1.3-2.2x on 5 × 5 layers of 32-128 channels from
  // 14 × 14 to 32 × 32. On AVX-512 (an Intel Xeon with two 512-bit FMA units), 1.3-1.5x the GEMM
  // path on 3 × 3 layers of 32-128 channels from 28 × 28 on, 1.1-2.1x on 5 × 5 layers of 32-128
  // channels from 14 × 14 to 32 × 32, but level or slower on 3 × 3 layers at 14 × 14 (128 and 256
  // channels: 1.03 and 0.97x)
  if (winograd_pays<T>(g) && (isa() == Conv2dIsa::avx2 || g.R == 5 || g.Ho * g.Wo >= 16 * 16))
    return Conv2dAlgo::winograd;
  if (!std::is_same_v<T, float> || isa() == Conv2dIsa::generic) return a;
  const i64 Kg = g.K / g.groups, CRS = g.C / g.groups * g.R * g.S;
  // A strided layer of 3 × 3 taps per phase of the stride through its phases and F(4 × 4, 3 × 3)
  // (winograd::splits_phases; at least 32 × 32 outputs, 32 phase planes and 32 filters per group).
  // On AVX-512 at 2 threads (Zen 5): alexnet_c1 2.6 against 3.8 ms (filter lanes), 11 × 11 at
  // stride 4 with 64 filters 2.3 against 2.8 ms (direct), 5 × 5 at stride 2 over 16 channels,
  // 64 × 64 → 32 × 32, 0.88 against 0.93 ms. Smaller outputs (F(2 × 2, 3 × 3)) or 5 × 5 taps per
  // phase lost: 5 × 5 at stride 2 over 64 channels, 32 × 32 → 16 × 16, 2.4 against 2.1 ms (GEMM);
  // 9 × 9 at stride 2 over 3 channels (F(2 × 2, 5 × 5) over 12 planes), 5.6 against 5.0 ms (lanes)
  if (isa() == Conv2dIsa::avx512 && winograd::splits_phases(g) && ceil_div(g.R, g.stride.h) == 3 && g.Ho >= 32 &&
      g.Wo >= 32 && g.C / g.groups * g.stride.h * g.stride.w >= 32 && Kg >= 32)
    return Conv2dAlgo::winograd;
  // A 3 × 3 layer at stride 2 through F(4 × 4, 3 × 3) at stride 2 (winograd::halves: 81 products
  // per 4 × 4 outputs instead of 144; its blocks of tiles run over the images) from 28 × 28 outputs,
  // 8 images' worth of tiles (392 at 28 × 28) and 64 channels and filters per group, up to 131072
  // filter-channel pairs (the transformed weights, 36 matrices of them, are read by every block of
  // tiles). On AVX-512 at 2 threads (Zen 5, medians of 4-14 alternating with the path before):
  // strided_3x3 (16 images, 64 → 128 channels, 56 × 56 → 28 × 28) 5.34 against 5.85 ms (GEMM); at
  // 28 × 28 outputs 64 → 256 8.1 against 9.6, 8 images of 128 → 256 8.95 against 9.72, 16 of 256 →
  // 256 39.7 against 42.6, 8 of 256 → 512 32.7 against 36.2, 8 of 64 → 64 1.58 against 1.78 (at
  // 32 × 32 outputs, 32 → 64 level with the direct path). Slower: 4 images (64 → 128 1.46 against
  // 1.43, 128 → 128 2.93 against 2.79) or fewer, 262144 pairs (4 images of 512 → 512: 41.5 against
  // 37.3), 14 × 14 outputs even over 32 images (64 → 128 3.95 against 3.71, 128 → 256 12.6
  // against 11.7). The AVX2 kernels on a Zen 4 (not measured on a CPU without AVX-512), best of 30 at
  // 2 threads: strided_3x3 7.7 against 10.2-10.3 ms (GEMM), 8 images of 128 → 256 13.9-14.3 against
  // 18.2-18.3, of 64 → 64 2.25-2.33 against 2.76-2.81
  if ((isa() == Conv2dIsa::avx512 || isa() == Conv2dIsa::avx2) && winograd::halves(g) && g.Ho >= 28 && g.Wo >= 28 &&
      g.N * ceil_div(g.Ho, i64{4}) * ceil_div(g.Wo, i64{4}) >= 392 && g.C / g.groups >= 64 && Kg >= 64 &&
      g.C / g.groups * Kg <= 131072)
    return Conv2dAlgo::winograd;
  // Filter lanes, three blocks of 16 filters per pass over the taps (AVX-512): at 2 threads on
  // strided layers over a depth of 243-512 they beat the direct path (alexnet_c1 7.1 -> 6.0 ms; its
  // 48-filter half 3.7 -> 3.1; 9 × 9 at stride 2 over 3 channels, 96 filters, 19.6 -> 17.1), not at
  // stride 1 (5 × 5 over 16 channels, 96 filters: 4.4 against 3.5 ms) or over depths of 27-147.
  // With 64 filters (a last group of one block, run alone) alexnet_c1's shape was level (4.5 against
  // 4.6 ms), so the rule keeps to whole groups of 48
  if (isa() == Conv2dIsa::avx512 && (g.stride.h > 1 || g.stride.w > 1) && Kg % 48 == 0 && CRS >= 243 && CRS <= 512)
    return Conv2dAlgo::lanes;
  // The direct forward keeps output rows in vectors and runs 6 filters per pass over the taps. At 2
  // threads, AVX-512 (whole rows in vectors of 16): 1.1-1.4x the GEMM path on vgg_3x3,
  // dilated_reflect, alexnet_c1 and replicate_5x5 (Wo = 56, 64, 55, 32); AVX2 (16 columns at a
  // time): 1.3x on replicate_5x5, 1.05-1.2x on alexnet_c1 and dilated_reflect, level on vgg_3x3 and
  // at Wo = 40. With rows of two 16-lane vectors or less, or rows that leave much of their last
  // vector empty, the GEMM path is level or faster (0.9-1.0x at Wo = 28 on AVX-512, 0.85-0.9x at
  // Wo = 24 and 28 on AVX2; 0.5-0.8x at Wo = 7, 17, 33).
  const i64 wv = ceil_div(g.Wo, i64{16}) * 16;
  if (g.Wo >= 32 && 7 * (wv - g.Wo) <= wv && Kg * CRS <= (i64{1} << 18)) return Conv2dAlgo::direct;
  return a;
}
template Conv2dAlgo choose_forward<float>(const Conv2dGeometry&);
template Conv2dAlgo choose_forward<double>(const Conv2dGeometry&);

template <class T>
Conv2dAlgo choose_data(const Conv2dGeometry& g) {
  if (g.algo == Conv2dAlgo::winograd)
    return winograd::applies(g) || winograd::halves_data(g) ? Conv2dAlgo::winograd : Conv2dAlgo::gemm;
  const Conv2dAlgo a = choose(g);
  // With padding other than zeros, through the gradient of the padded input (since then, of at
  // most (r − 1)·dilation, on the input's pixels plus the padded frame). On AVX2 (2 threads)
  // replicate_5x5 6.3 -> 4.6-5.6 ms, dilated_reflect 16.6-19.5 -> 13.4-13.6 ms against the GEMM
  // path. On AVX-512 the transposed form gains 1.05-1.3x on 3 × 3 layers of 32-256 channels and
  // 1.2-1.4x on 5 × 5 ones, the padded input 1.3x at dilation 1 (reflect 1 at 64 × 64,
  // replicate_5x5). On dilated_reflect it was 0.8x (10.2 against 12.4 ms, an Intel Xeon) while the
  // dilated rows were split value by value; with the vector split, 2x (Zen 5, 2 threads: 3.4
  // against 6.9 ms)
  if (g.algo == Conv2dAlgo::automatic && a == Conv2dAlgo::gemm && winograd_pays<T>(g))
    return Conv2dAlgo::winograd;
  // A 3 × 3 layer at stride 2 through the adjoint of F(4 × 4, 3 × 3) at stride 2 (winograd::halves_data:
  // 81 products per 8 × 8 pixels of ∂L/∂x instead of 144) from 32 × 32 inputs, 256 tiles of 8 × 8,
  // 32 channels and 64 filters per group, up to 131072 channel-filter pairs. On AVX-512 at 2 threads
  // (Zen 4, best of 40, two alternating runs each) against the GEMM path: strided_3x3 (16 images,
  // 64 → 128 channels, 56 × 56) 7.0-7.3 against 9.1-9.2 ms, 8 images of 64 → 256 7.2 against 9.0,
  // of 128 → 256 14.1-14.3 against 18.0-18.1, of 256 → 256 28.1-28.2 against 37.0-37.2, of 64 → 64
  // 1.91-1.94 against 2.44-2.45; padding 0 and 2 7.9-8.2 and 7.9-8.2 against 9.2-9.4 and 10.6-10.7;
  // 16 images of 32 × 32, 64 → 64, 1.55-1.59 against 1.72-1.73; of 64 × 64, 32 → 64, 2.99-3.05
  // against 3.20-3.27. Level or slower: 4 images of 56 × 56 (196 tiles: 2.37-2.39 against 2.40),
  // 16 channels (64 × 64, 16 → 32: 1.02 against 0.88), 28 × 28 inputs (32 images of 64 → 128:
  // 5.03-5.04 against 4.87-4.90; 4 of 512 → 512: 23.7-24.6 against 22.4-22.5). With the AVX2
  // kernels (the same host, best of 30): strided_3x3 7.4-7.5 against 9.5 ms, 8 images of 128 → 256
  // 13.7-14.0 against 18.0-18.2, of 64 → 64 2.01-2.03 against 2.55
  if (g.algo == Conv2dAlgo::automatic && a == Conv2dAlgo::gemm && std::is_same_v<T, float> &&
      (isa() == Conv2dIsa::avx512 || isa() == Conv2dIsa::avx2) && winograd::halves_data(g) && g.H >= 32 && g.W >= 32 &&
      g.N * ceil_div(g.H, i64{8}) * ceil_div(g.W, i64{8}) >= 256 && g.C / g.groups >= 32 && g.K / g.groups >= 64 &&
      g.C / g.groups * (g.K / g.groups) <= 131072)
    return Conv2dAlgo::winograd;
  // Filter-lanes shapes (a few filters over a shallow depth) at stride and dilation 1: the image
  // lanes of conv2d_images.cpp on AVX-512 (lenet_c2 on Zen 5, best of 200 in alternating runs:
  // 0.16 -> 0.12 ms at 2 threads, 0.29-0.31 -> 0.22-0.24 at one), else GEMM.
  if (a == Conv2dAlgo::lanes)
    return isa() == Conv2dIsa::avx512 && images::applies(g) ? Conv2dAlgo::lanes : Conv2dAlgo::gemm;
  return a;
}
template Conv2dAlgo choose_data<float>(const Conv2dGeometry&);
template Conv2dAlgo choose_data<double>(const Conv2dGeometry&);

template <class T>
Conv2dAlgo choose_filter(const Conv2dGeometry& g) {
  if (g.algo == Conv2dAlgo::winograd)
    return winograd::applies(g) || winograd::halves_filter(g) ? Conv2dAlgo::winograd : Conv2dAlgo::gemm;
  const Conv2dAlgo a = choose(g);
  // Its partial sums are α²·Cg·Kg values per part: up to 128 × 128 there are 7-8 parts to spread
  // over the threads (256 × 256 at 14 × 14: 3 parts, 5% slower than the GEMM path). The depth of its
  // products is the tiles of one image. On AVX2, 3 × 3 filters gain from 28 × 28 outputs on
  // (0.7-0.8x the GEMM path's time at 128 channels) and lose at 20 × 20 and below (1.1-1.4x at
  // 64-128 channels); 5 × 5 gain at 16 × 16 (0.8x at 32 channels) and lose at 14 × 14 (1.2-1.4x at
  // 64-128). On AVX-512 (the Xeon): 3 × 3 level at 28 × 28 and 64 channels, 0.87x at 128, 0.55-0.8x
  // the GEMM path's time from 32 × 32 on at 32-128 channels; 5 × 5 0.8-0.9x at 16 × 16 and 28 × 28
  const i64 min_outputs = g.R == 3 ? 28 * 28 : 16 * 16;
  if (g.algo == Conv2dAlgo::automatic && a == Conv2dAlgo::gemm && winograd_pays<T>(g) &&
      (g.C / g.groups) * (g.K / g.groups) <= 128 * 128 && g.Ho * g.Wo >= min_outputs)
    return Conv2dAlgo::winograd;
  // A 3 × 3 layer at stride 2 with zero padding through Wino<3, 4, 2> transposed
  // (winograd::halves_filter: 81 products per 4 × 4 outputs instead of 144) on AVX-512 from 28 × 28
  // outputs, 196 tiles (4 images of 7 × 7), 64 channels and 128 filters per group, up to 65536
  // channel-filter pairs (its products take 81·Cg·Kg values per part: 21 MB at 256 × 256). At 2
  // threads (Zen 4, best of 15-30, alternating with the GEMM path): strided_3x3 (16 images, 64 → 128,
  // 56 × 56) 8.3-8.7 against 9.8-9.9 ms; 8 images of 64 → 256 9.1 against 11.1, of 128 → 256 17.2
  // against 21.6, of 256 → 256 33.5 against 46.5; 16 of 256 → 128 37.7-38.4 against 39.1-39.2; 4 of
  // 64 → 128 at 56 × 56 3.1 against 3.2, at 112 × 112 9.6 against 10.7; 29 × 29 and 32 × 32 outputs
  // 9.9-10.0 and 10.9 against 10.5-10.6 and 12.6-12.7; padding 0 and 2 8.0 and 9.8 against 9.3 and
  // 10.7. Slower: 64 and 96 filters (56 × 56: 6.2 against 5.5, 8.4 against 7.9), 32 channels
  // (5.4-5.6 against 5.2-5.3), 14 × 14 outputs (8 images of 128 → 128: 4.1 against 3.6; 16 of
  // 128 → 256: 12.6 against 11.4), 2 images (1.81 against 1.72), and on AVX2 (strided_3x3 11.3
  // against 11.1, 14 × 14 outputs 1.2-1.4x). Faster but left to the GEMM path for the memory: 8
  // images of 512 → 512 at 56 × 56 (151 against 342 ms, 85 MB of products)
  if (g.algo == Conv2dAlgo::automatic && a == Conv2dAlgo::gemm && std::is_same_v<T, float> &&
      isa() == Conv2dIsa::avx512 && winograd::halves_filter(g) && g.Ho >= 28 && g.Wo >= 28 &&
      g.N * ceil_div(g.Ho, i64{4}) * ceil_div(g.Wo, i64{4}) >= 196 && g.C / g.groups >= 64 && g.K / g.groups >= 128 &&
      g.C / g.groups * (g.K / g.groups) <= 65536)
    return Conv2dAlgo::winograd;
  return a;
}
template Conv2dAlgo choose_filter<float>(const Conv2dGeometry&);
template Conv2dAlgo choose_filter<double>(const Conv2dGeometry&);

Setup make_setup(const Conv2dGeometry& g) {
  validate(g);
  Setup s{};
  s.g = g;
  s.G = g.groups;
  s.Cg = g.C / g.groups;
  s.Kg = g.K / g.groups;
  s.RS = g.R * g.S;
  s.CRS = s.Cg * s.RS;
  s.HW = g.H * g.W;
  s.CHW = g.C * s.HW;
  s.P = g.Ho * g.Wo;
  s.Q = (g.Wo - 1) * g.stride.w + (g.S - 1) * g.dilation.w + 1;
  i32* maps = workspace().call_maps.get<i32>(g.Ho * g.R + g.Wo * g.S + s.Q);
  i32* rowmap = maps;
  i32* colmap = rowmap + g.Ho * g.R;
  i32* qmap = colmap + g.Wo * g.S;
  for (i64 oh = 0; oh < g.Ho; ++oh)
    for (i64 r = 0; r < g.R; ++r)
      rowmap[oh * g.R + r] = static_cast<i32>(pad_source(oh * g.stride.h + r * g.dilation.h - g.padding.top, g.H, g.mode));
  for (i64 ow = 0; ow < g.Wo; ++ow)
    for (i64 sx = 0; sx < g.S; ++sx)
      colmap[ow * g.S + sx] = static_cast<i32>(pad_source(ow * g.stride.w + sx * g.dilation.w - g.padding.left, g.W, g.mode));
  for (i64 q = 0; q < s.Q; ++q) qmap[q] = static_cast<i32>(pad_source(q - g.padding.left, g.W, g.mode));
  s.rowmap = rowmap;
  s.colmap = colmap;
  s.qmap = qmap;
  return s;
}

// Below this many flops a parallel region costs more than it saves.
constexpr double parallel_flops = 1.0e6;
// The work of a hand-out of tasks to a thread, at least (see run_tasks).
constexpr double chunk_flops = 2.0e6;

void run_tasks(i64 n, double flops, TaskFn task, const void* ctx) {
  const int threads = omp_get_max_threads();
  if (n <= 1 || threads <= 1 || flops < parallel_flops || omp_get_active_level() >= omp_get_max_active_levels()) {
    for (i64 t = 0; t < n; ++t) task(ctx, t);
    return;
  }
  std::exception_ptr error;  // (a failed workspace allocation) must not leave the region
  // Tasks are handed out `chunk` at a time, about chunk_flops of work (at least one task, at most a
  // quarter of a thread's share): each hand-out is an atomic on a line the threads share. LeNet's
  // layers run one task of about 0.5 MFLOP per image; in chunks of 4, at 2 threads, the forward
  // pass of its first layer took 0.109-0.111 ms against 0.113-0.115 one by one, of its second
  // 0.118-0.120 against 0.120-0.123 (bench_conv's median rows, five alternating runs); the
  // larger layers keep chunks of one.
  const int chunk = static_cast<int>(std::clamp<double>(chunk_flops * static_cast<double>(n) / flops, 1.0,
                                                        static_cast<double>(std::max<i64>(1, n / (4 * threads)))));
#pragma omp parallel for schedule(dynamic, chunk) num_threads(static_cast<int>(std::min<i64>(threads, n)))
  for (i64 t = 0; t < n; ++t) {
    try {
      task(ctx, t);
    } catch (...) {
#pragma omp critical(svertka_conv2d_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

namespace {
template <class T>
struct BiasCtx {
  const Setup* s;
  const T* gy;
  T* gb;
};

// gb[k] += Σ_n Σ_p gy[n, k, p]: per image a sum in 8 lanes, the lanes added in order.
template <class T>
void bias_task(const void* vctx, i64 k) {
  const auto& c = *static_cast<const BiasCtx<T>*>(vctx);
  const Setup& s = *c.s;
  T total{0};
  for (i64 n = 0; n < s.g.N; ++n) {
    const T* row = c.gy + (n * s.g.K + k) * s.P;
    T lanes[8] = {};
    i64 p = 0;
    for (; p + 8 <= s.P; p += 8)
      for (int l = 0; l < 8; ++l) lanes[l] += row[p + l];
    T sum{0};
    for (; p < s.P; ++p) sum += row[p];
    for (int l = 0; l < 8; ++l) sum += lanes[l];
    total += sum;
  }
  c.gb[k] += total;
}
}  // namespace

}  // namespace conv

bool conv2d_isa_supported(Conv2dIsa which) { return conv::cpu_has(which); }

void set_conv2d_isa(Conv2dIsa which) {
  if (!conv::cpu_has(which))
    throw OptionError(fmt::format("set_conv2d_isa: this CPU cannot run the {} kernels",
                                  which == Conv2dIsa::avx512 ? "AVX-512" : "AVX2"));
  conv::chosen.store(which, std::memory_order_relaxed);
}

Conv2dIsa conv2d_isa() { return conv::isa(); }

Conv2dAlgo conv2d_algorithm(const Conv2dGeometry& g) {
  conv::validate(g);
  return conv::choose(g);
}

template <class T>
Conv2dAlgo conv2d_forward_algorithm(const Conv2dGeometry& g) {
  conv::validate(g);
  return conv::choose_forward<T>(g);
}

template <class T>
Conv2dAlgo conv2d_backward_data_algorithm(const Conv2dGeometry& g) {
  conv::validate(g);
  return conv::choose_data<T>(g);
}

template <class T>
Conv2dAlgo conv2d_backward_filter_algorithm(const Conv2dGeometry& g) {
  conv::validate(g);
  return conv::choose_filter<T>(g);
}

template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const conv::Setup s = conv::make_setup(g);
  switch (conv::choose_forward<T>(g)) {
    case Conv2dAlgo::direct: return conv::direct::forward(s, x, w, b, y);
    case Conv2dAlgo::lanes: return conv::lanes::forward(s, x, w, b, y);
    case Conv2dAlgo::winograd: return conv::winograd::forward(s, x, w, b, y);
    default: return conv::gemm::forward(s, x, w, b, y);
  }
}

template <class T>
void conv2d_backward_data(const Conv2dGeometry& g, const T* w, const T* gy, T* gx) {
  const Conv2dAlgo a = conv::choose_data<T>(g);
  if (a == Conv2dAlgo::winograd) return conv::winograd::backward_data(g, w, gy, gx);
  if (a == Conv2dAlgo::lanes) return conv::images::backward_data(g, w, gy, gx);
  const conv::Setup s = conv::make_setup(g);
  if (a == Conv2dAlgo::direct)
    conv::direct::backward_data(s, w, gy, gx);
  else
    conv::gemm::backward_data(s, w, gy, gx);
}

template <class T>
void conv2d_backward_filter(const Conv2dGeometry& g, const T* x, const T* gy, T* gw) {
  const conv::Setup s = conv::make_setup(g);
  switch (conv::choose_filter<T>(g)) {
    case Conv2dAlgo::winograd: return conv::winograd::backward_filter(s, x, gy, gw);
    case Conv2dAlgo::direct: return conv::direct::backward_filter(s, x, gy, gw);
    case Conv2dAlgo::lanes:
      if (conv::lanes::backward_filter(s, x, gy, gw)) return;
      [[fallthrough]];
    default: return conv::gemm::backward_filter(s, x, gy, gw);
  }
}

template <class T>
void conv2d_backward_bias(const Conv2dGeometry& g, const T* gy, T* gb) {
  conv::validate(g);
  conv::Setup s{};
  s.g = g;
  s.P = g.Ho * g.Wo;
  const conv::BiasCtx<T> c{&s, gy, gb};
  conv::run_tasks(g.K, static_cast<double>(g.N * g.K * s.P) * 16.0, &conv::bias_task<T>, &c);
}

#define SVERTKA_CONV2D_INSTANTIATE(T)                                                      \
  template Conv2dAlgo conv2d_forward_algorithm<T>(const Conv2dGeometry&);                   \
  template Conv2dAlgo conv2d_backward_data_algorithm<T>(const Conv2dGeometry&);             \
  template Conv2dAlgo conv2d_backward_filter_algorithm<T>(const Conv2dGeometry&);           \
  template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*); \
  template void conv2d_backward_data<T>(const Conv2dGeometry&, const T*, const T*, T*);     \
  template void conv2d_backward_filter<T>(const Conv2dGeometry&, const T*, const T*, T*);   \
  template void conv2d_backward_bias<T>(const Conv2dGeometry&, const T*, T*);
SVERTKA_CONV2D_INSTANTIATE(float)
SVERTKA_CONV2D_INSTANTIATE(double)

}  // namespace svertka::kernels
