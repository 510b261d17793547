// The Winograd path's weight gradient, F(r × r, 2 × 2) (the kernels are described in
// conv2d_winograd.hpp).

#include "conv2d_winograd.hpp"

namespace svertka::kernels::conv::winograd {
namespace {

constexpr i64 filter_block = 256;         // tiles per block of the weight gradient (its products' depth)
constexpr i64 max_parts = 8;              // the weight gradient's partial sums: at most 8,
constexpr i64 part_elems = i64{1} << 22;  // of at most 4 Mi values in all

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

// Ĝ of VL tiles of one tile row from tile j, whose M rows of ∂L/∂y rows[i] are split M ways by
// column (split<M>, `len` values each): value ξ of tile j + l goes to dst[ξ·ds + l].
template <int R, int M, class T>
SVERTKA_CONV_INLINE void gy_tiles(const T* const* rows, i64 len, i64 j, T* dst, i64 ds) {
  constexpr int A = Wino<R, M>::a;
  V<T> h[M][A];  // h[q] = column q of A g
#pragma GCC unroll 4
  for (int q = 0; q < M; ++q) {
    V<T> col[M];
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) col[i] = load(rows[i] + q * len + j);
    Wino<R, M>::ag(col, h[q]);
  }
#pragma GCC unroll 8
  for (int a = 0; a < A; ++a) {
    V<T> in[M], row[A];
#pragma GCC unroll 4
    for (int q = 0; q < M; ++q) in[q] = h[q][a];
    Wino<R, M>::ag(in, row);
#pragma GCC unroll 8
    for (int b = 0; b < A; ++b) store(dst + (a * A + b) * ds, row[b]);
  }
}

// Row oh of a ∂L/∂y plane at phase column pw, split as above (oh ≥ Ho: a zero row); the same row of
// plane `next` (the next filter's, or null) prefetched, as the input rows are.
template <int M, class T>
SVERTKA_CONV_INLINE void split_gy_row(const Setup& s, const T* plane, const T* next, i64 oh, i64 pw, i64 len, T* dst) {
  if (oh >= s.g.Ho) {
    std::fill_n(dst, M * len, T(0));
    return;
  }
  split<M>(plane + oh * s.g.Wo, s.g.Wo, pw, s.g.dilation.w, len, dst);
  if (next) prefetch_span(next + oh * s.g.Wo, 0, s.g.Wo);
}

template <int R, int M, class Isa, class T>
SVERTKA_CONV_INLINE void filter_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const FilterCtx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  constexpr i64 nr = NR<T>, vl = VL<T>, dc = Isa::dot_cols;
  constexpr int A = Wino<R, M>::a, XI = A * A;
  const i64 gi = t % s.G, part = t / s.G, Cg = s.Cg, Kg = s.Kg, cgp = c.cgp, kg4 = c.kg4;
  const i64 i0 = part * c.count / c.parts, i1 = (part + 1) * c.count / c.parts;
  // the largest block, tile row and count of split rows of this part's items, for the buffers
  i64 tmax = 0, twmax = 0, nrows_max = 0;
  for (i64 i = i0; i < i1; ++i) {
    const Item& it = c.items[i % c.ni];
    tmax = std::max(tmax, it.t1 - it.t0), twmax = std::max(twmax, it.tw);
    nrows_max = std::max(nrows_max, M * ((it.t1 - 1) / it.tw - it.t0 / it.tw + 1) + A - M);
  }
  const i64 len = round_up(twmax + (A - 1) / M + vl, vl);
  // rows of V (input) and Ĝ (∂L/∂y) per ξ, long enough for the vectors past the last tile; a row
  // one panel longer when its size is a multiple of 2 KiB
  i64 ld = round_up(tmax + vl, nr);
  if (ld * static_cast<i64>(sizeof(T)) % 2048 == 0) ld += nr;
  const i64 vsz = spread<T>(cgp * ld), gsz = spread<T>(kg4 * ld);
  Workspace& ws = workspace();
  T* v = ws.task_b.get<T>(XI * vsz);
  T* gh = ws.task_c.get<T>(XI * gsz);
  T* split = ws.task_a.get<T>(nrows_max * M * len + s.Q + M * len * g.dilation.w + g.dilation.w);
  T* pad = split + nrows_max * M * len;
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
      transform_plane<R, M>(s, it, c.x + (n * g.C + gi * Cg + ci) * s.HW,
                          ci + 1 < Cg ? c.x + (n * g.C + gi * Cg + ci + 1) * s.HW : nullptr, len, split, pad, row, vsz);
      for (i64 xi = 0; xi < XI; ++xi) std::fill(row + xi * vsz + nt, row + xi * vsz + kc, T(0));
    }
    for (i64 k = 0; k < Kg; ++k) {
      const T* plane = c.gy + (n * g.K + gi * Kg + k) * s.P;
      T* row = gh + k * ld;
      for (i64 th = th0; th < th1; ++th) {
        T* sp = split + M * M * len * (th - th0);
        const T* rows[M];
        for (i64 i = 0; i < M; ++i) {
          split_gy_row<M>(s, plane, k + 1 < Kg ? plane + s.P : nullptr, it.ph + (M * th + i) * g.dilation.h, it.pw, len, sp + i * M * len);
          rows[i] = sp + i * M * len;
        }
        const i64 a0 = std::max(it.t0, th * it.tw), a1 = std::min(it.t1, (th + 1) * it.tw);
        for (i64 j = a0 - th * it.tw, col = a0 - it.t0; j < a1 - th * it.tw; j += vl, col += vl)
          gy_tiles<R, M, T>(rows, len, j, row + col, gsz);
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

SVERTKA_WINOGRAD_ENTRIES(filter)

// gw += Gᵀ M G for channel ci of group gi (task gi·Cg + ci), M summed over the parts in order, for
// `kv` filters at a time: the partial sums hold the filters of one (ξ, channel) side by side, so
// each value read is a run of kv filters (one filter per task read 36 · parts scattered lines per
// channel: 16% of vgg_3x3's weight gradient at one thread).
template <class T>
struct FoldCtx {
  const Setup* s;
  const T* part;
  i64 parts, cgp, kg4;
  T* gw;
};
template <int R, int M, class T>
void fold_task(const void* vctx, i64 t) {
  constexpr i64 kv = 16;
  const auto& c = *static_cast<const FoldCtx<T>*>(vctx);
  const Setup& s = *c.s;
  constexpr int A = Wino<R, M>::a, XI = A * A;
  const i64 gi = t / s.Cg, ci = t % s.Cg, per_part = s.G * XI * c.cgp * c.kg4;
  T m[A][A][kv] = {};  // lanes past the last filter: zeros, or finite values of the previous run
  for (i64 k0 = 0; k0 < s.Kg; k0 += kv) {
    const i64 nk = std::min(kv, s.Kg - k0);
    for (int xi = 0; xi < XI; ++xi) {
      const T* p = c.part + ((gi * XI + xi) * c.cgp + ci) * c.kg4 + k0;
      T* mx = m[xi / A][xi % A];
      for (i64 l = 0; l < nk; ++l) mx[l] = p[l];
      for (i64 q = 1; q < c.parts; ++q)
        for (i64 l = 0; l < nk; ++l) mx[l] += p[q * per_part + l];
    }
    // Gᵀ M G
    T r[R][A][kv], o[R][R][kv];
    for (int i = 0; i < R; ++i)
      for (int bb = 0; bb < A; ++bb)
        for (i64 l = 0; l < kv; ++l) {
          T sum = 0;
          for (int a = 0; a < A; ++a) sum += static_cast<T>(Wino<R, M>::G[a][i]) * m[a][bb][l];
          r[i][bb][l] = sum;
        }
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < R; ++j)
        for (i64 l = 0; l < kv; ++l) {
          T sum = 0;
          for (int bb = 0; bb < A; ++bb) sum += r[i][bb][l] * static_cast<T>(Wino<R, M>::G[bb][j]);
          o[i][j][l] = sum;
        }
    for (i64 l = 0; l < nk; ++l) {
      T* out = c.gw + ((gi * s.Kg + k0 + l) * s.Cg + ci) * R * R;
      for (int i = 0; i < R; ++i)
        for (int j = 0; j < R; ++j) out[i * R + j] += o[i][j][l];
    }
  }
}

// Partial sums of M per part (a fixed number, by shape) and group, added in part order by fold_task.
template <int R, int M, class T>
void run_filter(const Setup& s, const T* x, const T* gy, T* gw) {
  const auto& g = s.g;
  constexpr int XI = Wino<R, M>::a * Wino<R, M>::a;
  const Kernel kern = pick_filter_task<R, M, T>();
  const i64 cgp = round_up(s.Cg, kern.dot_cols), kg4 = round_up(s.Kg, 4);
  const i64 ni = make_items(g, M, filter_block, NR<T>, nullptr);
  Item* items = workspace().call_items.get<Item>(ni);
  make_items(g, M, filter_block, NR<T>, items);
  const i64 count = g.N * ni, per_part = s.G * XI * cgp * kg4;
  const i64 parts = std::clamp<i64>(part_elems / per_part, 1, std::min<i64>(max_parts, count));
  T* part = workspace().call_part.get<T>(parts * per_part);
  const FilterCtx<T> c{&s, items, ni, parts, count, x, gy, part, cgp, kg4};
  run_tasks(parts * s.G, 2.0 * static_cast<double>(g.N * g.K * s.P * s.CRS), kern.fn, &c);
  const FoldCtx<T> f{&s, part, parts, cgp, kg4, gw};
  run_tasks(s.G * s.Cg, XI * static_cast<double>(parts * per_part), &fold_task<R, M, T>, &f);
}

}  // namespace

template <class T>
void backward_filter(const Setup& s, const T* x, const T* gy, T* gw) {
  if (halves_filter(s.g)) return backward_filter_halves(s.g, x, gy, gw);
  check_applies(s.g);
  if (s.g.R == 5 && large_tiles(s.g, 32))
    run_filter<5, 4>(s, x, gy, gw);
  else if (s.g.R == 5)
    run_filter<5, 2>(s, x, gy, gw);
  else if (large_tiles(s.g, 48))
    run_filter<3, 4>(s, x, gy, gw);
  else
    run_filter<3, 2>(s, x, gy, gw);
}

template void backward_filter<float>(const Setup&, const float*, const float*, float*);
template void backward_filter<double>(const Setup&, const double*, const double*, double*);

}  // namespace svertka::kernels::conv::winograd
