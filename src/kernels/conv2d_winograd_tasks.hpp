// The pieces of the Winograd tasks that the forward pass (conv2d_winograd.cpp) shares with the
// stride-2 data gradient (conv2d_winograd_adjoint.cpp): the task context, the blocks' B panels and
// products, the stores of output tiles and the filter transform. Their use and extra memory are
// described in conv2d_winograd.hpp.

#pragma once

#include "conv2d_winograd.hpp"

namespace svertka::kernels::conv::winograd {

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

// The part of block blk in image n when the blocks run over all images (per: the tiles of an
// image; off: the part's first column of the block), else the block itself.
inline Item image_part(const Item& blk, i64 per, i64 n, i64& off) {
  Item seg = blk;
  off = 0;
  if (per) {
    const i64 a = std::max(blk.t0, n * per), b = std::min(blk.t1, (n + 1) * per);
    seg.t0 = a - n * per, seg.t1 = b - n * per, off = a - blk.t0;
  }
  return seg;
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

// The input transform of block blk into its B panels, channel by channel: plane(seg, x, next, dst)
// transforms the part `seg` of the block in image n (image_part, at block column off) of image n's
// plane x of the channel into tmp from dst = tmp + off (next: the next channel's plane, or null),
// then to_panels. The columns of
// tmp past the block's nt tiles are zero until a vector writes them, so that the products of the
// last panel's unused columns (never read) only ever see finite values.
template <int XI, class T, class Plane>
SVERTKA_CONV_INLINE void block_panels(const Ctx<T>& c, const Item& blk, i64 gi, i64 n0, i64 n1, T* tmp, i64 ts,
                                      i64 nt, i64 np, T* v, i64 vs, i64 ps, Plane plane) {
  const Setup& s = *c.s;
  const i64 Cg = s.Cg;
  for (i64 xi = 0; xi < XI; ++xi) std::fill(tmp + xi * ts + nt, tmp + (xi + 1) * ts, T(0));
  for (i64 ci = 0; ci < Cg; ++ci) {
    for (i64 n = n0; n < n1; ++n) {
      i64 off;
      const Item seg = image_part(blk, c.per, n, off);
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


// The filter transform G w Gᵀ of `weight_lanes` filters side by side (task: group gi, filters
// [k0, k0 + weight_lanes) of the group's rows, those past Kg zero) for every channel, into u as
// transform_weights lays it out. The sums go in the same order as one filter at a time; in tasks
// and over lanes of filters, because one filter at a time in the calling thread was about 7% of
// vgg_3x3's forward pass at one thread (scalar code, before the tasks start), more at two.
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

// The transformed weights of geometry s for Wino<R, M, SD> in tiles of mr filters, as the tasks
// read them (u[gi][pair of G's distinct rows][tile of mr filters][Cg][mr], in the calling thread's
// call_a), from w, or when `flipped` from the filters of the transposed layer turned by 180°.
template <int R, int M, class T, int SD = 1>
const T* transform_weights(const Setup& s, const T* w, bool flipped, i64 mr) {
  constexpr int D = distinct_rows<R, M, SD>();
  const i64 rows = ceil_div(s.Kg, mr) * mr;
  T* u = workspace().call_a.get<T>(s.G * D * D * rows * s.Cg);
  const WeightCtx<T> wc{&s, w, flipped, u, mr, rows};
  run_tasks(s.G * ceil_div(rows, weight_lanes), 2.0 * static_cast<double>(s.G * rows * s.Cg * D * R * (R + D)),
            &weight_task<R, M, T, SD>, &wc);
  return u;
}

// make_items's blocks of g in the calling thread's call_items; their count in ni.
template <class T>
const Item* block_items(const Conv2dGeometry& g, i64 m, i64 block, i64 images, i64& ni) {
  ni = make_items(g, m, block, NR<T>, nullptr, images);
  Item* items = workspace().call_items.get<Item>(ni);
  make_items(g, m, block, NR<T>, items, images);
  return items;
}

// gx += the data gradient of a 3 × 3 layer at stride 2 with zero padding of 0-2 above and left of
// one parity (halves_data) through Adjoint<F> (conv2d_winograd_adjoint.cpp).
template <class T>
void backward_data_halves(const Conv2dGeometry& g, const T* w, const T* gy, T* gx);

}  // namespace svertka::kernels::conv::winograd
