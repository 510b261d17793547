// The Winograd path of the convolution: F(2 × 2, 3 × 3) and F(2 × 2, 5 × 5) for 3 × 3 and 5 × 5
// filters at stride 1 (any dilation, groups and padding mode), for the forward pass, the data
// gradient (every padding mode, through the gradient of the padded input when it is not zeros) and
// (as F(3 × 3, 2 × 2), F(5 × 5, 2 × 2)) the weight gradient.
//
// Each 2 × 2 tile of outputs of an r × r filter is computed from an α × α tile of the padded input,
// α = r + 1, with α² products per (filter, channel) instead of 4·r² (16 instead of 36 for 3 × 3, 36
// instead of 100 for 5 × 5; Lavin and Gray's minimal filtering algorithm):
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
// so the sum over channels is α² independent products U_ξ[Kg × Cg] · V_ξ[Cg × tiles], one per
// position ξ of the α × α transformed tile, run by the GEMM path's micro-kernel.
//
// With dilation (dh, dw) the outputs of one phase (oh mod dh, ow mod dw) only read input pixels of
// the same phase, so each phase is a plain r × r convolution on its sub-grid: a tile is the outputs
// (oh0 + i·dh, ow0 + j·dw), i, j ∈ {0, 1}, and reads the padded input at (oh0 + a·dh, ow0 + b·dw),
// a, b ∈ [0, α).
//
// Task: (image, group, phase, block of about `tile_block` tiles of that phase, a whole number of
// panels but for the phase's last, in row-major tile order). Per input channel, the padded sub-grid
// rows the block reads are built through the row map and qmap (as in the direct path) and split
// into even and odd sub-grid columns, so that position b of the tiles of one tile row is a
// contiguous run; the input transform runs on vectors of tiles along each tile row, and its α²
// values per tile are copied into the micro-kernel's B panels (tile = column). Then the α²
// products, and the output transform writes y (with the bias), or adds to it, at the tile positions
// inside the output.
//
// The data gradient is this kernel on gY with the filters turned by 180° (backward_data below); the
// weight gradient transforms the input tiles the same way (filter_task).
//
// Extra memory: the transformed weights (α² · G · ⌈Kg/mr⌉·mr · Cg values) and the list of tile
// blocks, calling thread (and for a data gradient through the padded input, its N·C·Hp·Wp values);
// per task thread the B panels (α² · Cg · tiles), the products (α² · ⌈Kg/mr⌉·mr · tiles), the
// transformed values of one channel and its split rows. Tasks depend on the shape only: results are
// the same for any thread count.

#include <fmt/format.h>

#include "conv2d_avx512.hpp"
#include "svertka/core/error.hpp"
#include "svertka/kernels/pad2d.hpp"

// The vector helpers are always inlined into the entries compiled for their instruction set: no vector
// crosses a call, so the ABI note does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace svertka::kernels::conv::winograd {
namespace {

constexpr i64 tile_block = 48;            // tiles per task: B panels and products of α² positions in L2
constexpr i64 depth_max = 256;            // channels per micro-kernel call (the GEMM path's depth chunk)
constexpr i64 filter_block = 256;         // tiles per block of the weight gradient (its products' depth)
constexpr i64 max_parts = 8;              // the weight gradient's partial sums: at most 8,
constexpr i64 part_elems = i64{1} << 22;  // of at most 4 Mi values in all

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

template <class T>
struct Ctx {
  const Setup* s;
  const Item* items;
  i64 ni;  // items
  const T *x, *u, *b;  // u: transformed weights [group][ξ][tile of mr filters][Cg][mr]
  T* y;
  i64 tiles, kc;    // filter tiles of mr per group; depth chunk
  bool accumulate;  // y += the result (the data gradient) instead of y = it
};

// dst[0 .. 2·len): the sub-grid columns pw + m·dw of `row`, even m in dst[0 .. len), odd m in
// dst[len .. 2·len), zero at or past column `n`.
template <class T>
SVERTKA_CONV_INLINE void split(const T* row, i64 n, i64 pw, i64 dw, i64 len, T* dst) {
  row += pw;
  // m < inside: both columns in the row, (2m + 1)·dw ≤ last = n − 1 − pw
  const i64 last = (n - 1 - pw) / dw, inside = std::min(len, n - 1 - pw >= dw ? (last - 1) / 2 + 1 : 0);
  if (dw == 1) {
    for (i64 m = 0; m < inside; ++m) dst[m] = row[2 * m], dst[len + m] = row[2 * m + 1];
  } else {
    for (i64 m = 0; m < inside; ++m) dst[m] = row[2 * m * dw], dst[len + m] = row[(2 * m + 1) * dw];
  }
  for (i64 m = inside; m < len; ++m) {
    const i64 q0 = 2 * m * dw, q1 = q0 + dw;
    dst[m] = pw + q0 < n ? row[q0] : T(0);
    dst[len + m] = pw + q1 < n ? row[q1] : T(0);
  }
}

// The padded sub-grid row of plane `x` at padded row qh, phase column pw (split as above; zero
// outside the padded input), built in `pad` with zeros past Q up to the last column read (2·len·dw
// + pw values or Q), so that every column of the split is read without a bound check.
template <class T>
SVERTKA_CONV_INLINE void split_row(const Setup& s, const T* x, i64 qh, i64 pw, i64 len, T* pad, T* dst) {
  const auto& g = s.g;
  const i64 qh_end = g.Ho + (g.R - 1) * g.dilation.h;
  const i64 ih = qh < qh_end ? pad_source(qh - g.padding.top, g.H, g.mode) : -1;
  if (ih < 0) {
    std::fill_n(dst, 2 * len, T(0));
    return;
  }
  pad_row(s, x + ih * g.W, pad);
  const i64 n = std::max(s.Q, 2 * len * g.dilation.w + pw);
  std::fill(pad + s.Q, pad + n, T(0));
  split(pad, n, pw, g.dilation.w, len, dst);
}

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

// The one-dimensional transforms of F(2, r), on scalars or vectors U: Bᵀ d (α values), Aᵀ m (α →
// 2) and A g (2 → α, the weight gradient's transform of ∂L/∂y), and the filter transform's G.
template <int R>
struct Wino;
template <>
struct Wino<3> {
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
  SVERTKA_CONV_INLINE static void ag(U g0, U g1, U* h) {
    h[0] = g0, h[1] = g0 + g1, h[2] = g0 - g1, h[3] = -g1;
  }
};
template <>
struct Wino<5> {
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
  SVERTKA_CONV_INLINE static void ag(U g0, U g1, U* h) {
    const U g2 = 2 * g1;
    h[0] = g0, h[1] = g0 + g1, h[2] = g0 - g1, h[3] = g0 + g2, h[4] = g0 - g2, h[5] = g1;
  }
};

// Bᵀ d B of VL tiles of one tile row from tile j, whose α padded sub-grid rows are split into even
// halves e[a] and odd halves o[a]: value ξ of tile j + l goes to dst[ξ·ds + l].
template <int R, class T>
SVERTKA_CONV_INLINE void input_tiles(const T* const* e, const T* const* o, i64 j, T* dst, i64 ds) {
  constexpr int A = Wino<R>::a;
  V<T> t[A][A];
#pragma GCC unroll 6
  for (int a = 0; a < A; ++a) {
    V<T> d[A];
#pragma GCC unroll 6
    for (int b = 0; b < A; ++b) d[b] = load((b % 2 == 0 ? e[a] : o[a]) + j + b / 2);
    Wino<R>::bt(d, t[a]);
  }
#pragma GCC unroll 6
  for (int b = 0; b < A; ++b) {
    V<T> col[A], out[A];
#pragma GCC unroll 6
    for (int a = 0; a < A; ++a) col[a] = t[a][b];
    Wino<R>::bt(col, out);
#pragma GCC unroll 6
    for (int a = 0; a < A; ++a) store(dst + (a * A + b) * ds, out[a]);
  }
}

// Aᵀ M A plus the bias for the tiles whose products are at p (position ξ at p + ξ·ms), as scalars
// or vectors U loaded by `ld`: y[i][j] holds output row i, column j of each tile.
template <int R, class U, class Load>
SVERTKA_CONV_INLINE void output_tiles(Load ld, U bias, U y[2][2]) {
  constexpr int A = Wino<R>::a;
  U s0[A], s1[A];  // (M A)[a][0], (M A)[a][1]
#pragma GCC unroll 6
  for (int a = 0; a < A; ++a) {
    U m[A], r[2];
#pragma GCC unroll 6
    for (int b = 0; b < A; ++b) m[b] = ld(a * A + b);
    Wino<R>::at(m, r);
    s0[a] = r[0], s1[a] = r[1];
  }
  U c0[2], c1[2];
  Wino<R>::at(s0, c0);
  Wino<R>::at(s1, c1);
  y[0][0] = c0[0] + bias, y[1][0] = c0[1] + bias, y[0][1] = c1[0] + bias, y[1][1] = c1[1] + bias;
}

// Stores (or adds, when acc) a[0], b[0], a[1], b[1], ... (2·VL values) at p.
template <class T>
SVERTKA_CONV_INLINE void put(T* p, V<T> v, bool acc) {
  store(p, acc ? load(p) + v : v);
}
SVERTKA_CONV_INLINE void store_interleaved(float* p, V<float> a, V<float> b, bool acc) {
  put(p, __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11), acc);
  put(p + 8, __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15), acc);
}
SVERTKA_CONV_INLINE void store_interleaved(double* p, V<double> a, V<double> b, bool acc) {
  put(p, __builtin_shufflevector(a, b, 0, 4, 1, 5), acc);
  put(p + 4, __builtin_shufflevector(a, b, 2, 6, 3, 7), acc);
}

// c[i][0 .. 2·VL) (=, or += when acc) Σ_k a[k·mr + i] · b[k·2·VL + ·] for the first M of a tile's
// mr rows, i < M: the AVX2 micro-kernel's product on a part of a tile, for the last tile of filters
// when the filters per group leave it mostly empty (32 filters in tiles of 6: 4 of 36 rows).
template <int M, class T>
SVERTKA_CONV_INLINE void micro_rows(i64 kc, const T* a, i64 mr, const T* b, T* c, i64 ldc, bool acc) {
  constexpr i64 vl = VL<T>;
  static_assert(NR<T> == 2 * vl);
  V<T> s[M][2];
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i) s[i][0] = s[i][1] = V<T>{};
#pragma GCC unroll 4
  for (i64 k = 0; k < kc; ++k, a += mr, b += 2 * vl) {
    const V<T> b0 = load(b), b1 = load(b + vl);
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) {
      const V<T> ai = V<T>{} + a[i];
      s[i][0] += ai * b0, s[i][1] += ai * b1;
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < M; ++i) {
    put(c + i * ldc, s[i][0], acc);
    put(c + i * ldc + vl, s[i][1], acc);
  }
}

// The input transform of the tiles of `it` in plane x: value ξ of the block's tile column col goes
// to dst[ξ·ds + col] (whole vectors of tiles along each tile row: up to vl − 1 values past a row's
// last tile are written too, and overwritten by the next row or left past the block). `split` holds
// the block's 2·(tile rows) + α − 2 split rows of 2·len values; `pad` one padded row.
template <int R, class T>
SVERTKA_CONV_INLINE void transform_plane(const Setup& s, const Item& it, const T* x, i64 len, T* split, T* pad, T* dst,
                                         i64 ds) {
  constexpr i64 vl = VL<T>;
  constexpr int A = Wino<R>::a;
  const i64 th0 = it.t0 / it.tw, th1 = (it.t1 - 1) / it.tw + 1, nrows = 2 * (th1 - th0) + A - 2;
  for (i64 u = 0; u < nrows; ++u)
    split_row(s, x, it.ph + (2 * th0 + u) * s.g.dilation.h, it.pw, len, pad, split + u * 2 * len);
  for (i64 th = th0; th < th1; ++th) {
    const i64 a0 = std::max(it.t0, th * it.tw), a1 = std::min(it.t1, (th + 1) * it.tw);
    const T *e[A], *o[A];
    for (int a = 0; a < A; ++a) e[a] = split + (2 * (th - th0) + a) * 2 * len, o[a] = e[a] + len;
    for (i64 j = a0 - th * it.tw, col = a0 - it.t0; j < a1 - th * it.tw; j += vl, col += vl)
      input_tiles<R, T>(e, o, j, dst + col, ds);
  }
}

template <int R, class Isa, class T>
SVERTKA_CONV_INLINE void forward_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  constexpr i64 nr = NR<T>, vl = VL<T>;
  constexpr i64 mr = Isa::mr;
  const i64 ni = c.ni;
  const Item& it = c.items[t % ni];
  const i64 gi = t / ni % s.G, n = t / ni / s.G;
  const i64 nt = it.t1 - it.t0, np = ceil_div(nt, nr), ncp = np * nr, Cg = s.Cg, rows = c.tiles * mr;
  const i64 dh = g.dilation.h, dw = g.dilation.w;
  constexpr int A = Wino<R>::a, XI = A * A;
  // split rows: even and odd halves of `len` values, zero past the tile row's last tile + α/2 − 1
  // (the vectors of the last tiles read up to vl past it)
  const i64 len = round_up(it.tw + A / 2 - 1 + vl, vl);
  const i64 th0 = it.t0 / it.tw, th1 = (it.t1 - 1) / it.tw + 1, nrows = 2 * (th1 - th0) + A - 2;
  // per ξ: B panels, products
  const i64 ps = Cg * nr, vs = spread<T>(Cg * ncp), ms = spread<T>(rows * ncp);
  const i64 ts = ncp + vl;                                  // a row of the transformed values of one channel
  Workspace& ws = workspace();
  T* v = ws.task_b.get<T>(XI * vs);
  T* m = ws.task_c.get<T>(XI * ms);
  T* split = ws.task_a.get<T>(nrows * 2 * len + XI * ts + s.Q + 2 * len * dw + dw);
  T* tmp = split + nrows * 2 * len;
  T* pad = tmp + XI * ts;
  // input transform, channel by channel: whole vectors of tiles along each tile row into tmp (the
  // lanes past a row's end are overwritten by the next row or lie past the block), then into the
  // panels; the columns past the block are zero until a vector writes them, so that the products
  // of the last panel's unused columns (never read) only ever see finite values
  for (i64 xi = 0; xi < XI; ++xi) std::fill(tmp + xi * ts + nt, tmp + (xi + 1) * ts, T(0));
  for (i64 ci = 0; ci < Cg; ++ci) {
    transform_plane<R>(s, it, c.x + (n * g.C + gi * Cg + ci) * s.HW, len, split, pad, tmp, ts);
    for (i64 xi = 0; xi < XI; ++xi)
      for (i64 q = 0; q < np; ++q)
#pragma GCC unroll 4
        for (i64 l = 0; l < nr; l += vl) store(v + xi * vs + q * ps + ci * nr + l, load(tmp + xi * ts + q * nr + l));
  }
  // the α² products
  const T* u = c.u + gi * XI * rows * Cg;
  // on AVX2, a last tile of filters with at most 4 rows in use runs on 2 or 4 rows
  const i64 last = s.Kg - (c.tiles - 1) * mr;
  const i64 full = std::is_same_v<Isa, Avx2> && last <= 4 ? c.tiles - 1 : c.tiles;
  for (i64 c0 = 0; c0 < Cg; c0 += c.kc) {
    const i64 kc = std::min(c.kc, Cg - c0);
    for (i64 xi = 0; xi < XI; ++xi)
      for (i64 q = 0; q < np; q += Isa::panels) {
        for (i64 ti = 0; ti < full; ++ti)
          Isa::micro(kc, u + (xi * rows + ti * mr) * Cg + c0 * mr, v + xi * vs + q * ps + c0 * nr, ps,
                     std::min(Isa::panels, np - q), m + xi * ms + ti * mr * ncp + q * nr, ncp, c0 > 0);
        if (full < c.tiles) {
          const T* a = u + (xi * rows + full * mr) * Cg + c0 * mr;
          const T* b = v + xi * vs + q * ps + c0 * nr;
          T* cm = m + xi * ms + full * mr * ncp + q * nr;
          if (last <= 2)
            micro_rows<2>(kc, a, mr, b, cm, ncp, c0 > 0);
          else
            micro_rows<4>(kc, a, mr, b, cm, ncp, c0 > 0);
        }
      }
  }
  // output transform: vectors of tiles whose 2 × 2 outputs all lie in the output, the rest one by one
  for (i64 k = 0; k < s.Kg; ++k) {
    const i64 kk = gi * s.Kg + k;
    const T bias = c.b ? c.b[kk] : T(0);
    const V<T> vbias = V<T>{} + bias;
    T* yk = c.y + (n * g.K + kk) * s.P;
    for (i64 th = th0; th < th1; ++th) {
      const i64 a0 = std::max(it.t0, th * it.tw), a1 = std::min(it.t1, (th + 1) * it.tw);
      const i64 i0 = 2 * th;
      const bool two_rows = i0 + 1 < it.hs;
      T* y0 = yk + (it.ph + i0 * dh) * g.Wo + it.pw;
      T* y1 = y0 + dh * g.Wo;
      const i64 j0 = a0 - th * it.tw, j1 = a1 - th * it.tw;
      const T* mk = m + k * ncp + (a0 - it.t0) - j0;  // tile j of this row at mk[j]
      const i64 jf = std::min(j1, it.ws / 2);         // tiles j < jf have both columns
      i64 j = j0;
      if (two_rows && dw == 1)
        for (; j + vl <= jf; j += vl) {
          V<T> yv[2][2];
          output_tiles<R>([&](int xi) { return load(mk + j + xi * ms); }, vbias, yv);
          store_interleaved(y0 + 2 * j, yv[0][0], yv[0][1], c.accumulate);
          store_interleaved(y1 + 2 * j, yv[1][0], yv[1][1], c.accumulate);
        }
      else if (two_rows)  // dilated: the outputs of a vector of tiles lie 2·dw apart, stored one by one
        for (; j + vl <= jf; j += vl) {
          V<T> yv[2][2];
          output_tiles<R>([&](int xi) { return load(mk + j + xi * ms); }, vbias, yv);
          for (i64 l = 0; l < vl; ++l)
            for (int i = 0; i < 2; ++i)
              for (int q = 0; q < 2; ++q) {
                T* p = (i == 0 ? y0 : y1) + (2 * (j + l) + q) * dw;
                *p = c.accumulate ? *p + yv[i][q][l] : yv[i][q][l];
              }
        }
      for (; j < j1; ++j) {
        const T* p = mk + j;
        T yt[2][2];
        output_tiles<R>([&](int xi) { return p[xi * ms]; }, bias, yt);
        const auto put = [&](T* p, T value) { *p = c.accumulate ? *p + value : value; };
        put(y0 + 2 * j * dw, yt[0][0]);
        if (two_rows) put(y1 + 2 * j * dw, yt[1][0]);
        if (j < jf) {
          put(y0 + (2 * j + 1) * dw, yt[0][1]);
          if (two_rows) put(y1 + (2 * j + 1) * dw, yt[1][1]);
        }
      }
    }
  }
}

template <class Isa, class T>
SVERTKA_CONV_INLINE void forward3_task(const void* c, i64 t) {
  forward_task<3, Isa, T>(c, t);
}
template <class Isa, class T>
SVERTKA_CONV_INLINE void forward5_task(const void* c, i64 t) {
  forward_task<5, Isa, T>(c, t);
}
SVERTKA_CONV_ENTRIES(forward3_task)
SVERTKA_CONV_ENTRIES(forward5_task)

// ------------------------------------------------------------------------------------------------
// weight gradient: F(r × r, 2 × 2)
// ------------------------------------------------------------------------------------------------
// For one tile, the r × r weight gradient of filter k, channel c is the correlation of the α × α
// input tile d by the 2 × 2 tile g of ∂L/∂y: dW = Gᵀ [(A g Aᵀ) ⊙ (Bᵀ d B)] G (the same B and G, A =
// (Aᵀ)ᵀ), so summed over every tile of every image, dW_kc = Gᵀ M_kc G with
// M_ξ[c][k] = Σ_tiles Ĝ_ξ[k][tile] · V_ξ[c][tile]: α² products whose depth is the tiles.

template <class T>
struct FilterCtx {
  const Setup* s;
  const Item* items;
  i64 ni, parts, count;  // items per image; parts of the count = N·ni items
  const T *x, *gy;
  T* part;               // [parts][G][ξ][cgp][kg4], ξ < α²
  i64 cgp, kg4;          // Cg rounded up to dot_cols, Kg to 4
};

// Ĝ of VL tiles of one tile row from tile j, whose 2 rows of ∂L/∂y are split into even halves e[i]
// and odd halves o[i]: value ξ of tile j + l goes to dst[ξ·ds + l].
template <int R, class T>
SVERTKA_CONV_INLINE void gy_tiles(const T* const* e, const T* const* o, i64 j, T* dst, i64 ds) {
  constexpr int A = Wino<R>::a;
  V<T> h0[A], h1[A];  // columns 0 and 1 of A g
  Wino<R>::ag(load(e[0] + j), load(e[1] + j), h0);
  Wino<R>::ag(load(o[0] + j), load(o[1] + j), h1);
#pragma GCC unroll 6
  for (int a = 0; a < A; ++a) {
    V<T> row[A];
    Wino<R>::ag(h0[a], h1[a], row);
#pragma GCC unroll 6
    for (int b = 0; b < A; ++b) store(dst + (a * A + b) * ds, row[b]);
  }
}

// Row oh of a ∂L/∂y plane at phase column pw, split as above (oh ≥ Ho: a zero row).
template <class T>
SVERTKA_CONV_INLINE void split_gy_row(const Setup& s, const T* plane, i64 oh, i64 pw, i64 len, T* dst) {
  if (oh >= s.g.Ho)
    std::fill_n(dst, 2 * len, T(0));
  else
    split(plane + oh * s.g.Wo, s.g.Wo, pw, s.g.dilation.w, len, dst);
}

template <int R, class Isa, class T>
SVERTKA_CONV_INLINE void filter_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const FilterCtx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  constexpr i64 nr = NR<T>, vl = VL<T>, dc = Isa::dot_cols;
  constexpr int A = Wino<R>::a, XI = A * A;
  const i64 gi = t % s.G, part = t / s.G, Cg = s.Cg, Kg = s.Kg, cgp = c.cgp, kg4 = c.kg4;
  const i64 i0 = part * c.count / c.parts, i1 = (part + 1) * c.count / c.parts;
  // the largest block, tile row and count of split rows of this part's items, for the buffers
  i64 tmax = 0, twmax = 0, nrows_max = 0;
  for (i64 i = i0; i < i1; ++i) {
    const Item& it = c.items[i % c.ni];
    tmax = std::max(tmax, it.t1 - it.t0), twmax = std::max(twmax, it.tw);
    nrows_max = std::max(nrows_max, 2 * ((it.t1 - 1) / it.tw - it.t0 / it.tw + 1) + A - 2);
  }
  const i64 len = round_up(twmax + A / 2 - 1 + vl, vl);
  // rows of V (input) and Ĝ (∂L/∂y) per ξ, long enough for the vectors past the last tile; a row
  // one panel longer when its size is a multiple of 2 KiB
  i64 ld = round_up(tmax + vl, nr);
  if (ld * static_cast<i64>(sizeof(T)) % 2048 == 0) ld += nr;
  const i64 vsz = spread<T>(cgp * ld), gsz = spread<T>(kg4 * ld);
  Workspace& ws = workspace();
  T* v = ws.task_b.get<T>(XI * vsz);
  T* gh = ws.task_c.get<T>(XI * gsz);
  T* split = ws.task_a.get<T>(nrows_max * 2 * len + s.Q + 2 * len * g.dilation.w + g.dilation.w);
  T* pad = split + nrows_max * 2 * len;
  T* acc = c.part + (part * s.G + gi) * XI * cgp * kg4;
  std::fill_n(acc, XI * cgp * kg4, T(0));
  // the padding rows (channels past Cg, filters past Kg) stay zero; the rows in use are written
  // block by block, up to the last panel's end (zeros past the block)
  for (i64 xi = 0; xi < XI; ++xi) {
    std::fill(v + xi * vsz + Cg * ld, v + (xi + 1) * vsz, T(0));
    std::fill(gh + xi * gsz + Kg * ld, gh + (xi + 1) * gsz, T(0));
  }
  for (i64 i = i0; i < i1; ++i) {
    const Item& it = c.items[i % c.ni];
    const i64 n = i / c.ni, nt = it.t1 - it.t0, kc = round_up(nt, nr);
    const i64 th0 = it.t0 / it.tw, th1 = (it.t1 - 1) / it.tw + 1;
    for (i64 ci = 0; ci < Cg; ++ci) {
      T* row = v + ci * ld;
      transform_plane<R>(s, it, c.x + (n * g.C + gi * Cg + ci) * s.HW, len, split, pad, row, vsz);
      for (i64 xi = 0; xi < XI; ++xi) std::fill(row + xi * vsz + nt, row + xi * vsz + kc, T(0));
    }
    for (i64 k = 0; k < Kg; ++k) {
      const T* plane = c.gy + (n * g.K + gi * Kg + k) * s.P;
      T* row = gh + k * ld;
      for (i64 th = th0; th < th1; ++th) {
        T* sp = split + 4 * len * (th - th0);
        split_gy_row(s, plane, it.ph + 2 * th * g.dilation.h, it.pw, len, sp);
        split_gy_row(s, plane, it.ph + (2 * th + 1) * g.dilation.h, it.pw, len, sp + 2 * len);
        const T* e[2] = {sp, sp + 2 * len};
        const T* o[2] = {sp + len, sp + 3 * len};
        const i64 a0 = std::max(it.t0, th * it.tw), a1 = std::min(it.t1, (th + 1) * it.tw);
        for (i64 j = a0 - th * it.tw, col = a0 - it.t0; j < a1 - th * it.tw; j += vl, col += vl)
          gy_tiles<R, T>(e, o, j, row + col, gsz);
      }
      // the dot products run over the columns [nt, kc) past the block: zero in both
      for (i64 xi = 0; xi < XI; ++xi) std::fill(row + xi * gsz + nt, row + xi * gsz + kc, T(0));
    }
    for (i64 xi = 0; xi < XI; ++xi) {
      const T* gx = gh + xi * gsz;
      const T* vx = v + xi * vsz;
      T* ax = acc + xi * cgp * kg4;
      for (i64 c0 = 0; c0 < cgp; c0 += dc)
        for (i64 k = 0; k < kg4; k += 4) Isa::dot(kc, gx + k * ld, ld, vx + c0 * ld, ld, ax + c0 * kg4 + k, kg4);
    }
  }
}

template <class Isa, class T>
SVERTKA_CONV_INLINE void filter3_task(const void* c, i64 t) {
  filter_task<3, Isa, T>(c, t);
}
template <class Isa, class T>
SVERTKA_CONV_INLINE void filter5_task(const void* c, i64 t) {
  filter_task<5, Isa, T>(c, t);
}
SVERTKA_CONV_ENTRIES(filter3_task)
SVERTKA_CONV_ENTRIES(filter5_task)

// gw += Gᵀ M G for the filters k of group gi (task gi·Kg + k), M summed over the parts in order.
template <class T>
struct FoldCtx {
  const Setup* s;
  const T* part;
  i64 parts, cgp, kg4;
  T* gw;
};
template <int R, class T>
void fold_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const FoldCtx<T>*>(vctx);
  const Setup& s = *c.s;
  constexpr int A = Wino<R>::a, XI = A * A;
  const i64 gi = t / s.Kg, k = t % s.Kg, per_part = s.G * XI * c.cgp * c.kg4;
  for (i64 ci = 0; ci < s.Cg; ++ci) {
    T m[A][A];
    for (int xi = 0; xi < XI; ++xi) {
      const T* p = c.part + ((gi * XI + xi) * c.cgp + ci) * c.kg4 + k;
      T sum = p[0];
      for (i64 q = 1; q < c.parts; ++q) sum += p[q * per_part];
      m[xi / A][xi % A] = sum;
    }
    // Gᵀ M G
    T r[R][A];
    for (int i = 0; i < R; ++i)
      for (int b = 0; b < A; ++b) {
        T sum = 0;
        for (int a = 0; a < A; ++a) sum += static_cast<T>(Wino<R>::G[a][i]) * m[a][b];
        r[i][b] = sum;
      }
    T* out = c.gw + ((gi * s.Kg + k) * s.Cg + ci) * R * R;
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < R; ++j) {
        T sum = 0;
        for (int b = 0; b < A; ++b) sum += r[i][b] * static_cast<T>(Wino<R>::G[b][j]);
        out[i * R + j] += sum;
      }
  }
}

// The blocks of about `block` tiles of every phase of g's output, in order, into `out` (when not
// null); returns their count. Every block but a phase's last is a multiple of `unit` tiles (a whole
// number of the micro-kernel's panels).
i64 make_items(const Conv2dGeometry& g, i64 block, i64 unit, Item* out) {
  i64 count = 0;
  for (i64 ph = 0; ph < std::min(g.dilation.h, g.Ho); ++ph)
    for (i64 pw = 0; pw < std::min(g.dilation.w, g.Wo); ++pw) {
      const i64 hs = ceil_div(g.Ho - ph, g.dilation.h), ws = ceil_div(g.Wo - pw, g.dilation.w);
      const i64 th = ceil_div(hs, 2), tw = ceil_div(ws, 2), tiles = th * tw;
      const i64 size = round_up(ceil_div(tiles, ceil_div(tiles, block)), unit), nb = ceil_div(tiles, size);
      for (i64 bi = 0; bi < nb; ++bi, ++count)
        if (out) out[count] = {ph, pw, hs, ws, th, tw, bi * size, std::min(tiles, (bi + 1) * size)};
    }
  return count;
}

// y (=|+=) the convolution of x by the r × r filters `w` through F(2 × 2, r × r) for geometry s;
// `flipped`: w is the original layer's weight and this is its transposed convolution (filter k,
// channel c of this geometry is w[c, k] turned by 180°).
template <int R, class T>
void run(const Setup& s, const T* x, const T* w, bool flipped, const T* b, T* y, bool accumulate) {
  const auto& g = s.g;
  constexpr int A = Wino<R>::a, XI = A * A;
  const Kernel kern = R == 3 ? pick_forward3_task<T>() : pick_forward5_task<T>();
  const i64 mr = kern.mr, tiles = ceil_div(s.Kg, mr), rows = tiles * mr, Cg = s.Cg;
  // u[gi][ξ = (a, b)][k][c] = (G w_kc Gᵀ)[a][b], in tiles of mr filters laid out [c][mr]
  T* u = workspace().call_a.get<T>(s.G * XI * rows * Cg);
  for (i64 gi = 0; gi < s.G; ++gi)
    for (i64 k = 0; k < rows; ++k)
      for (i64 ci = 0; ci < Cg; ++ci) {
        T f[R][R] = {}, gw[A][R];
        if (k < s.Kg)
          for (int r = 0; r < R; ++r)
            for (int q = 0; q < R; ++q)
              f[r][q] = flipped ? w[((gi * Cg + ci) * s.Kg + k) * R * R + (R - 1 - r) * R + (R - 1 - q)]
                                : w[((gi * s.Kg + k) * Cg + ci) * R * R + r * R + q];
        for (int a = 0; a < A; ++a)
          for (int q = 0; q < R; ++q) {
            T sum = 0;
            for (int r = 0; r < R; ++r) sum += static_cast<T>(Wino<R>::G[a][r]) * f[r][q];
            gw[a][q] = sum;
          }
        for (int a = 0; a < A; ++a)
          for (int bb = 0; bb < A; ++bb) {
            T sum = 0;
            for (int q = 0; q < R; ++q) sum += gw[a][q] * static_cast<T>(Wino<R>::G[bb][q]);
            u[((gi * XI + a * A + bb) * rows + k / mr * mr) * Cg + ci * mr + k % mr] = sum;
          }
      }
  const i64 ni = make_items(g, tile_block, NR<T>, nullptr);
  Item* items = workspace().call_items.get<Item>(ni);
  make_items(g, tile_block, NR<T>, items);
  const Ctx<T> c{&s, items, ni, x, u, b, y, tiles, balanced(Cg, depth_max, 1), accumulate};
  run_tasks(g.N * s.G * ni, 2.0 * static_cast<double>(g.N * g.K * s.P * s.CRS), kern.fn, &c);
}

template <class T>
void run(const Setup& s, const T* x, const T* w, bool flipped, const T* b, T* y, bool accumulate) {
  if (s.g.R == 3)
    run<3>(s, x, w, flipped, b, y, accumulate);
  else
    run<5>(s, x, w, flipped, b, y, accumulate);
}

// Partial sums of M per part (a fixed number, by shape) and group, added in part order by fold_task.
template <int R, class T>
void run_filter(const Setup& s, const T* x, const T* gy, T* gw) {
  const auto& g = s.g;
  constexpr int XI = Wino<R>::a * Wino<R>::a;
  const Kernel kern = R == 3 ? pick_filter3_task<T>() : pick_filter5_task<T>();
  const i64 cgp = round_up(s.Cg, kern.dot_cols), kg4 = round_up(s.Kg, 4);
  const i64 ni = make_items(g, filter_block, NR<T>, nullptr);
  Item* items = workspace().call_items.get<Item>(ni);
  make_items(g, filter_block, NR<T>, items);
  const i64 count = g.N * ni, per_part = s.G * XI * cgp * kg4;
  const i64 parts = std::clamp<i64>(part_elems / per_part, 1, std::min<i64>(max_parts, count));
  T* part = workspace().call_part.get<T>(parts * per_part);
  const FilterCtx<T> c{&s, items, ni, parts, count, x, gy, part, cgp, kg4};
  run_tasks(parts * s.G, 2.0 * static_cast<double>(g.N * g.K * s.P * s.CRS), kern.fn, &c);
  const FoldCtx<T> f{&s, part, parts, cgp, kg4, gw};
  run_tasks(s.G * s.Kg, XI * static_cast<double>(parts * per_part), &fold_task<R, T>, &f);
}

}  // namespace

bool applies(const Conv2dGeometry& g) {
  return g.stride.h == 1 && g.stride.w == 1 && g.R == g.S && (g.R == 3 || g.R == 5);
}

namespace {
// Whether the data gradient is a convolution of gY on the input's pixels alone (zero padding of at
// most (r − 1)·dilation per side), not on the padded input followed by a fold of its borders.
bool transposes(const Conv2dGeometry& g) {
  const Padding2d& p = g.padding;
  const i64 mh = (g.R - 1) * g.dilation.h, mw = (g.S - 1) * g.dilation.w;
  return g.mode == PadMode::zeros && p.top <= mh && p.bottom <= mh && p.left <= mw && p.right <= mw;
}

void check_applies(const Conv2dGeometry& g) {
  if (!applies(g))
    throw OptionError(fmt::format("conv2d: the Winograd algorithm needs a 3 × 3 or 5 × 5 filter at stride 1, not {} "
                                  "× {} at stride ({}, {})", g.R, g.S, g.stride.h, g.stride.w));
}
}  // namespace

template <class T>
void forward(const Setup& s, const T* x, const T* w, const T* b, T* y) {
  check_applies(s.g);
  run(s, x, w, false, b, y, false);
}

// The gradient of the padded input of a stride-1 convolution is the convolution of gY, zero-padded
// by m = (r − 1)·dilation on each side, by the layer's filters turned by 180° with filters and
// channels swapped. With zero padding of at most m it is computed on the input's pixels only (gY
// padded by m − the layer's padding) and added to dx; otherwise on the whole padded input, into a
// scratch of N·C·(H + top + bottom)·(W + left + right) values (calling thread), whose pixels are then
// added to their sources as the padding kernel's backward pass does.
template <class T>
void backward_data(const Conv2dGeometry& g, const T* w, const T* gy, T* gx) {
  check_applies(g);
  Conv2dGeometry t = g;
  t.C = g.K, t.H = g.Ho, t.W = g.Wo, t.K = g.C;
  const i64 mh = (g.R - 1) * g.dilation.h, mw = (g.S - 1) * g.dilation.w;
  const Padding2d& p = g.padding;
  if (transposes(g)) {
    t.Ho = g.H, t.Wo = g.W;
    t.padding = {mh - p.top, mh - p.bottom, mw - p.left, mw - p.right};
    run(make_setup(t), gy, w, true, static_cast<const T*>(nullptr), gx, true);
    return;
  }
  t.Ho = g.H + p.top + p.bottom, t.Wo = g.W + p.left + p.right;
  t.padding = {mh, mh, mw, mw}, t.mode = PadMode::zeros;
  T* padded = workspace().call_part.get<T>(g.N * g.C * t.Ho * t.Wo);
  run(make_setup(t), gy, w, true, static_cast<const T*>(nullptr), padded, false);
  pad2d_backward(PadGeometry{.planes = g.N * g.C, .H = g.H, .W = g.W, .padding = p, .mode = g.mode}, padded, gx);
}

template <class T>
void backward_filter(const Setup& s, const T* x, const T* gy, T* gw) {
  check_applies(s.g);
  if (s.g.R == 3)
    run_filter<3>(s, x, gy, gw);
  else
    run_filter<5>(s, x, gy, gw);
}

template void forward<float>(const Setup&, const float*, const float*, const float*, float*);
template void forward<double>(const Setup&, const double*, const double*, const double*, double*);
template void backward_data<float>(const Conv2dGeometry&, const float*, const float*, float*);
template void backward_data<double>(const Conv2dGeometry&, const double*, const double*, double*);
template void backward_filter<float>(const Setup&, const float*, const float*, float*);
template void backward_filter<double>(const Setup&, const double*, const double*, double*);

}  // namespace svertka::kernels::conv::winograd
