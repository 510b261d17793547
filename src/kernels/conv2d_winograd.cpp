// The Winograd path's forward pass and data gradient (the kernels are described in
// conv2d_winograd.hpp).

#include <fmt/format.h>

#include "conv2d_winograd.hpp"
#include "svertka/core/error.hpp"
#include "svertka/kernels/pad2d.hpp"

namespace svertka::kernels::conv::winograd {
namespace {

constexpr i64 tile_block = 48;            // tiles per task: B panels and products of α² positions in L2
constexpr i64 depth_max = 256;            // channels per micro-kernel call (the GEMM path's depth chunk)

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

SVERTKA_WINOGRAD_ENTRIES(forward)

// y (=|+=) the convolution of x by the r × r filters `w` through F(2 × 2, r × r) for geometry s;
// `flipped`: w is the original layer's weight and this is its transposed convolution (filter k,
// channel c of this geometry is w[c, k] turned by 180°).
template <int R, class T>
void run(const Setup& s, const T* x, const T* w, bool flipped, const T* b, T* y, bool accumulate) {
  const auto& g = s.g;
  constexpr int A = Wino<R>::a, XI = A * A;
  const Kernel kern = pick_forward_task<R, T>();
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

}  // namespace

bool applies(const Conv2dGeometry& g) {
  return g.stride.h == 1 && g.stride.w == 1 && g.R == g.S && (g.R == 3 || g.R == 5);
}

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

template void forward<float>(const Setup&, const float*, const float*, const float*, float*);
template void forward<double>(const Setup&, const double*, const double*, const double*, double*);
template void backward_data<float>(const Conv2dGeometry&, const float*, const float*, float*);
template void backward_data<double>(const Conv2dGeometry&, const double*, const double*, double*);

}  // namespace svertka::kernels::conv::winograd
