// The weight gradient of a 3 × 3 layer at stride 2 with zero padding (winograd::halves_filter)
// through Wino<3, 4, 2> transposed. A 4 × 4 tile g of ∂L/∂y and the 9 × 9 padded input tile d it
// reads (tiles 4 apart in ∂L/∂y, 8 apart in the input) give
//
//   dW = Gᵀ [(A g Aᵀ) ⊙ (Bᵀ d B)] G
//
// with Wino<3, 4, 2>'s Bᵀ and G and A = (Aᵀ)ᵀ (in each direction F(4, 2) on the even taps and a
// product per odd value for the odd tap): 81 products per tile, filter and channel instead of 144.
// Summed over the tiles, dW_kc = Gᵀ M_kc G with M_ξ[c][k] = Σ_tiles V_ξ[c][tile] · Ĝ_ξ[tile][k],
// V = Bᵀ d B and Ĝ = A g Aᵀ.
//
// Task: (part of the images, group, row a of the 9 × 9 positions ξ = (a, b)). Its 9 products
// M_(a, b), b < 9, Cgp × Kp each (channels rounded up to 4, filters to 64 bytes), stay in L2 while it
// runs over its images block by block of tile rows (at most block_tiles tiles, at least one row):
// - Ĝ_(a, b)[tile][k]: the 4 rows of ∂L/∂y of a tile row combined by row a of A (filters as lanes,
//   from ∂L/∂y transposed once per call to [group][image][pixel][filter]), then A along the 4
//   columns of each tile;
// - V_(a, b)[c][tile]: per channel the input rows of a tile row combined by row a of Bᵀ (in place,
//   columns as lanes), split 8 ways by column, then Bᵀ along the columns (tiles as lanes);
// - M_(a, b)[c][k] += Σ_tile V[c][tile] · Ĝ[tile][k], 4 channels × 4 vectors of filters (AVX-512;
//   else 4 × 2 vectors of 32 bytes) per pass over the block's tiles, no horizontal sums.
// Rows a of A and Bᵀ are sparse (Bᵀ's rows 5-8 one input row each, A's rows 0, 4-8 one ∂L/∂y row):
// the 9 tasks of a part read its input about 2.5 times and its ∂L/∂y 4.5 times, from L3 or memory.
// fold_task then sums M over the parts in order and applies G on both sides.
//
// Extra memory: ∂L/∂y transposed, G · N · Ho · Wo · Kp values, and the parts' products,
// parts · G · 81 · Cgp · Kp (calling thread); per task thread Ĝ (9 · block · Kp values), V (9 · Cgp ·
// block) and one combined row of ∂L/∂y (Wo · Kp). The parts depend on the shape only and each task
// owns its products: results are the same for any thread count.

#include "conv2d_winograd.hpp"

namespace svertka::kernels::conv::winograd {
namespace {

using W2 = Wino<3, 4, 2>;
constexpr i64 block_tiles = 64;           // tiles per block (whole tile rows, at least one)
constexpr i64 max_parts = 2;              // parts of the images: at most 2,
constexpr i64 part_elems = i64{1} << 22;  // of at most 4 Mi products in all

// 64 bytes of T as a GCC vector: the filters of one row of Ĝ, M or ∂L/∂y transposed
template <class T>
struct WideOf {
  typedef T W __attribute__((vector_size(64), aligned(sizeof(T))));
};
template <class T>
using Wide = typename WideOf<T>::W;
template <class T>
inline constexpr i64 WL = static_cast<i64>(64 / sizeof(T));
template <class U, class T>
SVERTKA_CONV_INLINE U load_as(const T* p) {
  U v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
template <class U, class T>
SVERTKA_CONV_INLINE void store_as(T* p, U v) {
  __builtin_memcpy(p, &v, sizeof v);
}

// The rows of Bᵀ (on the 9 padded input values of a tile in one direction) and A (on its 4 values
// of ∂L/∂y): Wino<3, 4, 2>'s bt and at applied to unit vectors.
struct Rows {
  double bt[9][9], a[9][4];
};
Rows make_rows() {
  Rows r{};
  for (int u = 0; u < 9; ++u) {
    double d[9] = {}, t[9];
    d[u] = 1;
    W2::bt(d, t);
    for (int a = 0; a < 9; ++a) r.bt[a][u] = t[a];
  }
  for (int a = 0; a < 9; ++a) {
    double m[9] = {}, y[4];
    m[a] = 1;
    W2::at(m, y);
    for (int i = 0; i < 4; ++i) r.a[a][i] = y[i];  // y = Aᵀ m: row a of A
  }
  return r;
}

template <class T>
struct Ctx {
  const Conv2dGeometry* g;
  Rows rows;
  i64 G, Cg, Kg, cgp, kp, th, tw, rb, parts;  // rb: tile rows per block
  const T *x, *gy;
  T* gyt;                                       // [group][image][pixel][kp]
  T* m;                                         // [part][group][a][b][cgp][kp]
  i64 gps, vps, ldt;                            // Ĝ and V planes, V rows
  T* gw;
};

// The products' micro-kernel: 4 × 4 vectors of 64 bytes on AVX-512, 4 × 2 of 32 bytes elsewhere.
template <class Isa>
inline constexpr bool wide_products = false;
#ifdef SVERTKA_CONV_X86
template <>
inline constexpr bool wide_products<Avx512> = true;
#endif

// r[0 .. VL) in place turned: r[j][l] = old r[l][j]
SVERTKA_CONV_INLINE void transpose_lanes(V<float>* r) {
  V<float> a[8], b[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    a[2 * i] = __builtin_shufflevector(r[2 * i], r[2 * i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    a[2 * i + 1] = __builtin_shufflevector(r[2 * i], r[2 * i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  // a[2i]: rows 2i, 2i + 1 at columns 0, 1 | 4, 5; a[2i + 1]: columns 2, 3 | 6, 7
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {
    b[4 * h] = __builtin_shufflevector(a[4 * h], a[4 * h + 2], 0, 1, 8, 9, 4, 5, 12, 13);      // column 0 | 4
    b[4 * h + 1] = __builtin_shufflevector(a[4 * h], a[4 * h + 2], 2, 3, 10, 11, 6, 7, 14, 15);  // 1 | 5
    b[4 * h + 2] = __builtin_shufflevector(a[4 * h + 1], a[4 * h + 3], 0, 1, 8, 9, 4, 5, 12, 13);  // 2 | 6
    b[4 * h + 3] = __builtin_shufflevector(a[4 * h + 1], a[4 * h + 3], 2, 3, 10, 11, 6, 7, 14, 15);  // 3 | 7
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    r[j] = __builtin_shufflevector(b[j], b[4 + j], 0, 1, 2, 3, 8, 9, 10, 11);
    r[j + 4] = __builtin_shufflevector(b[j], b[4 + j], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}
SVERTKA_CONV_INLINE void transpose_lanes(V<double>* r) {
  const V<double> a0 = __builtin_shufflevector(r[0], r[1], 0, 4, 2, 6), a1 = __builtin_shufflevector(r[0], r[1], 1, 5, 3, 7);
  const V<double> a2 = __builtin_shufflevector(r[2], r[3], 0, 4, 2, 6), a3 = __builtin_shufflevector(r[2], r[3], 1, 5, 3, 7);
  r[0] = __builtin_shufflevector(a0, a2, 0, 1, 4, 5), r[2] = __builtin_shufflevector(a0, a2, 2, 3, 6, 7);
  r[1] = __builtin_shufflevector(a1, a3, 0, 1, 4, 5), r[3] = __builtin_shufflevector(a1, a3, 2, 3, 6, 7);
}

// (v[1], ..., v[VL − 1], last)
SVERTKA_CONV_INLINE V<float> next_lane(V<float> v, float last) {
  V<float> r = __builtin_shufflevector(v, v, 1, 2, 3, 4, 5, 6, 7, 7);
  r[7] = last;
  return r;
}
SVERTKA_CONV_INLINE V<double> next_lane(V<double> v, double last) {
  V<double> r = __builtin_shufflevector(v, v, 1, 2, 3, 3);
  r[3] = last;
  return r;
}

// c.gyt's block of image n, group gi: ∂L/∂y as [pixel][kp] (filters past Kg zero), VL × VL blocks
// turned in registers.
template <class Isa, class T>
SVERTKA_CONV_INLINE void transpose_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const auto& g = *c.g;
  constexpr i64 vl = VL<T>;
  const i64 n = t / c.G, gi = t % c.G, P = g.Ho * g.Wo, kp = c.kp, Kg = c.Kg;
  const T* src = c.gy + (n * g.K + gi * Kg) * P;
  T* dst = c.gyt + (gi * g.N + n) * P * kp;
  i64 k0 = 0;
  for (; k0 + vl <= Kg; k0 += vl) {
    const T* s0 = src + k0 * P;
    if (k0 + vl < Kg) prefetch_span(s0 + vl * P, 0, std::min(Kg - k0 - vl, vl) * P);
    i64 p = 0;
    for (; p + vl <= P; p += vl) {
      V<T> r[vl];
#pragma GCC unroll 8
      for (int i = 0; i < vl; ++i) r[i] = load(s0 + i * P + p);
      transpose_lanes(r);
#pragma GCC unroll 8
      for (int i = 0; i < vl; ++i) store(dst + (p + i) * kp + k0, r[i]);
    }
    for (; p < P; ++p)
      for (i64 i = 0; i < vl; ++i) dst[p * kp + k0 + i] = s0[i * P + p];
  }
  for (i64 p = 0; p < P; ++p)
    for (i64 k = k0; k < kp; ++k) dst[p * kp + k] = k < Kg ? src[k * P + p] : T(0);
}

// Ĝ_(a, b)[tile][k] of the tile rows [ti0, ti1) of image n, group gi into gh (plane b at gh + b·gps,
// tile (ti, tj) at row (ti − ti0)·tw + tj); s: one combined row, Wo·kp values.
template <class T>
SVERTKA_CONV_INLINE void gy_block(const Ctx<T>& c, i64 gi, i64 n, int a, i64 ti0, i64 ti1, T* gh, T* s) {
  using U = Wide<T>;
  constexpr i64 wl = WL<T>;
  const auto& g = *c.g;
  const i64 kp = c.kp, rl = g.Wo * kp;
  const T* img = c.gyt + (gi * g.N + n) * g.Ho * rl;
  for (i64 ti = ti0; ti < ti1; ++ti) {
    bool any = false;
    for (int i = 0; i < 4; ++i) {
      const T cf = static_cast<T>(c.rows.a[a][i]);
      const i64 r = 4 * ti + i;
      if (cf == 0 || r >= g.Ho) continue;
      const T* row = img + r * rl;
      if (!any)
        for (i64 e = 0; e < rl; e += wl) store_as(s + e, cf * load_as<U>(row + e));
      else
        for (i64 e = 0; e < rl; e += wl) store_as(s + e, load_as<U>(s + e) + cf * load_as<U>(row + e));
      any = true;
    }
    if (!any) std::fill_n(s, rl, T(0));
    for (i64 tj = 0; tj < c.tw; ++tj) {
      const i64 nj = std::min<i64>(4, g.Wo - 4 * tj);
      T* dst = gh + ((ti - ti0) * c.tw + tj) * kp;
      for (i64 k = 0; k < kp; k += wl) {
        U q[4] = {}, h[9];
        for (i64 j = 0; j < nj; ++j) q[j] = load_as<U>(s + (4 * tj + j) * kp + k);
        W2::ag(q, h);
#pragma GCC unroll 9
        for (int b = 0; b < 9; ++b) store_as(dst + b * c.gps + k, h[b]);
      }
    }
  }
}

// V_(a, b)[c][tile] of the tile rows [ti0, ti1) of image n, group gi into v (plane b at v + b·vps,
// channel rows ldt apart), tiles as lanes: a tile row's input rows combined by row a of Bᵀ, 8·VL
// padded columns at a time (VL tiles) split 8 ways, then Bᵀ along the columns. Up to VL − 1 values
// past a tile row's last tile are written too (overwritten by the next row, or past the block).
template <class T>
SVERTKA_CONV_INLINE void x_block(const Ctx<T>& c, i64 gi, i64 n, int a, i64 ti0, i64 ti1, T* v) {
  constexpr i64 vl = VL<T>;
  const auto& g = *c.g;
  const i64 HW = g.H * g.W, top = g.padding.top, left = g.padding.left;
  int us[9], nu = 0;
  for (int u = 0; u < 9; ++u)
    if (c.rows.bt[a][u] != 0) us[nu++] = u;
  for (i64 ci = 0; ci < c.Cg; ++ci) {
    const T* plane = c.x + (n * g.C + gi * c.Cg + ci) * HW;
    for (i64 ti = ti0; ti < ti1; ++ti) {
      const T* rows[9];
      T cr[9];
      int nr = 0;
      for (int i = 0; i < nu; ++i) {
        const i64 r = 8 * ti + us[i] - top;
        if (r < 0 || r >= g.H) continue;
        rows[nr] = plane + r * g.W, cr[nr++] = static_cast<T>(c.rows.bt[a][us[i]]);
        if (ci + 1 < c.Cg) prefetch_span(plane + HW + r * g.W, 0, g.W);
      }
      T* dst = v + ci * c.ldt + (ti - ti0) * c.tw;
      for (i64 j = 0; j < c.tw; j += vl) {
        const i64 q0 = 8 * j - left;  // the input column of the first tile's first padded column
        V<T> col[8] = {};
        T last = 0;                   // padded column 8·(j + VL), the last tile's ninth
        for (int i = 0; i < nr; ++i) {
#pragma GCC unroll 8
          for (int k = 0; k < 8; ++k) col[k] += cr[i] * row_vector(rows[i], q0 + k * vl, g.W);
          const i64 q = q0 + 8 * vl;
          if (q >= 0 && q < g.W) last += cr[i] * rows[i][q];
        }
        V<T> d[9], t[9];
        deinterleave<8, T>(col, d);  // d[u][l]: padded column 8·(j + l) + u
        d[8] = next_lane(d[0], last);
        W2::bt(d, t);
#pragma GCC unroll 9
        for (int b = 0; b < 9; ++b) store(dst + b * c.vps + j, t[b]);
      }
    }
  }
}

// m[r·kp + k] += Σ_{t < nt} v[r·ldt + t] · gh[t·kp + k] for r < 4 and KV vectors U of k.
template <class Isa, class U, int KV, class T>
SVERTKA_CONV_INLINE void product_block(i64 nt, const T* v, i64 ldt, const T* gh, i64 kp, T* m) {
  constexpr i64 ul = static_cast<i64>(sizeof(U) / sizeof(T));
  U acc[4][KV];
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < KV; ++j) acc[r][j] = load_as<U>(m + r * kp + j * ul);
  for (i64 t = 0; t < nt; ++t) {
    U gb[KV];
#pragma GCC unroll 4
    for (int j = 0; j < KV; ++j) {
      U r = load_as<U>(gh + t * kp + j * ul);
#ifdef SVERTKA_CONV_X86
      // in a register for its 4 uses (folded into each multiply-add, the loads took every load slot)
      if constexpr (wide_products<Isa>) asm("" : "+v"(r));
#endif
      gb[j] = r;
    }
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const T sv = v[r * ldt + t];
#pragma GCC unroll 4
      for (int j = 0; j < KV; ++j) acc[r][j] += sv * gb[j];
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < KV; ++j) store_as(m + r * kp + j * ul, acc[r][j]);
}

// M_(a, b) += V_(a, b) · Ĝ_(a, b) over nt tiles, b < 9
template <class Isa, class T>
SVERTKA_CONV_INLINE void block_products(const Ctx<T>& c, i64 nt, const T* v, const T* gh, T* m) {
  const i64 kp = c.kp;
  for (int b = 0; b < 9; ++b) {
    const T* vb = v + b * c.vps;
    const T* gb = gh + b * c.gps;
    T* mb = m + b * c.cgp * kp;
    if constexpr (wide_products<Isa>) {
      using U = Wide<T>;
      constexpr i64 wl = WL<T>;
      i64 k = 0;
      for (; k + 4 * wl <= kp; k += 4 * wl)
        for (i64 ci = 0; ci < c.cgp; ci += 4)
          product_block<Isa, U, 4>(nt, vb + ci * c.ldt, c.ldt, gb + k, kp, mb + ci * kp + k);
      const i64 rest = (kp - k) / wl;
      for (i64 ci = 0; ci < c.cgp; ci += 4) {
        if (rest == 3) product_block<Isa, U, 3>(nt, vb + ci * c.ldt, c.ldt, gb + k, kp, mb + ci * kp + k);
        if (rest == 2) product_block<Isa, U, 2>(nt, vb + ci * c.ldt, c.ldt, gb + k, kp, mb + ci * kp + k);
        if (rest == 1) product_block<Isa, U, 1>(nt, vb + ci * c.ldt, c.ldt, gb + k, kp, mb + ci * kp + k);
      }
    } else {
      using U = V<T>;
      constexpr i64 step = 2 * VL<T>;  // kp is a whole number of 64 bytes
      for (i64 k = 0; k < kp; k += step)
        for (i64 ci = 0; ci < c.cgp; ci += 4)
          product_block<Isa, U, 2>(nt, vb + ci * c.ldt, c.ldt, gb + k, kp, mb + ci * kp + k);
    }
  }
}

template <class Isa, class T>
SVERTKA_CONV_INLINE void filter_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const auto& g = *c.g;
  const int a = static_cast<int>(t % 9);
  const i64 gi = t / 9 % c.G, part = t / 9 / c.G;
  const i64 n0 = part * g.N / c.parts, n1 = (part + 1) * g.N / c.parts;
  Workspace& ws = workspace();
  T* gh = ws.task_a.get<T>(9 * c.gps);
  T* v = ws.task_b.get<T>(9 * c.vps);
  T* s = ws.task_c.get<T>(g.Wo * c.kp);
  // channel rows past Cg stay zero (their products too)
  for (int b = 0; b < 9; ++b) std::fill(v + b * c.vps + c.Cg * c.ldt, v + b * c.vps + c.cgp * c.ldt, T(0));
  T* m = c.m + ((part * c.G + gi) * 9 + a) * 9 * c.cgp * c.kp;
  std::fill_n(m, 9 * c.cgp * c.kp, T(0));
  for (i64 n = n0; n < n1; ++n)
    for (i64 ti0 = 0; ti0 < c.th; ti0 += c.rb) {
      const i64 ti1 = std::min(c.th, ti0 + c.rb);
      gy_block(c, gi, n, a, ti0, ti1, gh, s);
      x_block(c, gi, n, a, ti0, ti1, v);
      block_products<Isa, T>(c, (ti1 - ti0) * c.tw, v, gh, m);
    }
}

SVERTKA_CONV_ENTRIES(transpose_task)
SVERTKA_CONV_ENTRIES(filter_task)

// gw += Gᵀ M G for channel ci of group gi (task gi·Cg + ci), M summed over the parts in order: Gᵀ
// along a into r[u][b][k] row by row of M (each a run of kp values), then G along b.
template <class Isa, class T>
SVERTKA_CONV_INLINE void fold_task(const void* vctx, i64 t) {
  using U = Wide<T>;
  constexpr i64 wl = WL<T>;
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const i64 gi = t / c.Cg, ci = t % c.Cg, kp = c.kp, plane = c.cgp * kp, per_part = c.G * 81 * plane;
  T* r = workspace().task_a.get<T>(27 * kp);  // [u][b][k]
  std::fill_n(r, 27 * kp, T(0));
  for (int a = 0; a < 9; ++a)
    for (int b = 0; b < 9; ++b) {
      const T* p = c.m + (gi * 81 + a * 9 + b) * plane + ci * kp;
      for (i64 k = 0; k < kp; k += wl) {
        U v = load_as<U>(p + k);
        for (i64 q = 1; q < c.parts; ++q) v += load_as<U>(p + q * per_part + k);
        for (int u = 0; u < 3; ++u)
          if (W2::G[a][u] != 0) store_as(r + (u * 9 + b) * kp + k, load_as<U>(r + (u * 9 + b) * kp + k) + static_cast<T>(W2::G[a][u]) * v);
      }
    }
  for (i64 k0 = 0; k0 < c.Kg; k0 += wl)
    for (int u = 0; u < 3; ++u)
      for (int w = 0; w < 3; ++w) {
        U o = {};
        for (int b = 0; b < 9; ++b)
          if (W2::G[b][w] != 0) o += static_cast<T>(W2::G[b][w]) * load_as<U>(r + (u * 9 + b) * kp + k0);
        for (i64 l = 0; l < wl && k0 + l < c.Kg; ++l) c.gw[((gi * c.Kg + k0 + l) * c.Cg + ci) * 9 + u * 3 + w] += o[l];
      }
}

SVERTKA_CONV_ENTRIES(fold_task)

}  // namespace

bool halves_filter(const Conv2dGeometry& g) {
  return halves(g) && g.mode == PadMode::zeros;
}

template <class T>
void backward_filter_halves(const Conv2dGeometry& g, const T* x, const T* gy, T* gw) {
  Ctx<T> c{};
  c.g = &g, c.rows = make_rows();
  c.G = g.groups, c.Cg = g.C / g.groups, c.Kg = g.K / g.groups;
  c.cgp = round_up(c.Cg, 4), c.kp = round_up(c.Kg, WL<T>);
  c.th = ceil_div(g.Ho, 4), c.tw = ceil_div(g.Wo, 4);
  c.rb = std::clamp<i64>(block_tiles / c.tw, 1, c.th);
  const i64 nt = c.rb * c.tw;
  // V's channel rows one panel longer when a multiple of 2 KiB (the products read 4 of them at once)
  c.ldt = round_up(nt + VL<T>, NR<T>);
  if (c.ldt * static_cast<i64>(sizeof(T)) % 2048 == 0) c.ldt += NR<T>;
  c.gps = spread<T>(nt * c.kp), c.vps = spread<T>(c.cgp * c.ldt);
  const i64 per_part = c.G * 81 * c.cgp * c.kp;
  c.parts = std::clamp<i64>(part_elems / per_part, 1, std::min(max_parts, g.N));
  c.x = x, c.gy = gy, c.gw = gw;
  Workspace& ws = workspace();
  c.gyt = ws.call_a.get<T>(c.G * g.N * g.Ho * g.Wo * c.kp);
  c.m = ws.call_part.get<T>(c.parts * per_part);
  const double values = static_cast<double>(g.N * g.K * g.Ho * g.Wo);
  run_tasks(g.N * c.G, values, pick_transpose_task<T>().fn, &c);
  run_tasks(c.parts * c.G * 9, 2.0 * values * static_cast<double>(c.Cg) * 81 / 16, pick_filter_task<T>().fn, &c);
  run_tasks(c.G * c.Cg, static_cast<double>(c.parts * per_part), pick_fold_task<T>().fn, &c);
}

template void backward_filter_halves<float>(const Conv2dGeometry&, const float*, const float*, float*);
template void backward_filter_halves<double>(const Conv2dGeometry&, const double*, const double*, double*);

}  // namespace svertka::kernels::conv::winograd
