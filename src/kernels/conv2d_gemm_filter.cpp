// The GEMM path's weight gradient (see conv2d_gemm.hpp for the path as a whole): dot products of
// packed gY rows with im2col rows packed through the panel maps, built from padded rows, or (flat:
// AVX2 at stride 1, AVX-512 at strides 2 and 4) read in place from the padded input's phase planes; per-part
// sums added in part order.

#include "conv2d_gemm.hpp"

namespace svertka::kernels::conv::gemm {
namespace {

// ------------------------------------------------------------------------------------------------
// backward filter
// ------------------------------------------------------------------------------------------------
template <class T>
struct FilterCtx {
  const Setup* s;
  ColumnMaps cm;
  const T *x, *gy;
  T* part;  // [parts][G][crsp][kg4]: CRS rounded up to dot_cols, Kg to 4
  i64 parts, kg4, crsp, db;
  bool rows;  // im2col rows from padded input rows (RowPanels), not panel maps
  // flat: blocks of m whole output rows, laid out L apart; lda: a gY row of a block; cb: input
  // channels whose phase planes are built at a time, each `pitch` long; prow: rows of a phase plane
  bool flat = false;
  i64 m = 0, L = 0, lda = 0, cb = 0, pitch = 0, prow = 0;
};

// The phase planes of input channel `xc` for a block of `rows` output rows from oh0: plane (a, b)
// (a < sh, b < sw; at pl + (a·sw + b)·prow·L) holds in row i, column j the padded input pixel
// (sh·(oh0 + i) + a, sw·j + b), zero where the padding says so, past the padded row (Q) and in
// rows no tap of the block reads. Tap (r, s) of output pixel (oh0 + i, ow) is then plane
// (r·dh % sh, s·dw % sw) at (i + r·dh / sh)·L + ow + s·dw / sw. At stride 1 there is one plane and
// its rows are the padded rows. `tmp` holds one padded row (Q).
template <class Isa, class T>
SVERTKA_CONV_INLINE void fill_phase_planes(const Setup& s, const FilterCtx<T>& c, i64 oh0, i64 rows, const T* xc, T* pl,
                                           T* tmp) {
  const auto& g = s.g;
  const i64 sh = g.stride.h, sw = g.stride.w, L = c.L, plane = c.prow * L;
  const i64 last = (rows - 1) * sh + (g.R - 1) * g.dilation.h;  // the last padded row read, from sh·oh0
  for (i64 a = 0; a < sh; ++a)
    for (i64 i = 0; i < c.prow; ++i) {
      T* d = pl + a * sw * plane + i * L;  // row i of plane (a, 0)
      const i64 rel = i * sh + a, ih = rel <= last ? pad_source(oh0 * sh + rel - g.padding.top, g.H, g.mode) : -1;
      if (ih < 0) {
        for (i64 b = 0; b < sw; ++b) std::fill_n(d + b * plane, L, T(0));
        continue;
      }
      if (sw == 1) {
        pad_row(s, xc + ih * g.W, d);
        std::fill(d + s.Q, d + L, T(0));
        continue;
      }
      if constexpr (std::is_same_v<Isa, Avx512> && std::is_same_v<T, float>)
        if (sw == 2 || sw == 4) {
          // straight from the input row (strided_3x3: its phases took a tenth of the weight
          // gradient through a padded copy and 8 columns a step), then the padded columns outside
          // the image through the column map
          const T* xrow = xc + ih * g.W;
          if (sw == 2)
            Avx512::split_phases<2>(xrow, g.W, g.padding.left, s.Q, L, d, plane);
          else
            Avx512::split_phases<4>(xrow, g.W, g.padding.left, s.Q, L, d, plane);
          const i64 qa = std::min(g.padding.left, s.Q), qb = std::clamp(g.padding.left + g.W, qa, s.Q);
          const auto edge = [&](i64 q) {
            if (q / sw < L && s.qmap[q] >= 0) d[q % sw * plane + q / sw] = xrow[s.qmap[q]];
          };
          for (i64 q = 0; q < qa; ++q) edge(q);
          for (i64 q = qb; q < s.Q; ++q) edge(q);
          continue;
        }
      pad_row(s, xc + ih * g.W, tmp);  // (double)
      for (i64 b = 0; b < sw; ++b) {
        const i64 n = std::clamp<i64>(ceil_div(s.Q - b, sw), 0, L);
        for (i64 j = 0; j < n; ++j) d[b * plane + j] = tmp[j * sw + b];
        std::fill(d + b * plane + n, d + b * plane + L, T(0));
      }
    }
}

// Weight gradient without im2col panels: a block's output rows are laid out L apart (gY with zeros in
// the L − Wo columns past each row), and so are the rows of the block's phase planes (one plane per
// stride phase, fill_phase_planes), so that the im2col row of tap (r, s) is a phase plane read from a
// fixed offset: the dot product reads it in place. The zero columns of gY cost (L − Wo)/L of the
// multiply-adds.
template <class Isa, class T>
SVERTKA_CONV_INLINE void filter_flat(const FilterCtx<T>& c, i64 t) {
  const Setup& s = *c.s;
  const auto& g = s.g;
  constexpr i64 dc = Isa::dot_cols, kw = std::is_same_v<Isa, Avx512> ? NR<T> : VW<T>;
  const i64 gi = t % s.G, part = t / s.G, nb = ceil_div(g.Ho, c.m), count = g.N * nb, L = c.L;
  const i64 sh = g.stride.h, sw = g.stride.w, plane = c.prow * L;
  T* acc = c.part + (part * s.G + gi) * c.crsp * c.kg4;
  std::fill_n(acc, c.crsp * c.kg4, T(0));
  const i64 b0 = part * count / c.parts, b1 = (part + 1) * count / c.parts;
  Workspace& ws = workspace();
  T* ap = ws.task_a.get<T>(c.kg4 * c.lda);
  T* planes = ws.task_b.get<T>(c.cb * c.pitch + c.lda + s.Q);
  T* zero_row = planes + c.cb * c.pitch;
  T* tmp = zero_row + c.lda;
  std::fill_n(zero_row, c.lda, T(0));
  for (i64 b = b0; b < b1; ++b) {
    const i64 n = b / nb, oh0 = b % nb * c.m, rows = std::min(c.m, g.Ho - oh0), U = rows * L;
    const i64 kc = round_up(U, kw);
    for (i64 k = 0; k < c.kg4; ++k) {
      T* row = ap + k * c.lda;
      if (k >= s.Kg) {
        std::fill_n(row, kc, T(0));
        continue;
      }
      const T* src = c.gy + ((n * g.K + gi * s.Kg + k) * g.Ho + oh0) * g.Wo;
      for (i64 i = 0; i < rows; ++i) {
        std::copy_n(src + i * g.Wo, g.Wo, row + i * L);
        std::fill(row + i * L + g.Wo, row + (i + 1) * L, T(0));
      }
      std::fill(row + U, row + kc, T(0));
    }
    const T* x = c.x + (n * g.C + gi * s.Cg) * s.HW;
    for (i64 d0 = 0; d0 < c.crsp;) {
      // the planes of channels [cf, ce); the rows [d0, d1) (whole groups of dc) lie in them
      const i64 cf = std::min(d0 / s.RS, s.Cg - 1), ce = std::min(s.Cg, cf + c.cb);
      const i64 d1 = ce == s.Cg ? c.crsp : ce * s.RS / dc * dc;
      for (i64 ci = cf; ci < ce; ++ci) {
        T* pl = planes + (ci - cf) * c.pitch;
        fill_phase_planes<Isa>(s, c, oh0, rows, x + ci * s.HW, pl, tmp);
        std::fill(pl + sh * sw * plane, pl + c.pitch, T(0));
      }
      const auto brow = [&](i64 d) -> const T* {
        if (d >= s.CRS) return zero_row;
        const i64 r = d % s.RS / g.S * g.dilation.h, sx = d % g.S * g.dilation.w;
        return planes + (d / s.RS - cf) * c.pitch + (r % sh * sw + sx % sw) * plane + r / sh * L + sx / sw;
      };
      for (i64 d = d0; d < d1; d += dc) {
        if constexpr (dc == 6) {
          const T* p[6] = {brow(d), brow(d + 1), brow(d + 2), brow(d + 3), brow(d + 4), brow(d + 5)};
          Isa::dot6_rows(c.kg4, kc, ap, c.lda, p, acc + d * c.kg4, c.kg4);
        } else {
          const T *p0 = brow(d), *p1 = brow(d + 1), *p2 = brow(d + 2);
          for (i64 k = 0; k < c.kg4; k += 4)
            Isa::dot3(kc, ap + k * c.lda, c.lda, p0, p1, p2, acc + d * c.kg4 + k, c.kg4);
        }
      }
      d0 = d1;
    }
  }
}

// The im2col rows d .. d + taps − 1 (taps s0 .. s0 + taps − 1 of filter row r of channel ci, taps
// ≤ ST, within one filter row) of the block's columns [col0, col0 + len), into dst (rows ld apart,
// zero from len to ncp), at horizontal stride ST (2 or 4) with taps 1 apart: the ST taps of 8
// consecutive output columns read 8·ST consecutive input columns, split by
// Isa::load_deinterleaved2 / 4 where they all lie in the image; the other columns one by one through
// the column map.
template <class Isa, i64 ST, class T>
SVERTKA_CONV_INLINE void im2col_strided(const Setup& s, const T* x, i64 gi, i64 ci, i64 r, i64 s0, i64 taps,
                                        i64 col0, i64 len, i64 ncp, T* dst, i64 ld) {
  const Conv2dGeometry& g = s.g;
  const i64 S = g.S, left = g.padding.left;
  for (i64 col = col0; col < col0 + len;) {
    const i64 n = col / s.P, oh = col % s.P / g.Wo, ow0 = col % s.P % g.Wo;
    const i64 ow1 = ow0 + std::min(g.Wo - ow0, col0 + len - col);
    T* d = dst + (col - col0) - ow0;  // d[j·ld + ow]: tap s0 + j at output column ow
    const i32 ih = s.rowmap[oh * g.R + r];
    if (ih < 0) {  // a zero-padded row
      for (i64 j = 0; j < taps; ++j) std::fill(d + j * ld + ow0, d + j * ld + ow1, T(0));
    } else {
      const T* xrow = x + (n * g.C + gi * s.Cg + ci) * s.HW + ih * g.W;
      i64 lo, hi;
      strided_inside<ST>(s, s0, ow0, ow1, lo, hi);
      auto one = [&](i64 ow) {
        for (i64 j = 0; j < taps; ++j) {
          const i32 iw = s.colmap[ow * S + s0 + j];
          d[j * ld + ow] = iw >= 0 ? xrow[iw] : T(0);
        }
      };
      i64 ow = ow0;
      for (; ow < lo; ++ow) one(ow);
      for (; ow + 8 <= hi; ow += 8) {
        if constexpr (ST == 4)
          Isa::load_deinterleaved4(xrow + ow * 4 + s0 - left, d + ow, ld, taps);
        else
          Isa::load_deinterleaved2(xrow + ow * 2 + s0 - left, d + ow, ld, taps);
      }
      for (; ow < ow1; ++ow) one(ow);
    }
    col += ow1 - ow0;
  }
  for (i64 j = 0; j < taps; ++j) std::fill(dst + j * ld + len, dst + j * ld + ncp, T(0));
}

template <class Isa, class T>
SVERTKA_CONV_INLINE void filter_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const FilterCtx<T>*>(vctx);
  if constexpr (!std::is_same_v<Isa, Generic>)
    if (c.flat) return filter_flat<Isa>(c, t);
  const Setup& s = *c.s;
  constexpr i64 nr = NR<T>;
  const i64 gi = t % s.G, part = t / s.G;
  T* acc = c.part + (part * s.G + gi) * c.crsp * c.kg4;
  std::fill_n(acc, c.crsp * c.kg4, T(0));
  const i64 b0 = part * c.cm.bl.count / c.parts, b1 = (part + 1) * c.cm.bl.count / c.parts;
  Workspace& ws = workspace();
  T* ap = ws.task_a.get<T>(c.kg4 * skew<T>(c.cm.bl.nc, nr));
  T* bp = ws.task_b.get<T>(c.db * skew<T>(c.cm.bl.nc, nr));
  for (i64 b = b0; b < b1; ++b) {
    i64 col0, len, img0;
    c.cm.bl.block(b, col0, len);
    const i64 np = ceil_div(len, nr), ncp = np * nr, npm = c.cm.np_max, ld = skew<T>(ncp, nr);
    const i32* lane_img = nullptr;
    const PanelMap* maps = nullptr;
    if (c.rows)
      img0 = c.cm.bl.group_of(b) * c.cm.bl.ipg;
    else
      maps = c.cm.of(b, lane_img, img0);
    const T* x = c.x + img0 * s.CHW;
    i64 pf_lo, pf_hi;
    input_span(s, col0, len, img0, pf_lo, pf_hi);
    pack_gy(s, c.gy, gi, col0, len, np, 0, s.Kg, ap, nr, ld);
    for (i64 k = s.Kg; k < c.kg4; ++k) std::fill_n(ap + k * ld, ncp, T(0));
    RowPanels<T> rp;
    T* pr = nullptr;
    i64 pr_channel = -1;
    if (c.rows) {
      rp = row_panels<T>(s, col0, len);
      pr = ws.task_c.get<T>(nr + rp.rows * rp.ldq);
    }
    for (i64 d0 = 0; d0 < c.crsp; d0 += c.db) {
      const i64 d1 = std::min(c.crsp, d0 + c.db);
      for (i64 d = d0; d < d1; ++d) {
        T* dst = bp + (d - d0) * ld;
        if constexpr (strided_isa<Isa, T>)
          if (d < s.CRS && !c.rows && strided_vectors(s)) {
            const i64 st = s.g.stride.w, ci = d / s.RS, r = d % s.RS / s.g.S, s0 = d % s.g.S;
            const i64 taps = std::min({st, s.g.S - s0, d1 - d, s.CRS - d});
            if (d % s.RS == 0 && ci + 1 < s.Cg) prefetch_span(x + (gi * s.Cg + ci + 1) * s.HW, pf_lo, pf_hi);
            if (st == 4)
              im2col_strided<Isa, 4>(s, c.x, gi, ci, r, s0, taps, col0, len, ncp, dst, ld);
            else
              im2col_strided<Isa, 2>(s, c.x, gi, ci, r, s0, taps, col0, len, ncp, dst, ld);
            d += taps - 1;
            continue;
          }
        if (d >= s.CRS) {
          std::fill_n(dst, ncp, T(0));
          continue;
        }
        if (d % s.RS == 0 && d / s.RS + 1 < s.Cg) prefetch_span(x + (gi * s.Cg + d / s.RS + 1) * s.HW, pf_lo, pf_hi);
        const T* src = x + (gi * s.Cg + d / s.RS) * s.HW;
        if (c.rows) {
          if (d / s.RS != pr_channel) {
            pr_channel = d / s.RS;
            fill_padded_rows(s, rp, src + (col0 / s.P - img0) * s.CHW, pr);
          }
          const i64 r = d % s.RS / s.g.S, sx = d % s.g.S;
          const T* base = pr + nr + r * s.g.dilation.h * rp.ldq + sx * s.g.dilation.w;
          for (i64 q = 0; q < np; ++q)
            Isa::rows_panel(base + rp.first[q], base + rp.second[q], rp.k[q], rp.valid[q], dst + q * nr);
          continue;
        }
        const PanelMap* pm = maps + (d % s.RS) * npm;
        for (i64 q = 0; q < np; ++q) Isa::load_panel(pm[q], src, s.CHW, lane_img + q * nr, dst + q * nr);
      }
      for (i64 d = d0; d < d1; d += Isa::dot_cols)
        for (i64 k = 0; k < c.kg4; k += 4)
          Isa::dot(ncp, ap + k * ld, ld, bp + (d - d0) * ld, ld, acc + d * c.kg4 + k, c.kg4);
    }
  }
}

SVERTKA_CONV_ENTRIES(filter_task)

template <class T>
struct PartialsCtx {
  const Setup* s;
  const T* part;
  T* gw;
  i64 parts, crsp, kg4, dblocks;
};
constexpr i64 partials_block = 64;  // im2col rows d per task of the sum

// gw[k, d] += Σ_p part[p][gi][d][k] (p in order) for d in one block of rows
template <class T>
void partials_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const PartialsCtx<T>*>(vctx);
  const Setup& s = *c.s;
  const i64 gi = t / c.dblocks, d0 = t % c.dblocks * partials_block, d1 = std::min(s.CRS, d0 + partials_block);
  const i64 stride = s.G * c.crsp * c.kg4;
  for (i64 d = d0; d < d1; ++d) {
    const T* p0 = c.part + (gi * c.crsp + d) * c.kg4;
    for (i64 k = 0; k < s.Kg; ++k) {
      T sum = p0[k];
      for (i64 p = 1; p < c.parts; ++p) sum += p0[p * stride + k];
      c.gw[(gi * s.Kg + k) * s.CRS + d] += sum;
    }
  }
}

// gw += the partial weight gradients [parts][G][crsp][kg4], each element's sum in part order
template <class T>
void add_partials(const Setup& s, const T* part, i64 parts, i64 crsp, i64 kg4, T* gw) {
  const i64 dblocks = ceil_div(s.CRS, partials_block);
  const PartialsCtx<T> c{&s, part, gw, parts, crsp, kg4, dblocks};
  // memory-bound: counted as 16 flops per element read, so that only large sums go parallel
  run_tasks(s.G * dblocks, 16.0 * static_cast<double>(parts * s.G * s.CRS * s.Kg), &partials_task<T>, &c);
}
}  // namespace

// Extra memory: the partial weight gradients (up to 8 × the weight, calling thread); per task thread
// a block of gY (≤ 512 KiB), a sub-block of X̂ rows (≤ 128 KiB) and the panel maps, or with padded-row
// panels the padded rows a block reads of one channel ((rows + R − 1) × (Q + 16)) and two ints per panel;
// flat: a block of gY at pitch L (≤ 512 KiB × L / Wo) and the phase planes of at least 2·dot_cols
// channels (≤ 128 KiB when more fit), with one padded row.
template <class T>
void backward_filter(const Setup& s, const T* x, const T* gy, T* gw) {
  constexpr i64 nr = NR<T>;
  const Kernel kern = pick_filter_task<T>();
  const i64 dc = kern.dot_cols, kg4 = round_up(s.Kg, 4), crsp = round_up(s.CRS, dc);
  // blocks of up to 1024 columns whose packed gY fits dw_a_bytes (fewer, wider blocks: fewer horizontal
  // sums per dot product), but at least dw_max_parts blocks when there are enough pixels, so that
  // small problems still split over the threads
  const i64 nc = std::clamp<i64>(std::min(dw_a_bytes / static_cast<i64>(sizeof(T)) / kg4 / nr * nr,
                                          round_up(ceil_div(s.g.N * s.P, dw_max_parts), nr)),
                                 nr, 1024);
  const Blocks bl(s.g.N, s.P, nc, nr);
  const i64 ncp_max = round_up(bl.nc, nr);
  const i64 db = balanced(crsp, std::max<i64>(dc, dw_b_bytes / static_cast<i64>(sizeof(T)) / ncp_max / dc * dc), dc);
  const bool flat = flat_applies(s);
  const bool rows = !flat && row_panels_apply(s, bl, nr);
  // flat: blocks of m whole output rows (at most nc columns)
  const i64 m = std::max<i64>(1, bl.nc / s.g.Wo), count = flat ? s.g.N * ceil_div(s.g.Ho, m) : bl.count;
  const i64 per_part = s.G * crsp * kg4;
  const i64 parts = std::clamp<i64>(dw_part_elems / per_part, 1, std::min(dw_max_parts, count));
  T* part = workspace().call_part.get<T>(parts * per_part);
  ColumnMaps cm;
  if (rows || flat)
    cm.bl = bl;
  else
    cm = build_column_maps(s, bl, nr, std::is_same_v<T, float>);
  FilterCtx<T> c{&s, cm, x, gy, part, parts, kg4, crsp, db, rows};
  if (flat) {
    const auto& g = s.g;
    const i64 sh = g.stride.h, sw = g.stride.w, ds = (g.S - 1) * g.dilation.w / sw;
    c.flat = true;
    c.m = m, c.L = g.Wo + ds;
    c.lda = skew<T>(round_up(c.m * c.L, nr), nr);
    c.prow = c.m + (g.R - 1) * g.dilation.h / sh + 1;
    c.pitch = round_up(sh * sw * c.prow * c.L + ds + 2 * nr, nr);
    c.cb = std::max<i64>(2 * dc, dw_b_bytes / static_cast<i64>(sizeof(T)) / c.pitch);
  }
  run_tasks(parts * s.G, flops(s), kern.fn, &c);
  add_partials(s, part, parts, crsp, kg4, gw);
}

template void backward_filter<float>(const Setup&, const float*, const float*, float*);
template void backward_filter<double>(const Setup&, const double*, const double*, double*);

}  // namespace svertka::kernels::conv::gemm
