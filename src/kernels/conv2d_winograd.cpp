// The Winograd path's forward pass and data gradient (the kernels are described in
// conv2d_winograd.hpp).

#include <fmt/format.h>

#include "conv2d_winograd.hpp"
#include "svertka/core/error.hpp"
#include "svertka/kernels/pad2d.hpp"

namespace svertka::kernels::conv::winograd {
namespace {

// Tiles per task: B panels and products of α² positions in L2. With AVX-512 (Zen 5, 1 MiB of L2
// per core) 96: each task reads all the transformed weights (α²·K·C values, 590 KiB for vgg_3x3),
// which twice the tiles amortize; at one thread vgg_3x3's forward pass took 9.6-10.6 ms in blocks
// of 48 and 8.5-9.0 in blocks of 96-192, alexnet_c1's phases (2 threads) 3.0-3.4 and 2.8-3.1,
// dilated_reflect 7.1-7.4 and 6.6-6.8, 256 channels at 28 × 28 22.9-23.0 and 21.4-22.0.
i64 tile_block() { return isa() == Conv2dIsa::avx512 ? 96 : 48; }
constexpr i64 depth_max = 256;            // channels per micro-kernel call (the GEMM path's depth chunk)

// The distinct rows of G, D: all α of them unless the transform says fewer (`distinct`: its last
// α − D + 1 rows equal, as at stride 2, whose rows 5-8 are the odd tap's). The transformed weights
// are kept once per pair of distinct rows, D² matrices of Kg × Cg (36 instead of 81 at stride 2: the
// products of ξ = (a, b) read pair (min(a, D − 1), min(b, D − 1))).
template <int R, int M, int SD>
constexpr int distinct_rows() {
  using W = Wino<R, M, SD>;
  if constexpr (requires { W::distinct; })
    return W::distinct;
  else
    return W::a;
}
template <int A, int D>
constexpr i64 weight_pair(i64 xi) {
  return std::min<i64>(xi / A, D - 1) * D + std::min<i64>(xi % A, D - 1);
}

template <class T>
struct Ctx {
  const Setup* s;
  const Item* items;
  i64 ni;  // items
  const T *x, *u, *b;  // u: transformed weights [group][ξ][tile of mr filters][Cg][mr]
  T* y;
  i64 tiles, kc;    // filter tiles of mr per group; depth chunk
  bool accumulate;  // y += the result (the data gradient) instead of y = it
  i64 per = 0;      // when not 0: the items' tiles run over all images, `per` an image (one phase)
  i64 oh = 0, ow = 0;  // the stride-2 data gradient's first row and column of gY (adjoint_task)
};

// Aᵀ M A plus the bias for the tiles whose products are at p (position ξ at p + ξ·ms), as scalars
// or vectors U loaded by `ld`: y[i][j] holds output row i, column j of each tile.
template <int R, int M, int SD, class U, class Load>
SVERTKA_CONV_INLINE void output_tiles(Load ld, U bias, U y[M][M]) {
  using W = Wino<R, M, SD>;
  constexpr int A = W::a;
  U s[M][A];  // s[j][a] = (M A)[a][j]
#pragma GCC unroll 8
  for (int a = 0; a < A; ++a) {
    U m[A], r[M];
#pragma GCC unroll 8
    for (int b = 0; b < A; ++b) m[b] = ld(a * A + b);
    W::at(m, r);
#pragma GCC unroll 4
    for (int j = 0; j < M; ++j) s[j][a] = r[j];
  }
#pragma GCC unroll 4
  for (int j = 0; j < M; ++j) {
    U c[M];
    W::at(s[j], c);
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) y[i][j] = c[i] + bias;
  }
}

// Stores (or adds, when acc) v at p.
template <class T>
SVERTKA_CONV_INLINE void put(T* p, V<T> v, bool acc) {
  store(p, acc ? load(p) + v : v);
}
// lo, hi = a[0], b[0], a[1], b[1], ... (2·VL values)
SVERTKA_CONV_INLINE void interleave(V<float> a, V<float> b, V<float>& lo, V<float>& hi) {
  lo = __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
  hi = __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
}
SVERTKA_CONV_INLINE void interleave(V<double> a, V<double> b, V<double>& lo, V<double>& hi) {
  lo = __builtin_shufflevector(a, b, 0, 4, 1, 5);
  hi = __builtin_shufflevector(a, b, 2, 6, 3, 7);
}
// One output row of VL tiles whose column q is v[q], as M vectors of consecutive columns (M = 2, 4
// or 8): out[h] holds columns h·VL .. h·VL + VL − 1 of the row, column M·l + q being v[q][l]. Pairs
// (v[q], v[q + M/2]) interleaved, then each half of the results the same way: for M = 4,
// (v0, v2) and (v1, v3), then the two results, v0[l], v1[l], v2[l], v3[l].
template <int M, class T>
SVERTKA_CONV_INLINE void tile_columns(const V<T>* v, V<T>* out) {
  if constexpr (M == 1) {
    out[0] = v[0];
  } else {
    V<T> lo[M / 2], hi[M / 2];
#pragma GCC unroll 4
    for (int q = 0; q < M / 2; ++q) interleave(v[q], v[q + M / 2], lo[q], hi[q]);
    tile_columns<M / 2, T>(lo, out);
    tile_columns<M / 2, T>(hi, out + M / 2);
  }
}
// p[M·l + q] (=, or += when acc) v[q][l] for the row's first n columns (n ≤ M·VL), from registers
// (a row's last tiles went through a buffer before, whose reloads straddled two of its vector
// stores and waited for them to retire).
template <int M, class T>
SVERTKA_CONV_INLINE void store_tiles(T* p, const V<T>* v, i64 n, bool acc) {
  constexpr i64 vl = VL<T>, half = vl / 2;
  typedef T H __attribute__((vector_size(sizeof(V<T>) / 2), aligned(alignof(T))));
  V<T> out[M];
  tile_columns<M, T>(v, out);
#pragma GCC unroll 8
  for (int h = 0; h < M; ++h, p += vl, n -= vl) {
    if (n >= vl) {
      put(p, out[h], acc);
      continue;
    }
    i64 l = 0;
    if (n >= half) {  // the lower half as one vector
      H lo;
      __builtin_memcpy(&lo, &out[h], sizeof lo);
      if (acc) {
        H o;
        __builtin_memcpy(&o, p, sizeof o);
        lo = o + lo;
      }
      __builtin_memcpy(p, &lo, sizeof lo);
      l = half;
    }
    for (; l < n; ++l) p[l] = acc ? p[l] + out[h][l] : out[h][l];
    return;
  }
}
template <int M, class T>
SVERTKA_CONV_INLINE void store_tiles(T* p, const V<T>* v, bool acc) {
  store_tiles<M>(p, v, M * VL<T>, acc);
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

// Channel ci's transformed values of a block (position ξ of its tile column q at tmp[ξ·ts + q])
// into the micro-kernel's B panels: v[ξ·vs + panel·ps + ci·NR + lane].
template <int XI, class T>
SVERTKA_CONV_INLINE void to_panels(const T* tmp, i64 ts, i64 np, i64 ci, T* v, i64 vs, i64 ps) {
  constexpr i64 nr = NR<T>, vl = VL<T>;
  for (i64 xi = 0; xi < XI; ++xi)
    for (i64 q = 0; q < np; ++q)
#pragma GCC unroll 4
      for (i64 l = 0; l < nr; l += vl) store(v + xi * vs + q * ps + ci * nr + l, load(tmp + xi * ts + q * nr + l));
}

// The input transform of a block into its B panels, channel by channel: plane(seg, x, next, dst)
// transforms the part `seg` (from segment(n, off)) of image n's plane x of the channel into tmp
// from dst = tmp + off (next: the next channel's plane, or null), then to_panels. The columns of
// tmp past the block's nt tiles are zero until a vector writes them, so that the products of the
// last panel's unused columns (never read) only ever see finite values.
template <int XI, class T, class Segment, class Plane>
SVERTKA_CONV_INLINE void block_panels(const Ctx<T>& c, i64 gi, i64 n0, i64 n1, Segment segment, T* tmp, i64 ts,
                                      i64 nt, i64 np, T* v, i64 vs, i64 ps, Plane plane) {
  const Setup& s = *c.s;
  const i64 Cg = s.Cg;
  for (i64 xi = 0; xi < XI; ++xi) std::fill(tmp + xi * ts + nt, tmp + (xi + 1) * ts, T(0));
  for (i64 ci = 0; ci < Cg; ++ci) {
    for (i64 n = n0; n < n1; ++n) {
      i64 off;
      const Item seg = segment(n, off);
      const T* xc = c.x + (n * s.g.C + gi * Cg + ci) * s.HW;
      plane(seg, xc, ci + 1 < Cg ? xc + s.HW : nullptr, tmp + off);
    }
    to_panels<XI>(tmp, ts, np, ci, v, vs, ps);
  }
}

// The α² products of a block of np panels of tiles, group gi: m[ξ·ms + filter row·ncp + tile] =
// Σ_c U_pair(ξ)[filter row][c] · v[ξ·vs + panel·ps + c·NR + lane], in depth chunks of c.kc.
template <int A, int D, class Isa, class T>
SVERTKA_CONV_INLINE void block_products(const Ctx<T>& c, i64 gi, const T* v, i64 vs, i64 ps, i64 np, T* m, i64 ms) {
  const Setup& s = *c.s;
  constexpr i64 nr = NR<T>, mr = Isa::mr;
  constexpr int XI = A * A;
  const i64 Cg = s.Cg, rows = c.tiles * mr, ncp = np * nr;
  const T* u = c.u + gi * D * D * rows * Cg;
  // on AVX2, a last tile of filters with at most 4 rows in use runs on 2 or 4 rows
  const i64 last = s.Kg - (c.tiles - 1) * mr;
  const i64 full = std::is_same_v<Isa, Avx2> && last <= 4 ? c.tiles - 1 : c.tiles;
  for (i64 c0 = 0; c0 < Cg; c0 += c.kc) {
    const i64 kc = std::min(c.kc, Cg - c0);
    for (i64 xi = 0; xi < XI; ++xi) {
      const i64 ux = weight_pair<A, D>(xi);
      for (i64 q = 0; q < np; q += Isa::panels) {
        for (i64 ti = 0; ti < full; ++ti)
          Isa::micro(kc, u + (ux * rows + ti * mr) * Cg + c0 * mr, v + xi * vs + q * ps + c0 * nr, ps,
                     std::min(Isa::panels, np - q), m + xi * ms + ti * mr * ncp + q * nr, ncp, c0 > 0);
        if (full < c.tiles) {
          const T* a = u + (ux * rows + full * mr) * Cg + c0 * mr;
          const T* b = v + xi * vs + q * ps + c0 * nr;
          T* cm = m + xi * ms + full * mr * ncp + q * nr;
          if (last <= 2)
            micro_rows<2>(kc, a, mr, b, cm, ncp, c0 > 0);
          else
            micro_rows<4>(kc, a, mr, b, cm, ncp, c0 > 0);
        }
      }
    }
  }
}

template <int R, int M, class Isa, class T, int SD = 1>
SVERTKA_CONV_INLINE void forward_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  constexpr i64 nr = NR<T>, vl = VL<T>;
  constexpr i64 mr = Isa::mr;
  const i64 ni = c.ni;
  const Item& blk = c.items[t % ni];
  const i64 gi = t / ni % s.G;
  const i64 nt = blk.t1 - blk.t0, np = ceil_div(nt, nr), ncp = np * nr, Cg = s.Cg, rows = c.tiles * mr;
  const i64 dh = g.dilation.h, dw = g.dilation.w;
  constexpr int A = Wino<R, M, SD>::a, XI = A * A, E = M * SD;  // E: input columns from tile to tile
  // the block's images [n0, n1) and segment(n): the part of the block in image n, at block column off
  const i64 n0 = c.per ? blk.t0 / c.per : t / ni / s.G, n1 = c.per ? (blk.t1 - 1) / c.per + 1 : n0 + 1;
  auto segment = [&](i64 n, i64& off) {
    Item seg = blk;
    off = 0;
    if (c.per) {
      const i64 a = std::max(blk.t0, n * c.per), b = std::min(blk.t1, (n + 1) * c.per);
      seg.t0 = a - n * c.per, seg.t1 = b - n * c.per, off = a - blk.t0;
    }
    return seg;
  };
  // split rows: E parts of `len` values, zero past the tile row's last tile + (α − 1) / E (the
  // vectors of the last tiles read up to vl past it); the tile rows of a segment, at most
  const i64 len = round_up(blk.tw + (A - 1) / E + vl, vl);
  const i64 nrows = E * std::min(blk.th, ceil_div(nt, blk.tw) + 1) + A - E;
  // per ξ: B panels, products
  const i64 ps = Cg * nr, vs = spread<T>(Cg * ncp), ms = spread<T>(rows * ncp);
  const i64 ts = ncp + vl;                                  // a row of the transformed values of one channel
  Workspace& ws = workspace();
  T* v = ws.task_b.get<T>(XI * vs);
  // (and vl values past the last plane: the output transform's vectors of a row's last tiles read
  // up to vl − 1 columns past the block, left unused)
  T* m = ws.task_c.get<T>(XI * ms + vl);
  std::fill_n(m + XI * ms, vl, T(0));
  T* split = ws.task_a.get<T>(nrows * E * len + XI * ts + s.Q + E * len * dw + dw);
  T* tmp = split + nrows * E * len;
  T* pad = tmp + XI * ts;
  // input transform: whole vectors of tiles along each tile row into tmp (the lanes past a row's
  // end are overwritten by the next row or lie past the block), then into the panels
  block_panels<XI>(c, gi, n0, n1, segment, tmp, ts, nt, np, v, vs, ps,
                   [&](const Item& seg, const T* xc, const T* next, T* dst) {
                     transform_plane<R, M, T, SD>(s, seg, xc, next, len, split, pad, dst, ts);
                   });
  // the α² products
  block_products<A, distinct_rows<R, M, SD>(), Isa>(c, gi, v, vs, ps, np, m, ms);
  // output transform, image by image of the block, on vectors of VL tiles along each tile row:
  // stored as vectors where all their M·VL columns lie in the output (rows past its last left out),
  // else value by value (dilated rows and each row's last tiles)
  for (i64 k = 0; k < s.Kg; ++k) {
    for (i64 n = n0; n < n1; ++n) {
      i64 off;
      const Item it = segment(n, off);
      const i64 th0 = it.t0 / it.tw, th1 = (it.t1 - 1) / it.tw + 1;
      const i64 kk = gi * s.Kg + k;
      const T bias = c.b ? c.b[kk] : T(0);
      const V<T> vbias = V<T>{} + bias;
      T* yk = c.y + (n * g.K + kk) * s.P;
      for (i64 th = th0; th < th1; ++th) {
        const i64 a0 = std::max(it.t0, th * it.tw), a1 = std::min(it.t1, (th + 1) * it.tw);
        const i64 i0 = M * th, nrow = std::min<i64>(M, it.hs - i0);
        T* yr[M];
        for (i64 i = 0; i < M; ++i) yr[i] = yk + (it.ph + (i0 + std::min(i, nrow - 1)) * dh) * g.Wo + it.pw;
        const i64 j0 = a0 - th * it.tw, j1 = a1 - th * it.tw;
        const T* mk = m + k * ncp + off + (a0 - it.t0) - j0;  // tile j of this row at mk[j]
        const i64 jf = std::min(j1, it.ws / M);               // tiles j < jf have all M columns
        i64 j = j0;
        if (dw == 1)
          for (; j + vl <= jf; j += vl) {
            V<T> yv[M][M];
            output_tiles<R, M, SD>([&](int xi) { return load(mk + j + xi * ms); }, vbias, yv);
            for (i64 i = 0; i < nrow; ++i) store_tiles<M>(yr[i] + M * j, yv[i], c.accumulate);
          }
        else  // dilated: the outputs of a vector of tiles lie M·dw apart, stored one by one
          for (; j + vl <= jf; j += vl) {
            V<T> yv[M][M];
            output_tiles<R, M, SD>([&](int xi) { return load(mk + j + xi * ms); }, vbias, yv);
            for (i64 l = 0; l < vl; ++l)
              for (i64 i = 0; i < nrow; ++i)
                for (int q = 0; q < M; ++q) {
                  T* p = yr[i] + (M * (j + l) + q) * dw;
                  *p = c.accumulate ? *p + yv[i][q][l] : yv[i][q][l];
                }
          }
        // the row's last tiles, fewer than VL or with columns past the output: a vector, stored
        // through a copy up to the block's last tile and the output's last column
        for (; j < j1; j += vl) {
          V<T> yv[M][M];
          output_tiles<R, M, SD>([&](int xi) { return load(mk + j + xi * ms); }, vbias, yv);
          const i64 ncol = std::min(M * std::min(vl, j1 - j), it.ws - M * j);
          for (i64 i = 0; i < nrow; ++i) {
            T buf[M * vl];
            store_tiles<M>(buf, yv[i], false);
            T* o = yr[i] + M * j * dw;
            for (i64 q = 0; q < ncol; ++q) o[q * dw] = c.accumulate ? o[q * dw] + buf[q] : buf[q];
          }
        }
      }
    }
  }
}

SVERTKA_WINOGRAD_ENTRIES(forward)
// F(4 × 4, 3 × 3) at stride 2 (Wino<3, 4, 2>)
template <class Isa, class T>
SVERTKA_CONV_INLINE void forward43s2_task(const void* c, i64 t) {
  forward_task<3, 4, Isa, T, 2>(c, t);
}
SVERTKA_CONV_ENTRIES(forward43s2_task)

// The data gradient of a 3 × 3 layer at stride 2 (zero padding of 0-2 above and left, both even or
// both odd; winograd::halves_data) through Adjoint<F>: tiles of 8 × 8 pixels of ∂L/∂x from 5 × 5
// values of gY, tiles 4 apart in gY (its rows split 4 ways), 81 products per tile, filter and
// channel. The block's structure is forward_task's at stride 2 (blocks over the images, the same
// products and panels) on the transposed geometry of the Setup: its C the layer's filters (gY's
// channels), its K the layer's channels, H × W gY's size and Ho × Wo ∂L/∂x's; c.oh, c.ow the
// first gY row and column of tile (0, 0), ⌊(padding − 1) / 2⌋ (−1 or 0).

// Bᵀ D B of VL tiles of one tile row from tile j, whose 5 gY rows rows[a] are split 4 ways by
// column (`len` values each): value ξ of tile j + l goes to dst[ξ·ds + l].
template <int F, class T>
SVERTKA_CONV_INLINE void adjoint_input_tiles(const T* const* rows, i64 len, i64 j, T* dst, i64 ds) {
  using W = Adjoint<F>;
  V<T> t[5][9];
#pragma GCC unroll 5
  for (int a = 0; a < 5; ++a) {
    V<T> d[5];
#pragma GCC unroll 5
    for (int b = 0; b < 5; ++b) d[b] = load(rows[a] + (b % 4) * len + j + b / 4);
    W::bt(d, t[a]);
  }
#pragma GCC unroll 9
  for (int b = 0; b < 9; ++b) {
    V<T> col[5], out[9];
#pragma GCC unroll 5
    for (int a = 0; a < 5; ++a) col[a] = t[a][b];
    W::bt(col, out);
#pragma GCC unroll 9
    for (int a = 0; a < 9; ++a) store(dst + (a * 9 + b) * ds, out[a]);
  }
}

// The input transform of the tiles of `it` in gY plane x (as transform_plane): the gY rows of its
// tile rows split 4 ways, from column ow (−1: a zero before column 0, or 0; zero past the plane),
// then the tiles. The rows of plane `next` (when not null) are prefetched.
template <int F, class T>
SVERTKA_CONV_INLINE void adjoint_plane(const Setup& s, const Item& it, const T* x, const T* next, i64 oh, i64 ow,
                                       i64 len, T* parts, T* dst, i64 ds) {
  constexpr i64 vl = VL<T>;
  const auto& g = s.g;
  const i64 th0 = it.t0 / it.tw, th1 = (it.t1 - 1) / it.tw + 1, nrows = 4 * (th1 - th0) + 1;
  for (i64 u = 0; u < nrows; ++u) {
    const i64 r = 4 * th0 + oh + u;
    T* d = parts + u * 4 * len;
    if (r < 0 || r >= g.H) {
      std::fill_n(d, 4 * len, T(0));
      continue;
    }
    if (next) prefetch_span(next + r * g.W, 0, g.W);
    // split in registers from the row's own vectors (in place, split<4> took the 28 columns of a
    // row of strided_3x3 one by one; through a zero-padded copy its loads waited on the copy's
    // stores)
    const T* src = x + r * g.W;
    for (i64 u0 = 0; u0 < len; u0 += vl) {
      V<T> v[4], ph[4];
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) v[k] = row_vector(src, 4 * u0 + ow + k * vl, g.W);
      deinterleave<4, T>(v, ph);
#pragma GCC unroll 4
      for (int e = 0; e < 4; ++e) store(d + e * len + u0, ph[e]);
    }
  }
  for (i64 th = th0; th < th1; ++th) {
    const i64 a0 = std::max(it.t0, th * it.tw), a1 = std::min(it.t1, (th + 1) * it.tw);
    const T* rows[5];
    for (int a = 0; a < 5; ++a) rows[a] = parts + (4 * (th - th0) + a) * 4 * len;
    for (i64 j = a0 - th * it.tw, col = a0 - it.t0; j < a1 - th * it.tw; j += vl, col += vl)
      adjoint_input_tiles<F, T>(rows, len, j, dst + col, ds);
  }
}

// Aᵀ M A of VL tiles whose products are at p (position ξ at p + ξ·ms), added to the first nrow
// rows yr[i] + col0 of ∂L/∂x, ncol columns: the even part of each column first (F(4, 2)'s Aᵀ down
// the column), then each row of 8 pixels across.
template <int F, class T>
SVERTKA_CONV_INLINE void adjoint_output_tiles(const T* p, i64 ms, T* const* yr, i64 nrow, i64 col0, i64 ncol) {
  using W = Adjoint<F>;
  V<T> e[4][9];
#pragma GCC unroll 9
  for (int b = 0; b < 9; ++b) {
    V<T> m[5], r[4];
#pragma GCC unroll 5
    for (int a = 0; a < 5; ++a) m[a] = load(p + (a * 9 + b) * ms);
    Wino<3, 4, 2>::even_at(m, r);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) e[j][b] = r[j];
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    if (i >= nrow) return;
    V<T> row[9], y[8];
    if (i % 2 == F) {  // an even pixel row: e[i / 2]; an odd one: position row 5 + i / 2 as it is
#pragma GCC unroll 9
      for (int b = 0; b < 9; ++b) row[b] = e[i / 2][b];
    } else {
#pragma GCC unroll 9
      for (int b = 0; b < 9; ++b) row[b] = load(p + ((5 + i / 2) * 9 + b) * ms);
    }
    W::at(row, y);
    store_tiles<8>(yr[i] + col0, y, ncol, true);
  }
}

template <int F, class Isa, class T>
SVERTKA_CONV_INLINE void adjoint_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  constexpr i64 nr = NR<T>, vl = VL<T>, mr = Isa::mr;
  constexpr int XI = 81;
  const Item& blk = c.items[t % c.ni];
  const i64 gi = t / c.ni;
  const i64 nt = blk.t1 - blk.t0, np = ceil_div(nt, nr), ncp = np * nr, Cg = s.Cg, rows = c.tiles * mr;
  const i64 n0 = blk.t0 / c.per, n1 = (blk.t1 - 1) / c.per + 1;
  auto segment = [&](i64 n, i64& off) {  // the part of the block in image n, at block column off
    Item seg = blk;
    const i64 a = std::max(blk.t0, n * c.per), b = std::min(blk.t1, (n + 1) * c.per);
    seg.t0 = a - n * c.per, seg.t1 = b - n * c.per, off = a - blk.t0;
    return seg;
  };
  // split rows: 4 parts of `len` values (a tile row's last vector reads up to vl + 1 past its last
  // tile); per ξ: B panels, products (as forward_task)
  const i64 len = round_up(blk.tw + 1 + vl, vl);
  const i64 nrows = 4 * std::min(blk.th, ceil_div(nt, blk.tw) + 1) + 1;
  const i64 ps = Cg * nr, vs = spread<T>(Cg * ncp), ms = spread<T>(rows * ncp), ts = ncp + vl;
  Workspace& ws = workspace();
  T* v = ws.task_b.get<T>(XI * vs);
  T* m = ws.task_c.get<T>(XI * ms + vl);
  std::fill_n(m + XI * ms, vl, T(0));
  T* split = ws.task_a.get<T>(nrows * 4 * len + XI * ts);
  T* tmp = split + nrows * 4 * len;
  block_panels<XI>(c, gi, n0, n1, segment, tmp, ts, nt, np, v, vs, ps,
                   [&](const Item& seg, const T* yc, const T* next, T* dst) {
                     adjoint_plane<F>(s, seg, yc, next, c.oh, c.ow, len, split, dst, ts);
                   });
  block_products<9, 6, Isa>(c, gi, v, vs, ps, np, m, ms);
  // output transform, added to ∂L/∂x: channel by channel, image by image of the block, along each
  // tile row in vectors of VL tiles (the last one up to the row's last tile and column)
  for (i64 k = 0; k < s.Kg; ++k)
    for (i64 n = n0; n < n1; ++n) {
      i64 off;
      const Item it = segment(n, off);
      const i64 th0 = it.t0 / it.tw, th1 = (it.t1 - 1) / it.tw + 1;
      T* xk = c.y + (n * g.K + gi * s.Kg + k) * s.P;
      for (i64 th = th0; th < th1; ++th) {
        const i64 a0 = std::max(it.t0, th * it.tw), a1 = std::min(it.t1, (th + 1) * it.tw);
        const i64 i0 = 8 * th, nrow = std::min<i64>(8, g.Ho - i0);
        T* yr[8];
        for (i64 i = 0; i < 8; ++i) yr[i] = xk + (i0 + std::min(i, nrow - 1)) * g.Wo;
        const i64 j0 = a0 - th * it.tw, j1 = a1 - th * it.tw;
        const T* mk = m + k * ncp + off + (a0 - it.t0) - j0;  // tile j of this row at mk[j]
        for (i64 j = j0; j < j1; j += vl)
          adjoint_output_tiles<F>(mk + j, ms, yr, nrow, 8 * j, std::min(8 * std::min(vl, j1 - j), g.Wo - 8 * j));
      }
    }
}
template <class Isa, class T>
SVERTKA_CONV_INLINE void adjoint0_task(const void* c, i64 t) {
  adjoint_task<0, Isa, T>(c, t);
}
template <class Isa, class T>
SVERTKA_CONV_INLINE void adjoint1_task(const void* c, i64 t) {
  adjoint_task<1, Isa, T>(c, t);
}
SVERTKA_CONV_ENTRIES(adjoint0_task)
SVERTKA_CONV_ENTRIES(adjoint1_task)

// The filter transform G w Gᵀ of `weight_lanes` filters side by side (task: group gi, filters
// [k0, k0 + weight_lanes) of the group's rows, those past Kg zero) for every channel, into u as run
// lays it out. The sums go in the same order as one filter at a time; in tasks and over lanes of
// filters, because one filter at a time in the calling thread was about 7% of vgg_3x3's forward
// pass at one thread (scalar code, before the tasks start), more at two.
constexpr i64 weight_lanes = 16;
template <class T>
struct WeightCtx {
  const Setup* s;
  const T* w;
  bool flipped;
  T* u;
  i64 mr, rows;
};
template <int R, int M, class T, int SD = 1>
void weight_task(const void* vctx, i64 t) {
  using W = Wino<R, M, SD>;
  constexpr i64 kv = weight_lanes;
  constexpr int A = distinct_rows<R, M, SD>(), XI = A * A;  // (G's distinct rows only)
  const auto& c = *static_cast<const WeightCtx<T>*>(vctx);
  const Setup& s = *c.s;
  const i64 chunks = ceil_div(c.rows, kv), gi = t / chunks, k0 = t % chunks * kv;
  const i64 nk = std::min(kv, c.rows - k0), Cg = s.Cg, mr = c.mr, xs = c.rows * Cg;
  i64 off[kv];  // filter k0 + l of channel 0 at u[off[l]] for ξ = 0, at + ξ·xs for the others
  for (i64 l = 0; l < nk; ++l) off[l] = gi * XI * xs + (k0 + l) / mr * mr * Cg + (k0 + l) % mr;
  for (i64 ci = 0; ci < Cg; ++ci) {
    T f[R][R][kv] = {}, gw[A][R][kv], out[A][A][kv];
    for (i64 l = 0; l < std::min(nk, s.Kg - k0); ++l)
      for (int r = 0; r < R; ++r)
        for (int q = 0; q < R; ++q)
          f[r][q][l] = c.flipped ? c.w[((gi * Cg + ci) * s.Kg + k0 + l) * R * R + (R - 1 - r) * R + (R - 1 - q)]
                                 : c.w[((gi * s.Kg + k0 + l) * Cg + ci) * R * R + r * R + q];
    for (int a = 0; a < A; ++a)
      for (int q = 0; q < R; ++q)
        for (i64 l = 0; l < kv; ++l) {
          T sum = 0;
          for (int r = 0; r < R; ++r) sum += static_cast<T>(W::G[a][r]) * f[r][q][l];
          gw[a][q][l] = sum;
        }
    for (int a = 0; a < A; ++a)
      for (int bb = 0; bb < A; ++bb)
        for (i64 l = 0; l < kv; ++l) {
          T sum = 0;
          for (int q = 0; q < R; ++q) sum += gw[a][q][l] * static_cast<T>(W::G[bb][q]);
          out[a][bb][l] = sum;
        }
    for (int xi = 0; xi < XI; ++xi)
      for (i64 l = 0; l < nk; ++l) c.u[off[l] + xi * xs + ci * mr] = out[xi / A][xi % A][l];
  }
}

// y (=|+=) the convolution of x by the r × r filters `w` through F(m × m, r × r) for geometry s;
// `flipped`: w is the original layer's weight and this is its transposed convolution (filter k,
// channel c of this geometry is w[c, k] turned by 180°).
template <int R, int M, class T, int SD = 1>
void run(const Setup& s, const T* x, const T* w, bool flipped, const T* b, T* y, bool accumulate) {
  const auto& g = s.g;
  constexpr int D = distinct_rows<R, M, SD>();
  const Kernel kern = SD == 2 ? pick_forward43s2_task<T>() : pick_forward_task<R, M, T>();
  const i64 mr = kern.mr, tiles = ceil_div(s.Kg, mr), rows = tiles * mr, Cg = s.Cg;
  // u[gi][(a, b)][k][c] = (G w_kc Gᵀ)[a][b] (a, b < D), in tiles of mr filters laid out [c][mr]
  T* u = workspace().call_a.get<T>(s.G * D * D * rows * Cg);
  const WeightCtx<T> wc{&s, w, flipped, u, mr, rows};
  const i64 chunks = ceil_div(rows, weight_lanes);
  run_tasks(s.G * chunks, 2.0 * static_cast<double>(s.G * rows * Cg * D * R * (R + D)), &weight_task<R, M, T, SD>, &wc);
  // At stride 2 the blocks run over all images (an image's 49 tiles of 28 × 28 outputs fill 4
  // panels of 16 with 15 columns unused; blocks of 64 tiles over the images leave them in the last
  // block only): strided_3x3's forward pass 11.7 -> 10.5 ms at one thread (medians of 8 in
  // alternating runs), 5.85 -> 5.34 at two (of 14); blocks of 96 gained as much at one thread, less
  // at two. Level or mixed on vgg_3x3 and alexnet_c1's phases, whose blocks stay per image.
  const i64 images = SD == 2 ? g.N : 0;
  const i64 block = images ? (isa() == Conv2dIsa::avx512 ? 64 : 48) : tile_block();
  const i64 ni = make_items(g, M, block, NR<T>, nullptr, images);
  Item* items = workspace().call_items.get<Item>(ni);
  make_items(g, M, block, NR<T>, items, images);
  Ctx<T> c{&s, items, ni, x, u, b, y, tiles, balanced(Cg, depth_max, 1), accumulate};
  if (images) c.per = ceil_div(g.Ho, M) * ceil_div(g.Wo, M);
  run_tasks((images ? 1 : g.N) * s.G * ni, 2.0 * static_cast<double>(g.N * g.K * s.P * s.CRS), kern.fn, &c);
}

// The data gradient of a 3 × 3 layer at stride 2 through Adjoint<F> (adjoint_task), added to gx.
template <class T>
void backward_data_halves(const Conv2dGeometry& g, const T* w, const T* gy, T* gx) {
  Setup s{};  // the transposed geometry (no index maps: the task reads gY through c.oh, c.ow)
  s.g = g;
  s.g.C = g.K, s.g.K = g.C, s.g.H = g.Ho, s.g.W = g.Wo, s.g.Ho = g.H, s.g.Wo = g.W;
  s.G = g.groups, s.Cg = g.K / g.groups, s.Kg = g.C / g.groups, s.RS = 9, s.CRS = s.Cg * 9;
  s.HW = g.Ho * g.Wo, s.CHW = g.K * s.HW, s.P = g.H * g.W;
  const Kernel kern = g.padding.top % 2 ? pick_adjoint1_task<T>() : pick_adjoint0_task<T>();
  const i64 mr = kern.mr, tiles = ceil_div(s.Kg, mr), rows = tiles * mr;
  // u[gi][pair of G's distinct rows][c][k] as in run, from the filters turned by 180°
  T* u = workspace().call_a.get<T>(s.G * 36 * rows * s.Cg);
  const WeightCtx<T> wc{&s, w, true, u, mr, rows};
  const i64 chunks = ceil_div(rows, weight_lanes);
  run_tasks(s.G * chunks, 2.0 * static_cast<double>(s.G * rows * s.Cg * 6 * 3 * 9), &weight_task<3, 4, T, 2>, &wc);
  const i64 block = 48;  // tiles (64 and 32 were level or slower on strided_3x3)
  const i64 ni = make_items(s.g, 8, block, NR<T>, nullptr, g.N);
  Item* items = workspace().call_items.get<Item>(ni);
  make_items(s.g, 8, block, NR<T>, items, g.N);
  Ctx<T> c{&s, items, ni, gy, u, nullptr, gx, tiles, balanced(s.Cg, depth_max, 1), true};
  c.per = ceil_div(g.H, i64{8}) * ceil_div(g.W, i64{8});
  c.oh = g.padding.top == 0 ? -1 : (g.padding.top - 1) / 2, c.ow = g.padding.left == 0 ? -1 : (g.padding.left - 1) / 2;
  run_tasks(s.G * ni, 2.0 * static_cast<double>(g.N * g.K * g.Ho * g.Wo * g.C / g.groups * 9), kern.fn, &c);
}

// The tile size m of the forward pass and data gradient by the layer's size: 4 from 16 × 16 outputs
// per phase (5 × 5) or 32 × 32 (3 × 3), else 2.
i64 tile_m(const Conv2dGeometry& g) {
  return large_tiles(g, g.R == 5 ? 16 : 32) ? 4 : 2;
}

// The same with m = tile_m(g).
template <class T>
void run(const Setup& s, const T* x, const T* w, bool flipped, const T* b, T* y, bool accumulate) {
  const auto& g = s.g;
  const i64 m = tile_m(g);
  if (g.R == 5 && m == 4)
    run<5, 4>(s, x, w, flipped, b, y, accumulate);
  else if (g.R == 5)
    run<5, 2>(s, x, w, flipped, b, y, accumulate);
  else if (m == 4)
    run<3, 4>(s, x, w, flipped, b, y, accumulate);
  else
    run<3, 2>(s, x, w, flipped, b, y, accumulate);
}

// A strided layer through its phases. At stride (sh, sw) output (i, j) reads the padded input at
// (i·sh + r, j·sw + q); with r = p + sh·r', q = p' + sw·q' that is pixel (i + r', j + q') of phase
// (p, p') of the padded input (its rows p + sh·i' and columns p' + sw·j'), under tap (r', q') of the
// filter's phase (p, p'), w[k, c, p + sh·r', p' + sw·q'] (zero past R or S). So the layer is a
// stride-1 convolution of ⌈R / sh⌉ × ⌈S / sw⌉ filters over the C·sh·sw phase planes (channel
// (c·sh + p)·sw + p'), without padding, Ho + ⌈R / sh⌉ − 1 rows by Wo + ⌈S / sw⌉ − 1 columns, and it
// runs through F(m × m, 3 × 3) or F(m × m, 5 × 5) like any other: AlexNet's 11 × 11 filters at
// stride 4 are 3 × 3 filters over 48 planes, 36 products per 4 × 4 outputs and plane (16 phases of
// 9 taps, 144 of which 121 are the filter's) against 16·121 direct.
//
// The phase planes are built once, with the padding folded in as everywhere (the layer's index
// maps): extra memory N·C·sh·sw·Hs·Ws values for them and K·Cg·sh·sw·R'·S' for the filters' phases
// (calling thread), one padded row per task thread; one task per image and channel.
template <class T>
struct PhaseCtx {
  const Setup* s;
  const T* x;
  T* xs;
  i64 Hs, Ws;  // a phase plane
};

template <class Isa, class T>
SVERTKA_CONV_INLINE void phase_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const PhaseCtx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  const i64 sh = g.stride.h, sw = g.stride.w, Hs = c.Hs, Ws = c.Ws;
  const i64 qh_end = (g.Ho - 1) * sh + g.R;  // padded rows past it only meet taps past R
  const i64 n = std::max(s.Q, sw * Ws);      // padded columns read, zero from Q on
  T* pad = workspace().task_a.get<T>(n);
  const T* plane = c.x + t * s.HW;
  T* out = c.xs + t * sh * sw * Hs * Ws;  // its phase (p, p') at out + (p·sw + p')·Hs·Ws
  for (i64 i = 0; i < Hs; ++i)
    for (i64 p = 0; p < sh; ++p) {
      const i64 qh = i * sh + p, ih = qh < qh_end ? pad_source(qh - g.padding.top, g.H, g.mode) : -1;
      T* row = out + p * sw * Hs * Ws + i * Ws;
      if (ih < 0) {
        for (i64 q = 0; q < sw; ++q) std::fill_n(row + q * Hs * Ws, Ws, T(0));
        continue;
      }
      // (split straight into the phase planes, phase p' at row + p'·Hs·Ws; from the input row itself
      // when the padded row is its first Q columns)
      const T* src = plane + ih * g.W;
      i64 m = s.Q;
      if (g.padding.left != 0 || s.Q > g.W || (sw != 2 && sw != 4)) {
        pad_row(s, src, pad);
        std::fill(pad + s.Q, pad + n, T(0));
        src = pad, m = n;
      }
      if (sw == 2)
        split<2>(src, m, 0, 1, Ws, row, 0, Hs * Ws);
      else if (sw == 4)
        split<4>(src, m, 0, 1, Ws, row, 0, Hs * Ws);
      else
        for (i64 q = 0; q < sw; ++q)
          for (i64 j = 0; j < Ws; ++j) row[q * Hs * Ws + j] = pad[j * sw + q];
    }
}

SVERTKA_CONV_ENTRIES(phase_task)

template <class T>
void forward_phases(const Setup& s, const T* x, const T* w, const T* b, T* y) {
  const auto& g = s.g;
  const i64 sh = g.stride.h, sw = g.stride.w, Rs = ceil_div(g.R, sh), Ss = ceil_div(g.S, sw);
  Conv2dGeometry t = g;
  t.C = g.C * sh * sw, t.H = g.Ho + Rs - 1, t.W = g.Wo + Ss - 1, t.R = Rs, t.S = Ss;
  t.stride = {1, 1}, t.padding = {0, 0, 0, 0}, t.mode = PadMode::zeros;
  const i64 planes = t.H * t.W, Cg = s.Cg, Cs = Cg * sh * sw;
  // (call_part: the backward passes' scratch, unused by any forward pass)
  T* xs = workspace().call_part.get<T>(g.N * t.C * planes + g.K * Cs * Rs * Ss);
  T* ws = xs + g.N * t.C * planes;
  const PhaseCtx<T> pc{&s, x, xs, t.H, t.W};
  run_tasks(g.N * g.C, 4.0 * static_cast<double>(g.N * t.C * planes), pick_phase_task<T>().fn, &pc);
  // ws[k][(c·sh + p)·sw + p'][r'][q'] = w[k][c][p + sh·r'][p' + sw·q']
  for (i64 k = 0; k < g.K; ++k)
    for (i64 ci = 0; ci < Cg; ++ci)
      for (i64 p = 0; p < sh; ++p)
        for (i64 pp = 0; pp < sw; ++pp) {
          T* f = ws + ((k * Cs) + (ci * sh + p) * sw + pp) * Rs * Ss;
          for (i64 r = 0; r < Rs; ++r)
            for (i64 q = 0; q < Ss; ++q) {
              const i64 rr = p + sh * r, qq = pp + sw * q;
              f[r * Ss + q] = rr < g.R && qq < g.S ? w[((k * Cg + ci) * g.R + rr) * g.S + qq] : T(0);
            }
        }
  run(make_setup(t), xs, ws, false, b, y, false);
}

}  // namespace

bool splits_phases(const Conv2dGeometry& g) {
  if ((g.stride.h == 1 && g.stride.w == 1) || g.dilation.h != 1 || g.dilation.w != 1) return false;
  const i64 r = ceil_div(g.R, g.stride.h), q = ceil_div(g.S, g.stride.w);
  return r == q && (r == 3 || r == 5);
}

bool halves(const Conv2dGeometry& g) {
  return g.stride.h == 2 && g.stride.w == 2 && g.R == 3 && g.S == 3 && g.dilation.h == 1 && g.dilation.w == 1;
}

bool halves_data(const Conv2dGeometry& g) {
  const Padding2d& p = g.padding;
  return halves(g) && g.mode == PadMode::zeros && p.top <= 2 && p.left <= 2 && p.top % 2 == p.left % 2;
}

bool applies(const Conv2dGeometry& g) {
  return g.stride.h == 1 && g.stride.w == 1 && g.R == g.S && (g.R == 3 || g.R == 5);
}

bool large_tiles(const Conv2dGeometry& g, i64 side) {
  return g.Ho / g.dilation.h >= side && g.Wo / g.dilation.w >= side;
}

bool transposes(const Conv2dGeometry& g) {
  const Padding2d& p = g.padding;
  const i64 mh = (g.R - 1) * g.dilation.h, mw = (g.S - 1) * g.dilation.w;
  return p.top <= mh && p.bottom <= mh && p.left <= mw && p.right <= mw;
}

void check_applies(const Conv2dGeometry& g) {
  if (!applies(g))
    throw OptionError(fmt::format("conv2d: the Winograd algorithm needs a 3 × 3 or 5 × 5 filter at stride 1, not {} "
                                  "× {} at stride ({}, {})", g.R, g.S, g.stride.h, g.stride.w));
}

template <class T>
void forward(const Setup& s, const T* x, const T* w, const T* b, T* y) {
  const auto& g = s.g;
  if (splits_phases(g)) return forward_phases(s, x, w, b, y);
  if (halves(g)) return run<3, 4, T, 2>(s, x, w, false, b, y, false);
  if (!applies(g))
    throw OptionError(fmt::format("conv2d: the Winograd algorithm needs a 3 × 3 or 5 × 5 filter at stride 1 (or, "
                                  "forward, a 3 × 3 filter at stride 2 or a filter of 3 × 3 or 5 × 5 taps per phase of the "
                                  "stride, ⌈R / stride⌉, without dilation), not {} × {} at stride ({}, {}), dilation ({}, {})",
                                  g.R, g.S, g.stride.h, g.stride.w, g.dilation.h, g.dilation.w));
  run(s, x, w, false, b, y, false);
}

// The gradient of the padded input of a stride-1 convolution is the convolution of gY, zero-padded
// by m = (r − 1)·dilation on each side, by the layer's filters turned by 180° with filters and
// channels swapped. With padding of at most m it is computed on the input's pixels only (gY padded
// by m − the layer's padding, as for zero padding) and added to dx, and in other modes the padded
// frame's pixels are added to their sources by add_frame. With wider padding it is computed on the
// whole padded input, into a scratch of N·C·(H + top + bottom)·(W + left + right) values (calling
// thread), whose pixels are then added to their sources as the padding kernel's backward pass does.
template <class T>
void backward_data(const Conv2dGeometry& g, const T* w, const T* gy, T* gx) {
  if (halves_data(g)) return backward_data_halves(g, w, gy, gx);
  check_applies(g);
  Conv2dGeometry t = g;
  t.C = g.K, t.H = g.Ho, t.W = g.Wo, t.K = g.C;
  const i64 mh = (g.R - 1) * g.dilation.h, mw = (g.S - 1) * g.dilation.w;
  const Padding2d& p = g.padding;
  if (transposes(g)) {
    t.Ho = g.H, t.Wo = g.W;
    t.padding = {mh - p.top, mh - p.bottom, mw - p.left, mw - p.right}, t.mode = PadMode::zeros;
    run(make_setup(t), gy, w, true, static_cast<const T*>(nullptr), gx, true);
    if (g.mode != PadMode::zeros) add_frame(g, w, gy, gx);
    return;
  }
  t.Ho = g.H + p.top + p.bottom, t.Wo = g.W + p.left + p.right;
  t.padding = {mh, mh, mw, mw}, t.mode = PadMode::zeros;
  T* padded = workspace().call_part.get<T>(g.N * g.C * t.Ho * t.Wo);
  run(make_setup(t), gy, w, true, static_cast<const T*>(nullptr), padded, false);
  pad2d_backward(PadGeometry{.planes = g.N * g.C, .H = g.H, .W = g.W, .padding = p, .mode = g.mode}, padded, gx);
}

template void forward<float>(const Setup&, const float*, const float*, const float*, float*);
template void forward<double>(const Setup&, const double*, const double*, const double*, double*);
template void backward_data<float>(const Conv2dGeometry&, const float*, const float*, float*);
template void backward_data<double>(const Conv2dGeometry&, const double*, const double*, double*);

}  // namespace svertka::kernels::conv::winograd
