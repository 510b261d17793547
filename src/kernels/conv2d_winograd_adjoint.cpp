// The data gradient of a 3 × 3 layer at stride 2 (zero padding of 0-2 above and left, both even or
// both odd; winograd::halves_data) through Adjoint<F> (conv2d_winograd.hpp): tiles of 8 × 8 pixels
// of ∂L/∂x from 5 × 5 values of gY, tiles 4 apart in gY (its rows split 4 ways), 81 products per
// tile, filter and channel. The block's structure is the forward task's at stride 2 (blocks over
// the images, the same products and panels, conv2d_winograd_tasks.hpp) on the transposed geometry
// of the Setup: its C the layer's filters (gY's channels), its K the layer's channels, H × W gY's
// size and Ho × Wo ∂L/∂x's; c.oh, c.ow the first gY row and column of tile (0, 0),
// ⌊(padding − 1) / 2⌋ (−1 or 0).
//
// Extra memory as the forward pass's at stride 2 (conv2d_winograd.hpp) with 81 positions, tiles of
// 8 × 8 and gY's rows split 4 ways.

#include "conv2d_winograd_tasks.hpp"

namespace svertka::kernels::conv::winograd {
namespace {

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
  block_panels<XI>(c, blk, gi, n0, n1, tmp, ts, nt, np, v, vs, ps,
                   [&](const Item& seg, const T* yc, const T* next, T* dst) {
                     adjoint_plane<F>(s, seg, yc, next, c.oh, c.ow, len, split, dst, ts);
                   });
  block_products<9, 6, Isa>(c, gi, v, vs, ps, np, m, ms);
  // output transform, added to ∂L/∂x: channel by channel, image by image of the block, along each
  // tile row in vectors of VL tiles (the last one up to the row's last tile and column)
  for (i64 k = 0; k < s.Kg; ++k)
    for (i64 n = n0; n < n1; ++n) {
      i64 off;
      const Item it = image_part(blk, c.per, n, off);
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

}  // namespace

template <class T>
void backward_data_halves(const Conv2dGeometry& g, const T* w, const T* gy, T* gx) {
  Setup s{};  // the transposed geometry (no index maps: the task reads gY through c.oh, c.ow)
  s.g = g;
  s.g.C = g.K, s.g.K = g.C, s.g.H = g.Ho, s.g.W = g.Wo, s.g.Ho = g.H, s.g.Wo = g.W;
  s.G = g.groups, s.Cg = g.K / g.groups, s.Kg = g.C / g.groups, s.RS = 9, s.CRS = s.Cg * 9;
  s.HW = g.Ho * g.Wo, s.CHW = g.K * s.HW, s.P = g.H * g.W;
  const Kernel kern = g.padding.top % 2 ? pick_adjoint1_task<T>() : pick_adjoint0_task<T>();
  // Wino<3, 4, 2>'s 36 pairs of G's distinct rows, from the filters turned by 180°
  const T* u = transform_weights<3, 4, T, 2>(s, w, true, kern.mr);
  const i64 block = 48;  // tiles (64 and 32 were level or slower on strided_3x3)
  i64 ni;
  const Item* items = block_items<T>(s.g, 8, block, g.N, ni);
  Ctx<T> c{&s, items, ni, gy, u, nullptr, gx, ceil_div(s.Kg, kern.mr), balanced(s.Cg, depth_max, 1), true};
  c.per = ceil_div(g.H, i64{8}) * ceil_div(g.W, i64{8});
  c.oh = g.padding.top == 0 ? -1 : (g.padding.top - 1) / 2, c.ow = g.padding.left == 0 ? -1 : (g.padding.left - 1) / 2;
  run_tasks(s.G * ni, 2.0 * static_cast<double>(g.N * g.K * g.Ho * g.Wo * g.C / g.groups * 9), kern.fn, &c);
}

template void backward_data_halves<float>(const Conv2dGeometry&, const float*, const float*, float*);
template void backward_data_halves<double>(const Conv2dGeometry&, const double*, const double*, double*);

}  // namespace svertka::kernels::conv::winograd
