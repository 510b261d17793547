// The Winograd path of the convolution: F(2 × 2, 3 × 3), F(4 × 4, 3 × 3), F(2 × 2, 5 × 5) and
// F(4 × 4, 5 × 5) for 3 × 3 and 5 × 5 filters at stride 1 (any dilation, groups and padding mode),
// for the forward pass, the data gradient (every padding mode, through the gradient of the padded
// input when it is not zeros) and (as F(3 × 3, 2 × 2), F(3 × 3, 4 × 4), F(5 × 5, 2 × 2),
// F(5 × 5, 4 × 4)) the weight gradient; forward, also strided layers of 3 × 3 or 5 × 5 taps per
// phase of the stride (11 × 11 at stride 4) and 3 × 3 filters at stride 2 (F(4 × 4, 3 × 3) at
// stride 2, Wino<3, 4, 2>), whose data gradient with zero padding of 0-2 above and left runs through
// the adjoint transform (Adjoint<F>: 8 × 8 pixels of ∂L/∂x from 5 × 5 values of gY).
//
// Each m × m tile of outputs of an r × r filter is computed from an α × α tile of the padded input,
// α = m + r − 1, with α² products per (filter, channel) instead of m²·r² (16 instead of 36 for
// F(2 × 2, 3 × 3), 36 instead of 144 for F(4 × 4, 3 × 3), 36 instead of 100 for F(2 × 2, 5 × 5),
// 64 instead of 400 for F(4 × 4, 5 × 5); Lavin and Gray's minimal filtering algorithm). A 3 × 3
// layer takes m = 4 when each dilation phase has at least 32 × 32 outputs (48 × 48 for the weight
// gradient), a 5 × 5 layer from 16 × 16 (32 × 32 for the weight gradient, whose products are as
// deep as one image's tiles: at 16 × 16 and 20 × 20 outputs F(5 × 5, 4 × 4) was 20-45% slower than
// F(5 × 5, 2 × 2)); else m = 2:
//
//   Y = Aᵀ [ Σ_c (G w_kc Gᵀ) ⊙ (Bᵀ d_c B) ] A
//
// F(2, 3), interpolation points 0, 1, −1, ∞:
//
//   Bᵀ = | 1  0 −1  0 |    G = | 1    0    0  |    Aᵀ = | 1  1  1  0 |
//        | 0  1  1  0 |        | ½    ½    ½  |         | 0  1 −1 −1 |
//        | 0 −1  1  0 |        | ½   −½    ½  |
//        | 0  1  0 −1 |        | 0    0    1  |
//
// F(2, 5), points 0, 1, −1, 2, −2, ∞ (the Bᵀ of F(4, 3)):
//
//   Bᵀ = | 4  0 −5  0  1  0 |    G = | ¼     0     0     0     0  |    Aᵀ = | 1  1  1  1  1  0 |
//        | 0 −4 −4  1  1  0 |        | −⅙   −⅙    −⅙    −⅙    −⅙  |         | 0  1 −1  2 −2  1 |
//        | 0  4 −4 −1  1  0 |        | −⅙    ⅙    −⅙     ⅙    −⅙  |
//        | 0 −2 −1  2  1  0 |        | 1/24  1/12  ⅙     ⅓     ⅔  |
//        | 0  2 −1 −2  1  0 |        | 1/24 −1/12  ⅙    −⅓     ⅔  |
//        | 0  4  0 −5  0  1 |        | 0     0     0     0     1  |
//
// F(4, 3) has the points of F(2, 5), so its Bᵀ; its G (6 × 3) and Aᵀ (4 × 6, the powers 1, x, x²,
// x³ of the points 0, 1, −1, 2, −2 and 0, 0, 0, 1 for ∞) are in Wino<3, 4> below. F(4, 5) (α = 8,
// the points 0, ±1, ±2, ±½, ∞) is in Wino<5, 4>.
//
// So the sum over channels is α² independent products U_ξ[Kg × Cg] · V_ξ[Cg × tiles], one per
// position ξ of the α × α transformed tile, run by the GEMM path's micro-kernel.
//
// With dilation (dh, dw) the outputs of one phase (oh mod dh, ow mod dw) only read input pixels of
// the same phase, so each phase is a plain r × r convolution on its sub-grid: a tile is the outputs
// (oh0 + i·dh, ow0 + j·dw), i, j ∈ [0, m), and reads the padded input at (oh0 + a·dh, ow0 + b·dw),
// a, b ∈ [0, α).
//
// Task: (image, group, phase, block of about `tile_block` tiles of that phase, a whole number of
// panels but for the phase's last, in row-major tile order); at stride 2 (group, block of 64 tiles
// of all images, Wino<3, 4, 2>), the tiles of an image following the last one's. Per input
// channel, the padded sub-grid rows the block reads are built through the row map and qmap (as in
// the direct path) and split
// m ways by sub-grid column (column q in part q mod m), so that position b of the tiles of one tile
// row is a contiguous run; the input transform runs on vectors of tiles along each tile row, and its α²
// values per tile are copied into the micro-kernel's B panels (tile = column). Then the α²
// products, and the output transform writes y (with the bias), or adds to it, at the tile positions
// inside the output.
//
// The data gradient is this kernel on gY with the filters turned by 180° (backward_data below; at
// stride 2 adjoint_task in conv2d_winograd_adjoint.cpp, the same blocks and products with the
// adjoint transforms); the weight gradient transforms the input tiles the same way (filter_task).
//
// At a stride s without dilation the forward pass runs on the s_h·s_w phases of the padded input as
// channels, with filters of ⌈R / s_h⌉ × ⌈S / s_w⌉ taps (forward_phases in conv2d_winograd.cpp), when
// those are 3 × 3 or 5 × 5. A 3 × 3 filter at stride 2 (2 × 2 taps per phase) runs on the input
// itself instead: a tile of 4 × 4 outputs reads 9 × 9 padded pixels, its tiles 8 apart (the rows split
// 8 ways), and its 81 transformed values are F(4, 2) on the even taps and the odd values as they
// are, in each direction (Wino<3, 4, 2>).
//
// Extra memory: the transformed weights (α² · G · ⌈Kg/mr⌉·mr · Cg values, 36 of the 81 matrices at
// stride 2, whose G has 6 distinct rows) and the list of tile
// blocks, calling thread (and for a data gradient through the padded input, its N·C·Hp·Wp values);
// per task thread the B panels (α² · Cg · tiles), the products (α² · ⌈Kg/mr⌉·mr · tiles), the
// transformed values of one channel and its split rows. Tasks depend on the shape only: results are
// the same for any thread count.
//
// This header holds what the forward pass and data gradient (conv2d_winograd.cpp,
// conv2d_winograd_adjoint.cpp) share with the weight gradient (conv2d_winograd_filter.cpp): the tile
// blocks, the split rows, the transforms and the input transform of a block; what the first two
// alone share (the task context, B panels, products, tile stores and filter transform) is in
// conv2d_winograd_tasks.hpp.

#pragma once

#include "conv2d_avx512.hpp"

// The vector helpers are always inlined into the entries compiled for their instruction set: no vector
// crosses a call, so the ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace svertka::kernels::conv::winograd {

// The distance between the α² planes of a buffer of n values per plane (n a whole number of 64-byte
// panels): n or one panel more, an odd number of cache lines, so that the planes' starts fall into
// as many L1 sets as there are planes (36 planes an even number of 4 KiB apart, or 2 KiB, would
// share 1 or 2 sets).
template <class T>
i64 spread(i64 n) {
  return n / NR<T> % 2 == 0 ? n + NR<T> : n;
}

// One phase's block of tiles: tiles [t0, t1) of the phase's th × tw tile grid.
struct Item {
  i64 ph, pw, hs, ws, th, tw, t0, t1;  // hs × ws: the phase's output sub-grid
};

// 32 bytes of T as a GCC vector (AVX registers in the AVX2 and AVX-512 entries, narrower code in the
// portable one), loaded and stored unaligned.
template <class T>
struct Vec;
template <>
struct Vec<float> {
  typedef float V __attribute__((vector_size(32), aligned(4)));
};
template <>
struct Vec<double> {
  typedef double V __attribute__((vector_size(32), aligned(8)));
};
template <class T>
using V = typename Vec<T>::V;
// The lane indices of V<T>, for permutations and masks.
template <class T>
struct LaneIndex;
template <>
struct LaneIndex<float> {
  using E = std::int32_t;
  typedef E I __attribute__((vector_size(32)));
};
template <>
struct LaneIndex<double> {
  using E = std::int64_t;
  typedef E I __attribute__((vector_size(32)));
};
template <class T>
inline constexpr i64 VL = static_cast<i64>(sizeof(V<T>) / sizeof(T));
template <class T>
SVERTKA_CONV_INLINE V<T> load(const T* p) {
  V<T> v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
template <class T>
SVERTKA_CONV_INLINE void store(T* p, V<T> v) {
  __builtin_memcpy(p, &v, sizeof v);
}

// ev[l], od[l] = (a, b)[2l], (a, b)[2l + 1]: the even and odd values of 2·VL consecutive ones
SVERTKA_CONV_INLINE void deinterleave(V<float> a, V<float> b, V<float>& ev, V<float>& od) {
  ev = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
  od = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
}
SVERTKA_CONV_INLINE void deinterleave(V<double> a, V<double> b, V<double>& ev, V<double>& od) {
  ev = __builtin_shufflevector(a, b, 0, 2, 4, 6);
  od = __builtin_shufflevector(a, b, 1, 3, 5, 7);
}
// ph[k][l] = value E·l + k of the E·VL consecutive values in v[0 .. E) (E = 2, 4 or 8): split E ways
// as pairs, then each half split E / 2 ways (phase k of the even values is phase 2k of the whole).
template <int E, class T>
SVERTKA_CONV_INLINE void deinterleave(const V<T>* v, V<T>* ph) {
  if constexpr (E == 1) {
    ph[0] = v[0];
  } else {
    V<T> ev[E / 2], od[E / 2], pe[E / 2], po[E / 2];
#pragma GCC unroll 4
    for (int i = 0; i < E / 2; ++i) deinterleave(v[2 * i], v[2 * i + 1], ev[i], od[i]);
    deinterleave<E / 2, T>(ev, pe);
    deinterleave<E / 2, T>(od, po);
#pragma GCC unroll 4
    for (int k = 0; k < E / 2; ++k) ph[2 * k] = pe[k], ph[2 * k + 1] = po[k];
  }
}

// The vector part of split (row already at column pw, n columns from there, E = M·dw): whole vectors
// of m below cap while their E·VL values lie in the row, E loads split E ways; returns the m it
// reached.
template <int M, int E, class T>
SVERTKA_CONV_INLINE i64 split_vectors(const T* row, i64 n, i64 cap, i64 stride, T* dst) {
  if constexpr (E < M) return 0;  // no such dilation
  constexpr i64 vl = VL<T>;
  constexpr int dw = E / M;
  const i64 mv = std::min(cap, n / E) / vl * vl;
  for (i64 m = 0; m < mv; m += vl) {
    V<T> v[E], ph[E];
#pragma GCC unroll 8
    for (int k = 0; k < E; ++k) v[k] = load(row + (m * E + k * vl));
    deinterleave<E, T>(v, ph);
#pragma GCC unroll 4
    for (int q = 0; q < M; ++q) store(dst + q * stride + m, ph[q * dw]);
  }
  return mv;
}

// dst[0 .. M·len): the sub-grid columns pw + m·dw of `row` split by m mod M, column m in
// dst[(m mod M)·len + m / M], zero at or past column `n` (for M = 2: even m in dst[0 .. len), odd m
// in dst[len .. 2·len)). With nb > n, the row's columns up to nb may be read (zero from n on) and
// only the groups of M columns up to the last one holding a column of the row are split (as whole
// vectors where nb allows), the groups past it zeroed: at stride 2 the tiles of 28 columns split 8
// ways fill one vector of groups, and len is two. With `stride`, the parts lie that far apart
// (dst[(m mod M)·stride + m / M]) instead of len.
template <int M, class T>
SVERTKA_CONV_INLINE void split(const T* row, i64 n, i64 pw, i64 dw, i64 len, T* dst, i64 nb = 0, i64 stride = 0) {
  constexpr i64 vl = VL<T>;
  if (stride == 0) stride = len;
  const bool cut = nb > n;
  nb = std::max(n, nb);
  row += pw;
  const i64 e = M * dw;
  // groups m < md are split (when cut: those holding a column of the row); m < inside: all M
  // columns in the row, (M·m + M − 1)·dw ≤ last
  const i64 md = cut ? std::clamp<i64>(ceil_div(n - pw, e), 0, len) : len, cap = std::min(len, round_up(md, vl));
  const i64 last = (n - 1 - pw) / dw, inside = std::min(len, n - 1 - pw >= (M - 1) * dw ? (last - (M - 1)) / M + 1 : 0);
  const i64 m0 = e == 2 ? split_vectors<M, 2>(row, nb - pw, cap, stride, dst)
                 : e == 4 ? split_vectors<M, 4>(row, nb - pw, cap, stride, dst)
                 : e == 8 ? split_vectors<M, 8>(row, nb - pw, cap, stride, dst)
                          : 0;
  if (dw == 1) {
    for (i64 m = m0; m < inside; ++m)
#pragma GCC unroll 4
      for (int q = 0; q < M; ++q) dst[q * stride + m] = row[M * m + q];
  } else {
    for (i64 m = m0; m < inside; ++m)
#pragma GCC unroll 4
      for (int q = 0; q < M; ++q) dst[q * stride + m] = row[(M * m + q) * dw];
  }
  for (i64 m = std::max(m0, inside); m < md; ++m)
#pragma GCC unroll 4
    for (int q = 0; q < M; ++q) {
      const i64 qq = (M * m + q) * dw;
      dst[q * stride + m] = pw + qq < n ? row[qq] : T(0);
    }
  // (zeros by vector where whole vectors fit: a fill per part was a memset call each)
  i64 m = std::max(m0, md);
  for (; m < len && m % vl != 0; ++m)
#pragma GCC unroll 4
    for (int q = 0; q < M; ++q) dst[q * stride + m] = T(0);
  for (; m + vl <= len; m += vl)
#pragma GCC unroll 4
    for (int q = 0; q < M; ++q) store(dst + q * stride + m, V<T>{});
  for (; m < len; ++m)
#pragma GCC unroll 4
    for (int q = 0; q < M; ++q) dst[q * stride + m] = T(0);
}

// src[c + l] in lane l, zero where c + l lies outside [0, n): one load and a permutation of lanes
// when the row holds a whole vector.
template <class T>
SVERTKA_CONV_INLINE V<T> row_vector(const T* src, i64 c, i64 n) {
  constexpr i64 vl = VL<T>;
  if (c >= 0 && c + vl <= n) return load(src + c);
  if (c >= n || c + vl <= 0) return V<T>{};
  using I = typename LaneIndex<T>::I;
  I iota;
#pragma GCC unroll 8
  for (int l = 0; l < vl; ++l) iota[l] = l;
  if (n < vl) {
    V<T> r{};
    for (i64 l = std::max<i64>(0, -c); l < vl && c + l < n; ++l) r[l] = src[c + l];
    return r;
  }
  const i64 base = std::clamp<i64>(c, 0, n - vl);
  const I pos = iota + static_cast<typename LaneIndex<T>::E>(c);
  const V<T> r = __builtin_shuffle(load(src + base), iota + static_cast<typename LaneIndex<T>::E>(c - base));
  return pos >= 0 && pos < static_cast<typename LaneIndex<T>::E>(n) ? r : V<T>{};
}

// The padded sub-grid row of plane `x` at padded row qh, phase column pw (split as above; zero
// outside the padded input), built in `pad` with zeros past Q up to the last column read (M·len·dw
// + pw values or Q), so that every column of the split is read without a bound check. The same row
// of plane `next` (when not null) is prefetched.
template <int M, class T>
SVERTKA_CONV_INLINE void split_row(const Setup& s, const T* x, const T* next, i64 qh, i64 pw, i64 len, T* pad,
                                   T* dst) {
  const auto& g = s.g;
  const i64 qh_end = (g.Ho - 1) * g.stride.h + (g.R - 1) * g.dilation.h + 1;
  const i64 ih = qh < qh_end ? pad_source(qh - g.padding.top, g.H, g.mode) : -1;
  if (ih < 0) {
    std::fill_n(dst, M * len, T(0));
    return;
  }
  if (next) prefetch_span(next + ih * g.W, 0, g.W);
  if constexpr (M == 8) {
    if (g.mode == PadMode::zeros && g.dilation.w == 1) {
      // zero padding at stride 2: the parts split in registers from the row's own vectors (the
      // padded copy took a memmove a row, and the split's loads from it waited on its stores)
      constexpr i64 vl = VL<T>;
      const T* src = x + ih * g.W;
      const i64 c0 = pw - g.padding.left, n = std::min(g.W, s.Q - g.padding.left);
      for (i64 u0 = 0; u0 < len; u0 += vl) {
        V<T> v[8], ph[8];
        if (c0 + 8 * u0 >= n) {
#pragma GCC unroll 8
          for (int e = 0; e < 8; ++e) store(dst + e * len + u0, V<T>{});
          continue;
        }
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) v[k] = row_vector(src, c0 + 8 * u0 + k * vl, n);
        deinterleave<8, T>(v, ph);
#pragma GCC unroll 8
        for (int e = 0; e < 8; ++e) store(dst + e * len + u0, ph[e]);
      }
      return;
    }
  }
  pad_row(s, x + ih * g.W, pad);
  const i64 n = std::max(s.Q, M * len * g.dilation.w + pw);
  std::fill(pad + s.Q, pad + n, T(0));
  // Split 8 ways (stride 2), the groups past the row's columns are zeroed instead of split: 28
  // outputs a row are 57 padded columns, one vector of groups in two (strided_3x3's forward 2-7%
  // faster at one thread, alternating runs); at stride 1 the same made vgg_3x3's 3-4% slower
  if constexpr (M == 8)
    split<M>(pad, s.Q, pw, g.dilation.w, len, dst, n);
  else
    split<M>(pad, n, pw, g.dilation.w, len, dst);
}

// The one-dimensional transforms of F(m, r), on scalars or vectors U: Bᵀ d (α = m + r − 1 values),
// Aᵀ m (α → m), A g (m → α, the weight gradient's transform of ∂L/∂y), and the filter transform's
// G.
template <int R, int M, int SD = 1>
struct Wino;
template <>
struct Wino<3, 2> {
  static constexpr int a = 4;
  static constexpr double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  template <class U>
  SVERTKA_CONV_INLINE static void bt(const U* d, U* t) {
    t[0] = d[0] - d[2], t[1] = d[1] + d[2], t[2] = d[2] - d[1], t[3] = d[1] - d[3];
  }
  template <class U>
  SVERTKA_CONV_INLINE static void at(const U* m, U* y) {
    y[0] = m[0] + m[1] + m[2], y[1] = m[1] - m[2] - m[3];
  }
  template <class U>
  SVERTKA_CONV_INLINE static void ag(const U* g, U* h) {
    h[0] = g[0], h[1] = g[0] + g[1], h[2] = g[0] - g[1], h[3] = -g[1];
  }
};
template <>
struct Wino<5, 2> {
  static constexpr int a = 6;
  static constexpr double G[6][5] = {{0.25, 0, 0, 0, 0},
                                     {-1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6},
                                     {1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3},
                                     {0, 0, 0, 0, 1}};
  template <class U>
  SVERTKA_CONV_INLINE static void bt(const U* d, U* t) {
    const U p = d[4] - 4 * d[2], q = d[3] - 4 * d[1], r = d[4] - d[2], u = 2 * (d[3] - d[1]);
    t[0] = 4 * (d[0] - d[2]) + r, t[1] = p + q, t[2] = p - q, t[3] = r + u, t[4] = r - u;
    t[5] = 4 * (d[1] - d[3]) + (d[5] - d[3]);
  }
  template <class U>
  SVERTKA_CONV_INLINE static void at(const U* m, U* y) {
    y[0] = m[0] + m[1] + m[2] + m[3] + m[4], y[1] = (m[1] - m[2]) + 2 * (m[3] - m[4]) + m[5];
  }
  template <class U>
  SVERTKA_CONV_INLINE static void ag(const U* g, U* h) {
    const U g2 = 2 * g[1];
    h[0] = g[0], h[1] = g[0] + g[1], h[2] = g[0] - g[1], h[3] = g[0] + g2, h[4] = g[0] - g2, h[5] = g[1];
  }
};
// F(4, 3): the points of F(2, 5), so the same Bᵀ; Aᵀ has the rows 1, x, x², x³ of each point (∞:
// the last output's)
template <>
struct Wino<3, 4> {
  static constexpr int a = 6;
  static constexpr double G[6][3] = {{0.25, 0, 0},
                                     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                     {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                     {0, 0, 1}};
  template <class U>
  SVERTKA_CONV_INLINE static void bt(const U* d, U* t) {
    Wino<5, 2>::bt(d, t);
  }
  template <class U>
  SVERTKA_CONV_INLINE static void at(const U* m, U* y) {
    const U p = m[1] + m[2], q = m[1] - m[2], r = m[3] + m[4], u = m[3] - m[4];
    y[0] = m[0] + p + r, y[1] = q + 2 * u, y[2] = p + 4 * r, y[3] = q + 8 * u + m[5];
  }
  template <class U>
  SVERTKA_CONV_INLINE static void ag(const U* g, U* h) {
    const U e = g[0] + g[2], o = g[1] + g[3], e4 = g[0] + 4 * g[2], o8 = 2 * g[1] + 8 * g[3];
    h[0] = g[0], h[1] = e + o, h[2] = e - o, h[3] = e4 + o8, h[4] = e4 - o8, h[5] = g[3];
  }
};
// F(4, 5): α = 8, the points 0, ±1, ±2, ±1/2 and ∞ (in float about as accurate as F(2, 5) and
// F(4, 3), where ±3 in place of ±1/2 lost two digits); rows 0 of Bᵀ and G negated from the
// construction's, so that G's first row is (1, 0, 0, 0, 0). The constants of Bᵀ and Aᵀ are exact in
// float; A g is F(4, 3)'s at 0, ±1, ±2 and ∞ (its last row here) plus the rows of ±1/2.
template <>
struct Wino<5, 4> {
  static constexpr int a = 8;
  static constexpr double G[8][5] = {{1, 0, 0, 0, 0},
                                     {-2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9},
                                     {-2.0 / 9, 2.0 / 9, -2.0 / 9, 2.0 / 9, -2.0 / 9},
                                     {1.0 / 90, 1.0 / 45, 2.0 / 45, 4.0 / 45, 8.0 / 45},
                                     {1.0 / 90, -1.0 / 45, 2.0 / 45, -4.0 / 45, 8.0 / 45},
                                     {32.0 / 45, 16.0 / 45, 8.0 / 45, 4.0 / 45, 2.0 / 45},
                                     {32.0 / 45, -16.0 / 45, 8.0 / 45, -4.0 / 45, 2.0 / 45},
                                     {0, 0, 0, 0, 1}};
  template <class U>
  SVERTKA_CONV_INLINE static void bt(const U* d, U* t) {
    t[0] = (d[0] - d[6]) + 5.25f * (d[4] - d[2]), t[7] = (d[7] - d[1]) + 5.25f * (d[3] - d[5]);
    U p = d[2] + d[6] - 4.25f * d[4], q = d[1] + d[5] - 4.25f * d[3];
    t[1] = p + q, t[2] = p - q;
    p = 0.25f * d[2] - 1.25f * d[4] + d[6], q = 0.5f * d[1] - 2.5f * d[3] + 2 * d[5];
    t[3] = p + q, t[4] = p - q;
    p = 4 * d[2] - 5 * d[4] + d[6], q = 2 * d[1] - 2.5f * d[3] + 0.5f * d[5];
    t[5] = p + q, t[6] = p - q;
  }
  template <class U>
  SVERTKA_CONV_INLINE static void at(const U* m, U* y) {
    const U a1 = m[1] + m[2], s1 = m[1] - m[2], a2 = m[3] + m[4], s2 = m[3] - m[4], a3 = m[5] + m[6], s3 = m[5] - m[6];
    y[0] = m[0] + a1 + a2 + a3, y[1] = s1 + 2 * s2 + 0.5f * s3, y[2] = a1 + 4 * a2 + 0.25f * a3;
    y[3] = s1 + 8 * s2 + 0.125f * s3 + m[7];
  }
  template <class U>
  SVERTKA_CONV_INLINE static void ag(const U* g, U* h) {
    Wino<3, 4>::ag(g, h);
    const U eq = g[0] + 0.25f * g[2], oq = 0.5f * g[1] + 0.125f * g[3];
    h[5] = eq + oq, h[6] = eq - oq, h[7] = g[3];
  }
};

// F(4, 3) at stride 2, α = 9: output i reads d[2i], d[2i + 1], d[2i + 2], so the even taps (w0, w2)
// are F(4, 2) on the even values e = (d0, d2, d4, d6, d8) and the odd tap w1 a product with each odd
// value (d1, d3, d5, d7): 9 products for 4 outputs instead of 12 (81 instead of 144 per 4 × 4 outputs
// in two dimensions). F(4, 2) at the points 0, 1, −1, 2 and ∞:
//
//   Bᵀ = | 2 −1 −2  1  0 |    G = | ½   0  |    Aᵀ = | 1  1  1  1  0 |
//        | 0  2  1 −1  0 |        | ½   ½  |         | 0  1 −1  2  0 |
//        | 0 −2  3 −1  0 |        | ⅙  −⅙  |         | 0  1  1  4  0 |
//        | 0 −1  0  1  0 |        | ⅙   ⅓  |         | 0  1 −1  8  1 |
//        | 0  2 −1 −2  1 |        | 0   1  |
//
// Transformed values 0-4 are F(4, 2)'s, 5-8 the odd values (G: w1; Aᵀ: the identity). A tile's 9
// input columns start 8 apart, so the rows are split 8 ways (E = M·SD in the code).
template <>
struct Wino<3, 4, 2> {
  static constexpr int a = 9, distinct = 6;  // G's rows 5-8 are one (w1)
  static constexpr double G[9][3] = {{0.5, 0, 0}, {0.5, 0, 0.5}, {1.0 / 6, 0, -1.0 / 6}, {1.0 / 6, 0, 1.0 / 3},
                                     {0, 0, 1},   {0, 1, 0},     {0, 1, 0},              {0, 1, 0},
                                     {0, 1, 0}};
  template <class U>
  SVERTKA_CONV_INLINE static void bt(const U* d, U* t) {
    const U e[5] = {d[0], d[2], d[4], d[6], d[8]};
    even_bt(e, t);
    t[5] = d[1], t[6] = d[3], t[7] = d[5], t[8] = d[7];
  }
  template <class U>
  SVERTKA_CONV_INLINE static void at(const U* m, U* y) {
    even_at(m, y);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) y[j] = y[j] + m[5 + j];
  }
  // A = (Aᵀ)ᵀ on the 4 values g of a tile of ∂L/∂y in one direction (the weight gradient's
  // transform, conv2d_winograd_halves_filter.cpp): F(4, 2)'s A g, then g itself for the odd values
  template <class U>
  SVERTKA_CONV_INLINE static void ag(const U* g, U* h) {
    const U e = g[0] + g[2], o = g[1] + g[3];
    h[0] = g[0], h[1] = e + o, h[2] = e - o, h[3] = g[0] + 2 * g[1] + 4 * g[2] + 8 * g[3], h[4] = g[3];
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) h[5 + j] = g[j];
  }
  // F(4, 2)'s Bᵀ (5 values e → t[0 .. 5)) and Aᵀ (m[0 .. 5) → 4 values)
  template <class U>
  SVERTKA_CONV_INLINE static void even_bt(const U* e, U* t) {
    const U p = e[3] - e[1];
    t[0] = 2 * (e[0] - e[2]) + p, t[1] = 2 * e[1] + e[2] - e[3], t[2] = 3 * e[2] - 2 * e[1] - e[3], t[3] = p;
    t[4] = 2 * (e[1] - e[3]) - e[2] + e[4];
  }
  template <class U>
  SVERTKA_CONV_INLINE static void even_at(const U* m, U* y) {
    const U p = m[1] + m[2], q = m[1] - m[2];
    y[0] = m[0] + p + m[3], y[1] = q + 2 * m[3], y[2] = p + 4 * m[3], y[3] = q + 8 * m[3] + m[4];
  }
};

// The data gradient of a 3 × 3 filter at stride 2 in one direction: the padded input's pixel 2i
// gets gY[i]·w0 + gY[i − 1]·w2 and pixel 2i + 1 gets gY[i]·w1. A tile of 8 pixels from padded pixel
// q0 reads the 5 values d of gY from ⌊(q0 − 1) / 2⌋: its 4 even pixels are F(4, 2) on d with the
// filter (w2, w0) (Wino<3, 4, 2>'s even part, the filter turned by 180°), its 4 odd pixels
// d[j + 1 − F]·w1, F = q0 mod 2 (F = 1: the tile starts at an odd pixel). So 9 transformed values
// again, the same G on the turned filter, and 81 products per 8 × 8 pixels instead of 144.
template <int F>
struct Adjoint {
  static constexpr int a = 9;
  template <class U>
  SVERTKA_CONV_INLINE static void bt(const U* d, U* t) {
    Wino<3, 4, 2>::even_bt(d, t);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) t[5 + j] = d[j + 1 - F];
  }
  // m[0 .. 9) → the tile's 8 pixels in order
  template <class U>
  SVERTKA_CONV_INLINE static void at(const U* m, U* y) {
    U e[4];
    Wino<3, 4, 2>::even_at(m, e);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) y[2 * j + F] = e[j], y[2 * j + 1 - F] = m[5 + j];
  }
};

// Bᵀ d B of VL tiles of one tile row from tile j, whose α padded sub-grid rows rows[a] are split
// M ways by column (split<M>, `len` values each): value ξ of tile j + l goes to dst[ξ·ds + l].
template <int R, int M, class T, int SD = 1>
SVERTKA_CONV_INLINE void input_tiles(const T* const* rows, i64 len, i64 j, T* dst, i64 ds) {
  using W = Wino<R, M, SD>;
  constexpr int A = W::a, E = M * SD;
  V<T> t[A][A];
#pragma GCC unroll 8
  for (int a = 0; a < A; ++a) {
    V<T> d[A];
#pragma GCC unroll 8
    for (int b = 0; b < A; ++b) d[b] = load(rows[a] + (b % E) * len + j + b / E);
    W::bt(d, t[a]);
  }
#pragma GCC unroll 8
  for (int b = 0; b < A; ++b) {
    V<T> col[A], out[A];
#pragma GCC unroll 8
    for (int a = 0; a < A; ++a) col[a] = t[a][b];
    W::bt(col, out);
#pragma GCC unroll 8
    for (int a = 0; a < A; ++a) store(dst + (a * A + b) * ds, out[a]);
  }
}

// The input transform of the tiles of `it` in plane x: value ξ of the block's tile column col goes
// to dst[ξ·ds + col] (whole vectors of tiles along each tile row: up to vl − 1 values past a row's
// last tile are written too, and overwritten by the next row or left past the block). `split` holds
// the block's M·(tile rows) + α − M split rows of M·len values; `pad` one padded row. The rows it
// reads of plane `next` (the next channel's, or null) are prefetched: the first read of each input
// row was about a seventh of vgg_3x3's forward pass at one thread, waiting on memory.
template <int R, int M, class T, int SD = 1>
SVERTKA_CONV_INLINE void transform_plane(const Setup& s, const Item& it, const T* x, const T* next, i64 len, T* split,
                                         T* pad, T* dst, i64 ds) {
  constexpr i64 vl = VL<T>;
  constexpr int A = Wino<R, M, SD>::a, E = M * SD;
  const i64 th0 = it.t0 / it.tw, th1 = (it.t1 - 1) / it.tw + 1, nrows = E * (th1 - th0) + A - E;
  for (i64 u = 0; u < nrows; ++u)
    split_row<E>(s, x, next, it.ph + (E * th0 + u) * s.g.dilation.h, it.pw, len, pad, split + u * E * len);
  for (i64 th = th0; th < th1; ++th) {
    const i64 a0 = std::max(it.t0, th * it.tw), a1 = std::min(it.t1, (th + 1) * it.tw);
    const T* rows[A];
    for (int a = 0; a < A; ++a) rows[a] = split + (E * (th - th0) + a) * E * len;
    for (i64 j = a0 - th * it.tw, col = a0 - it.t0; j < a1 - th * it.tw; j += vl, col += vl)
      input_tiles<R, M, T, SD>(rows, len, j, dst + col, ds);
  }
}

// The blocks of about `block` tiles of m × m outputs of every phase of g's output, in order, into
// `out` (when not null); returns their count. Every block but a phase's last is a multiple of
// `unit` tiles (a whole number of the micro-kernel's panels). With `images` (one phase), the blocks
// run over that many images' tiles, image n's tile t numbered n·(th·tw) + t.
inline i64 make_items(const Conv2dGeometry& g, i64 m, i64 block, i64 unit, Item* out, i64 images = 0) {
  i64 count = 0;
  for (i64 ph = 0; ph < std::min(g.dilation.h, g.Ho); ++ph)
    for (i64 pw = 0; pw < std::min(g.dilation.w, g.Wo); ++pw) {
      const i64 hs = ceil_div(g.Ho - ph, g.dilation.h), ws = ceil_div(g.Wo - pw, g.dilation.w);
      const i64 th = ceil_div(hs, m), tw = ceil_div(ws, m), tiles = th * tw * std::max<i64>(images, 1);
      const i64 size = round_up(ceil_div(tiles, ceil_div(tiles, block)), unit), nb = ceil_div(tiles, size);
      for (i64 bi = 0; bi < nb; ++bi, ++count)
        if (out) out[count] = {ph, pw, hs, ws, th, tw, bi * size, std::min(tiles, (bi + 1) * size)};
    }
  return count;
}

// Throws OptionError unless g is a 3 × 3 or 5 × 5 convolution at stride 1.
void check_applies(const Conv2dGeometry& g);

// gw += the weight gradient of a 3 × 3 layer at stride 2 with zero padding (halves_filter) through
// Wino<3, 4, 2> transposed (conv2d_winograd_halves_filter.cpp).
template <class T>
void backward_filter_halves(const Conv2dGeometry& g, const T* x, const T* gy, T* gw);

// Whether a layer has outputs of at least side × side per dilation phase (the forward pass and data
// gradient run F(4 × 4, 3 × 3) from 32 and F(4 × 4, 5 × 5) from 16, the weight gradient F(3 × 3,
// 4 × 4) from 48 and F(5 × 5, 4 × 4) from 32; smaller layers m = 2).
bool large_tiles(const Conv2dGeometry& g, i64 side);

// The entries of a task `name##_task<R, M, Isa, T>` for F(2, 3), F(4, 3), F(2, 5) and F(4, 5)
// (name##23_task, name##43_task, name##25_task, name##45_task, each for every instruction set, see SVERTKA_CONV_ENTRIES) and
// pick_##name##_task<R, M, T>(), the one for r, m and isa().
#define SVERTKA_WINOGRAD_ENTRIES(name)                                                                  \
  template <class Isa, class T>                                                                         \
  SVERTKA_CONV_INLINE void name##23_task(const void* c, i64 t) {                                        \
    name##_task<3, 2, Isa, T>(c, t);                                                                    \
  }                                                                                                     \
  template <class Isa, class T>                                                                         \
  SVERTKA_CONV_INLINE void name##43_task(const void* c, i64 t) {                                        \
    name##_task<3, 4, Isa, T>(c, t);                                                                    \
  }                                                                                                     \
  template <class Isa, class T>                                                                         \
  SVERTKA_CONV_INLINE void name##25_task(const void* c, i64 t) {                                        \
    name##_task<5, 2, Isa, T>(c, t);                                                                    \
  }                                                                                                     \
  template <class Isa, class T>                                                                         \
  SVERTKA_CONV_INLINE void name##45_task(const void* c, i64 t) {                                        \
    name##_task<5, 4, Isa, T>(c, t);                                                                    \
  }                                                                                                     \
  SVERTKA_CONV_ENTRIES(name##23_task)                                                                   \
  SVERTKA_CONV_ENTRIES(name##43_task)                                                                   \
  SVERTKA_CONV_ENTRIES(name##25_task)                                                                   \
  SVERTKA_CONV_ENTRIES(name##45_task)                                                                   \
  template <int R, int M, class T>                                                                      \
  Kernel pick_##name##_task() {                                                                         \
    return R == 5 ? (M == 4 ? pick_##name##45_task<T>() : pick_##name##25_task<T>()) : M == 4 ? pick_##name##43_task<T>() : pick_##name##23_task<T>(); \
  }

}  // namespace svertka::kernels::conv::winograd
