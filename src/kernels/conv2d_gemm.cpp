// The GEMM path of the convolution: an implicit GEMM over blocks of output pixels.
//
// Per group, the forward pass is the product Y[Kg, pixels] = W[Kg, Cg·R·S] · X̂[Cg·R·S, pixels], where
// X̂ is the im2col matrix: X̂[(c, r, s), (n, oh, ow)] = xp[n, c, oh·sh + r·dh − top, ow·sw + s·dw − left]
// with xp read through pad_source. X̂ is never stored: its columns (the output pixels of all images,
// column n·P + p) are cut into blocks of at most `nc`, and each block is packed straight from the
// image into the micro-kernel's panel layout through a `PanelMap` per (r, s) and panel (a vector
// load where NR pixels are consecutive, a masked load or a gather elsewhere).
//
// - forward:         per (block, group): pack X̂'s block in depth chunks, 6 × NR micro-kernel into a
//                    block of C, copy it to y with the bias added.
// - backward data:   D[(c, r, s), block] = Wᵀ · gY[·, block], then D is scattered back through the
//                    same maps (col2im): dx[source pixel] += D. A task owns the dx planes of a set of
//                    whole images and channels, so no two threads write the same dx element.
// - backward filter: dW[k, (c, r, s)] = Σ over columns gY[k, col] · X̂[(c, r, s), col], by a dot-product
//                    micro-kernel (4 filters × 3 im2col rows, vectorised along the pixels) over packed
//                    rows of gY and X̂. The columns are cut into a fixed number of parts (by shape only),
//                    each summed into its own partial dW; the partials are added in part order. With
//                    16 taps or more at stride 1, X̂'s rows come from padded input rows (RowPanels);
//                    on AVX2 at stride 1 with rows of 32 or more, they are read in place from padded
//                    planes laid out with the pitch of a gY block (filter_flat).
// The packing loops prefetch the next channel's input rows of a block.
//
// Blocks, chunks and parts depend on the shape only, never on the thread count, and every output
// element is computed by one task with a fixed sequence of operations: results are bit-identical
// for any number of threads.

#include <algorithm>
#include <type_traits>

#include "conv2d_avx512.hpp"

namespace svertka::kernels::conv::gemm {
namespace {

constexpr i64 kc_max = 256;       // depth chunk: a B micro-panel is kc·NR·sizeof(T) ≤ 16 KiB (L1)
constexpr i64 mc_max = 144;       // rows of A per row block (≤ 144 KiB of A with kc_max, in L2)
constexpr i64 fwd_bytes = 512;    // forward / backward-data block: 512 bytes of a row (128 floats)
constexpr i64 dw_a_bytes = 512 * 1024;  // backward-filter block: the packed gY block stays ≤ 512 KiB (in L2)
constexpr i64 dw_b_bytes = 128 * 1024;  // and so does one sub-block of X̂ rows
constexpr i64 dw_max_parts = 8;
constexpr i64 d1_bytes = 768 * 1024;  // backward data, stride 1: D of a channel block stays ≤ 768 KiB (fewer blocks: packed gY re-read fewer times)
constexpr i64 dw_part_elems = i64{1} << 22;  // partial dW buffers: at most 4 Mi elements in all

// A row stride of `n` elements (a multiple of nr), one panel longer when its byte size is a multiple
// of 2 KiB: rows 4 KiB apart fall into one L1 set (and their loads and stores alias), so the 8 rows
// of a C tile or the taps of a col2im gather would evict each other.
template <class T>
i64 skew(i64 n, i64 nr) {
  return n * static_cast<i64>(sizeof(T)) % 2048 == 0 ? n + nr : n;
}

// The span [lo, hi) of a channel plane's offsets (from the image group's first image) holding the
// input rows that columns [col0, col0 + len) read, when they lie in one image (else empty): the
// packing loops prefetch it a channel ahead.
inline void input_span(const Setup& s, i64 col0, i64 len, i64 img0, i64& lo, i64& hi) {
  const auto& g = s.g;
  const i64 n = col0 / s.P;
  lo = hi = 0;
  if ((col0 + len - 1) / s.P != n) return;
  const i64 oh_a = col0 % s.P / g.Wo, oh_b = (col0 + len - 1) % s.P / g.Wo;
  const i64 ih_a = std::max<i64>(0, oh_a * g.stride.h - g.padding.top);
  const i64 ih_b = std::min<i64>(g.H, oh_b * g.stride.h - g.padding.top + (g.R - 1) * g.dilation.h + 1);
  lo = (n - img0) * s.CHW + ih_a * g.W;
  hi = std::max(lo, (n - img0) * s.CHW + ih_b * g.W);
}

template <class T>
SVERTKA_CONV_INLINE void prefetch_span(const T* p, i64 lo, i64 hi) {
  for (i64 o = lo; o < hi; o += NR<T>) __builtin_prefetch(p + o);
}

// Stride 1, a block inside one image, output rows of at least NR pixels: the block's im2col rows are
// read from the padded input rows (built per channel through pad_source and qmap, as in the direct
// path) instead of through panel maps. The panel of NR output pixels from (oh, ow0), tap (r, s), is
// padded row oh + r·dh from column ow0 + s·dw; its lanes past the end of output row oh continue on
// padded row oh + 1 from column s·dw.
template <class T>
struct RowPanels {
  i64 oh0 = 0, rows = 0, ldq = 0;  // padded rows [oh0, oh0 + rows), ldq apart, after a margin of NR
  i64* first = nullptr;            // per panel: offset of lane 0 (relative to row oh0, tap (0, 0))
  i64* second = nullptr;           // offset for the lanes continuing on the next row
  i32* k = nullptr;                // lanes from the first row
  i32* valid = nullptr;            // lanes inside the block
};

// Used with 16 taps or more: the rows are filled once per channel and read by every tap; with 3 × 3
// taps the maps were as fast or faster (vgg_3x3 level, a 28 × 28 layer 4% slower).
inline bool row_panels_apply(const Setup& s, const Blocks& bl, i64 nr) {
  return s.g.stride.h == 1 && s.g.stride.w == 1 && bl.ipg == 1 && s.g.Wo >= nr && s.RS >= 16;
}

// The flat weight gradient (filter_flat): AVX2, stride 1, output rows of at least 32 pixels (level
// with the panels at 28, mixed at 16-20, 1.1-1.4x at 32-64 on 3 × 3 and 5 × 5 layers).
inline bool flat_applies(const Setup& s) {
  return s.g.stride.h == 1 && s.g.stride.w == 1 && s.g.Wo >= 32 && isa() == Conv2dIsa::avx2;
}

// The panels of block columns [col0, col0 + len) (one image); tables in the task's workspace.
template <class T>
RowPanels<T> row_panels(const Setup& s, i64 col0, i64 len) {
  constexpr i64 nr = NR<T>;
  const auto& g = s.g;
  RowPanels<T> rp;
  const i64 np = ceil_div(len, nr), p0 = col0 % s.P;
  rp.oh0 = p0 / g.Wo;
  rp.rows = (p0 + len - 1) / g.Wo - rp.oh0 + (g.R - 1) * g.dilation.h + 1;
  rp.ldq = round_up(s.Q + nr, nr);
  Workspace& ws = workspace();
  rp.first = ws.task_panels.get<i64>(2 * np);
  rp.second = rp.first + np;
  rp.k = ws.task_lanes.get<i32>(2 * np);
  rp.valid = rp.k + np;
  for (i64 q = 0; q < np; ++q) {
    const i64 p = p0 + q * nr, oh = p / g.Wo, ow = p % g.Wo, k = std::min(nr, g.Wo - ow);
    rp.first[q] = (oh - rp.oh0) * rp.ldq + ow;
    rp.second[q] = (oh + 1 - rp.oh0) * rp.ldq - k;
    rp.k[q] = static_cast<i32>(k);
    rp.valid[q] = static_cast<i32>(std::min(nr, len - q * nr));
  }
  return rp;
}

// The padded rows [oh0, oh0 + rows) of one input plane into pr (after its margin of NR zeros).
template <class T>
SVERTKA_CONV_INLINE void fill_padded_rows(const Setup& s, const RowPanels<T>& rp, const T* plane, T* pr) {
  const auto& g = s.g;
  const i64 Q = s.Q, left = g.padding.left, qa = std::min(left, Q), qb = std::clamp(left + g.W, left, Q);
  const i64 qh_end = g.Ho + (g.R - 1) * g.dilation.h;
  std::fill_n(pr, NR<T>, T(0));
  for (i64 i = 0; i < rp.rows; ++i) {
    T* d = pr + NR<T> + i * rp.ldq;
    const i64 qh = rp.oh0 + i, ih = qh < qh_end ? pad_source(qh - g.padding.top, g.H, g.mode) : -1;
    if (ih < 0) {
      std::fill_n(d, rp.ldq, T(0));
      continue;
    }
    const T* xr = plane + ih * g.W;
    for (i64 q = 0; q < qa; ++q) d[q] = s.qmap[q] >= 0 ? xr[s.qmap[q]] : T(0);
    std::copy_n(xr + (qa - left), qb - qa, d + qa);
    for (i64 q = qb; q < Q; ++q) d[q] = s.qmap[q] >= 0 ? xr[s.qmap[q]] : T(0);
    std::fill(d + Q, d + rp.ldq, T(0));
  }
}

// Copies rows [k0, k0 + kn) of gY's block (columns col0 + [0, len) of group gi) into `dst`: element
// (k, j) goes to dst[(j / NR)·ps + (k − k0)·row_stride + j % NR] (panel layout: ps = kn·NR,
// row_stride = NR; row-major rows: ps = NR, row_stride = np·NR). Columns past len are zero.
template <class T>
SVERTKA_CONV_INLINE void pack_gy(const Setup& s, const T* gy, i64 gi, i64 col0, i64 len, i64 np, i64 k0, i64 kn,
                                 T* dst, i64 ps, i64 row_stride) {
  constexpr i64 nr = NR<T>;
  const i64 K = s.g.K, P = s.P;
  for (i64 q = 0; q < np; ++q) {
    const i64 j0 = q * nr, col = col0 + j0, n = col / P, p = col % P;
    T* d = dst + q * ps;
    if (j0 + nr <= len && p + nr <= P) {  // the whole panel in one image: rows of NR consecutive values
      const T* src = gy + (n * K + gi * s.Kg + k0) * P + p;
      for (i64 k = 0; k < kn; ++k, src += P, d += row_stride)
        for (i64 i = 0; i < nr; ++i) d[i] = src[i];
      continue;
    }
    for (i64 i = 0; i < nr; ++i) {
      const i64 j = j0 + i, cj = col0 + j;
      const T* src = gy + ((cj / P) * K + gi * s.Kg + k0) * P + cj % P;
      for (i64 k = 0; k < kn; ++k) d[k * row_stride + i] = j < len ? src[k * P] : T(0);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// forward
// ------------------------------------------------------------------------------------------------
template <class T>
struct FwdCtx {
  const Setup* s;
  ColumnMaps cm;
  const T *x, *a, *b;  // a: packed W, per group ceil(Kg/6) tiles of [CRS][6]
  T* y;
  i64 kc, mc;
};

template <class Isa, class T>
SVERTKA_CONV_INLINE void forward_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const FwdCtx<T>*>(vctx);
  const Setup& s = *c.s;
  constexpr i64 nr = NR<T>;
  constexpr i64 mr = Isa::mr;
  const i64 G = s.G, gi = t % G, b = t / G, CRS = s.CRS, tiles = ceil_div(s.Kg, mr);
  i64 col0, len, img0;
  c.cm.bl.block(b, col0, len);
  const i64 np = ceil_div(len, nr), ncp = np * nr, npm = c.cm.np_max;
  const i32* lane_img;
  const PanelMap* maps = c.cm.of(b, lane_img, img0);
  Workspace& ws = workspace();
  T* bp = ws.task_b.get<T>(std::min(c.kc, CRS) * c.cm.bl.nc);
  T* cb = ws.task_c.get<T>(tiles * mr * c.cm.bl.nc);
  const T* x = c.x + img0 * s.CHW;
  const T* a = c.a + gi * tiles * mr * CRS;
  i64 pf_lo, pf_hi;
  input_span(s, col0, len, img0, pf_lo, pf_hi);
  for (i64 p0 = 0; p0 < CRS; p0 += c.kc) {
    const i64 kc = std::min(c.kc, CRS - p0);
    for (i64 d = p0; d < p0 + kc; ++d) {
      if (d % s.RS == 0 && d / s.RS + 1 < s.Cg) prefetch_span(x + (gi * s.Cg + d / s.RS + 1) * s.HW, pf_lo, pf_hi);
      const T* src = x + (gi * s.Cg + d / s.RS) * s.HW;
      const PanelMap* pm = maps + (d % s.RS) * npm;
      T* dst = bp + (d - p0) * nr;
      for (i64 q = 0; q < np; ++q) Isa::load_panel(pm[q], src, s.CHW, lane_img + q * nr, dst + q * kc * nr);
    }
    for (i64 t0 = 0; t0 < tiles; t0 += c.mc / mr) {
      const i64 t1 = std::min(tiles, t0 + c.mc / mr);
      for (i64 q = 0; q < np; q += Isa::panels)
        for (i64 ti = t0; ti < t1; ++ti)
          Isa::micro(kc, a + ti * mr * CRS + p0 * mr, bp + q * kc * nr, kc * nr, std::min(Isa::panels, np - q),
                     cb + ti * mr * ncp + q * nr, ncp, p0 > 0);
    }
  }
  // copy out with the bias
  for (i64 k = 0; k < s.Kg; ++k) {
    const T* row = cb + k * ncp;
    const i64 kk = gi * s.Kg + k;
    const T bias = c.b ? c.b[kk] : T(0);
    for (i64 j = 0; j < len;) {
      const i64 col = col0 + j, n = col / s.P, p = col % s.P, seg = std::min(len - j, s.P - p);
      T* out = c.y + (n * s.g.K + kk) * s.P + p;
      if (c.b)
        for (i64 e = 0; e < seg; ++e) out[e] = row[j + e] + bias;
      else
        std::copy_n(row + j, seg, out);
      j += seg;
    }
  }
}

// ------------------------------------------------------------------------------------------------
// backward data
// ------------------------------------------------------------------------------------------------
template <class T>
struct DataCtx {
  const Setup* s;
  ColumnMaps cm;
  const T *a, *gy;  // a: packed Wᵀ per (group, channel block): tiles of [Kg][6]
  T* gx;
  i64 cbs, ncb, a_stride, kc;
};

// The col2im of a block at horizontal stride 4 with taps 1 apart (AlexNet's first layer): for each
// input channel of [c0, c1), filter row r and run of the block in one output row, the taps
// s = 4a .. 4a + 3 of 8 consecutive output columns land on 32 consecutive input columns
// (ow·4 + s − left), so Isa::add_interleaved4 adds them as whole vectors where all 32 lie in the
// image; the other columns go one by one through the column map. dx row through the row map.
template <class Isa, class T>
SVERTKA_CONV_INLINE void col2im_stride4(const Setup& s, const T* dcol, i64 ncp, i64 gi, i64 c0, i64 c1, i64 col0,
                                        i64 len, T* gx) {
  const Conv2dGeometry& g = s.g;
  const i64 S = g.S, left = g.padding.left;
  for (i64 ci = c0; ci < c1; ++ci)
    for (i64 col = col0; col < col0 + len;) {
      const i64 n = col / s.P, oh = col % s.P / g.Wo, ow0 = col % s.P % g.Wo;
      const i64 ow1 = ow0 + std::min(g.Wo - ow0, col0 + len - col);
      T* plane = gx + (n * g.C + gi * s.Cg + ci) * s.HW;
      for (i64 r = 0; r < g.R; ++r) {
        const i32 ih = s.rowmap[oh * g.R + r];
        if (ih < 0) continue;  // a zero-padded row receives nothing
        T* drow = plane + ih * g.W;
        const T* d = dcol + ((ci - c0) * s.RS + r * S) * ncp + (col - col0) - ow0;  // d[s·ncp + ow]
        for (i64 a = 0; a < S; a += 4) {
          const i64 taps = std::min<i64>(4, S - a);
          // the output columns whose 4 input columns ow·4 + a − left .. + 3 all lie in the image
          const i64 lo = std::clamp<i64>(left - a <= 0 ? 0 : ceil_div(left - a, 4), ow0, ow1);
          const i64 hi = std::clamp<i64>(g.W - 4 - a + left < 0 ? 0 : (g.W - 4 - a + left) / 4 + 1, lo, ow1);
          auto one = [&](i64 ow) {
            for (i64 j = 0; j < taps; ++j) {
              const i32 iw = s.colmap[ow * S + a + j];
              if (iw >= 0) drow[iw] += d[(a + j) * ncp + ow];
            }
          };
          i64 ow = ow0;
          for (; ow < lo; ++ow) one(ow);
          for (; ow + 8 <= hi; ow += 8) Isa::add_interleaved4(drow + ow * 4 + a - left, d + a * ncp + ow, ncp, taps);
          for (; ow < ow1; ++ow) one(ow);
        }
      }
      col += ow1 - ow0;
    }
}

template <class Isa, class T>
SVERTKA_CONV_INLINE void data_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const DataCtx<T>*>(vctx);
  const Setup& s = *c.s;
  constexpr i64 nr = NR<T>;
  const i64 ig = t / (s.G * c.ncb), gi = (t / c.ncb) % s.G, cbk = t % c.ncb;
  constexpr i64 mr = Isa::mr;
  const i64 c0 = cbk * c.cbs, c1 = std::min(s.Cg, c0 + c.cbs), rows = (c1 - c0) * s.RS, tiles = ceil_div(rows, mr);
  const T* a = c.a + (gi * c.ncb + cbk) * c.a_stride;
  Workspace& ws = workspace();
  T* bp = ws.task_b.get<T>(std::min(c.kc, s.Kg) * c.cm.bl.nc);
  T* dcol = ws.task_c.get<T>(tiles * mr * c.cm.bl.nc);
  for (i64 b = c.cm.bl.first_of_group(ig); b < c.cm.bl.end_of_group(ig); ++b) {
    i64 col0, len, img0;
    c.cm.bl.block(b, col0, len);
    const i64 np = ceil_div(len, nr), ncp = np * nr, npm = c.cm.np_max;
    const i32* lane_img;
    const PanelMap* maps = c.cm.of(b, lane_img, img0);
    T* gx = c.gx + img0 * s.CHW;
    for (i64 k0 = 0; k0 < s.Kg; k0 += c.kc) {
      const i64 kc = std::min(c.kc, s.Kg - k0);
      pack_gy(s, c.gy, gi, col0, len, np, k0, kc, bp, kc * nr, nr);
      for (i64 q = 0; q < np; q += Isa::panels)
        for (i64 ti = 0; ti < tiles; ++ti)
          Isa::micro(kc, a + ti * mr * s.Kg + k0 * mr, bp + q * kc * nr, kc * nr, std::min(Isa::panels, np - q),
                     dcol + ti * mr * ncp + q * nr, ncp, k0 > 0);
    }
    // even panels, then odd ones: the windows of neighbouring panels can overlap, and a load of
    // values a just-issued store partly overlaps waits for the store (no store-to-load forwarding)
    i64 pf_lo, pf_hi;
    input_span(s, col0, len, img0, pf_lo, pf_hi);
    // the next block's gY rows (when it lies in one image), spread over the scatter's rows
    i64 next_len = 0;
    const T* next_gy = nullptr;
    if (b + 1 < c.cm.bl.end_of_group(ig)) {
      i64 next_col0;
      c.cm.bl.block(b + 1, next_col0, next_len);
      if (next_col0 / s.P == (next_col0 + next_len - 1) / s.P)
        next_gy = c.gy + (next_col0 / s.P * s.g.K + gi * s.Kg) * s.P + next_col0 % s.P;
    }
    if constexpr (std::is_same_v<T, float> && std::is_same_v<Isa, Avx2>)  // measured on AVX2 only
      if (s.g.stride.w == 4 && s.g.dilation.w == 1) {
        for (i64 ci = c0; ci < c1; ++ci) {
          if (next_gy)
            for (i64 k = (ci - c0) * s.Kg / (c1 - c0); k < (ci - c0 + 1) * s.Kg / (c1 - c0); ++k)
              prefetch_span(next_gy + k * s.P, 0, next_len);
          if (ci + 1 < c1) prefetch_span(gx + (gi * s.Cg + ci + 1) * s.HW, pf_lo, pf_hi);
          col2im_stride4<Isa>(s, dcol + (ci - c0) * s.RS * ncp, ncp, gi, ci, ci + 1, col0, len, c.gx);
        }
        continue;
      }
    for (i64 row = 0; row < rows; ++row) {
      if (next_gy)
        for (i64 k = row * s.Kg / rows; k < (row + 1) * s.Kg / rows; ++k) prefetch_span(next_gy + k * s.P, 0, next_len);
      if (row % s.RS == 0 && c0 + row / s.RS + 1 < c1) prefetch_span(gx + (gi * s.Cg + c0 + row / s.RS + 1) * s.HW, pf_lo, pf_hi);
      T* dst = gx + (gi * s.Cg + c0 + row / s.RS) * s.HW;
      const PanelMap* pm = maps + (row % s.RS) * npm;
      const T* src = dcol + row * ncp;
      for (i64 q = 0; q < np; q += 2) Isa::scatter_panel(pm[q], dst, s.CHW, lane_img + q * nr, src + q * nr);
      for (i64 q = 1; q < np; q += 2) Isa::scatter_panel(pm[q], dst, s.CHW, lane_img + q * nr, src + q * nr);
    }
  }
}

// Stride 1: gY of whole images (a few small ones together) is packed once per task; then per
// channel block, D for those images, and col2im as a gather: each position of a padded row sums its
// R·S taps from D in registers (masked vector loads), and the row is folded into dx through the
// padding map. A task (image group, group, run of channel blocks) owns its dx planes.
template <class T>
struct Data1Ctx {
  const Setup* s;
  const T *a, *gy;
  T* gx;
  i64 cbs, ncb, a_stride, kc, ipg, ncp, qa, qb, nq, runs;
};

// D = Wᵀ·gY for channel block cbk and the image group's columns (gY packed in bp), then its col2im
template <class Isa, class T>
SVERTKA_CONV_INLINE void data1_block(const Data1Ctx<T>& c, i64 gi, i64 cbk, i64 n0, i64 n1, i64 np, const T* bp) {
  const Setup& s = *c.s;
  const auto& g = s.g;
  constexpr i64 nr = NR<T>, mr = Isa::mr;
  const i64 c0 = cbk * c.cbs, c1 = std::min(s.Cg, c0 + c.cbs), rows = (c1 - c0) * s.RS, tiles = ceil_div(rows, mr);
  const T* a = c.a + (gi * c.ncb + cbk) * c.a_stride;
  Workspace& ws = workspace();
  T* dcol = ws.task_c.get<T>(tiles * mr * c.ncp);
  for (i64 k0 = 0; k0 < s.Kg; k0 += c.kc) {
    const i64 kc = std::min(c.kc, s.Kg - k0);
    const T* bk = bp + k0 * c.ncp;
    for (i64 q = 0; q < np; q += Isa::panels)
      for (i64 ti = 0; ti < tiles; ++ti)
        Isa::micro(kc, a + ti * mr * s.Kg + k0 * mr, bk + q * kc * nr, kc * nr, std::min(Isa::panels, np - q),
                   dcol + ti * mr * c.ncp + q * nr, c.ncp, k0 > 0);
  }
  T* prow = ws.task_a.get<T>(c.nq);
  const T** taps = ws.task_panels.get<const T*>(g.R);
  const i64 dh = g.dilation.h, left = g.padding.left;
  const i64 qh_end = g.Ho + (g.R - 1) * dh;
  for (i64 n = n0; n < n1; ++n)
    for (i64 cc = 0; cc < c1 - c0; ++cc) {
      T* dx = c.gx + (n * g.C + gi * s.Cg + c0 + cc) * s.HW;
      const T* d = dcol + cc * s.RS * c.ncp + (n - n0) * s.P;
      for (i64 qh = 0; qh < qh_end; ++qh) {
        const i64 ih = pad_source(qh - g.padding.top, g.H, g.mode);
        if (ih < 0) continue;
        i64 nr = 0;  // the filter rows r reaching row qh: D's rows (r, s = 0) at output row qh − r·dh
        for (i64 r = 0; r < g.R; ++r)
          if (const i64 oh = qh - r * dh; oh >= 0 && oh < g.Ho) taps[nr++] = d + r * g.S * c.ncp + oh * g.Wo;
        if (nr == 0) continue;
        Isa::gather_rows(c.nq, nr, taps, g.S, c.ncp, g.dilation.w, g.Wo, prow);
        T* __restrict dxr = dx + ih * g.W;
        for (i64 q = 0; q < c.qa; ++q)
          if (s.qmap[q] >= 0) dxr[s.qmap[q]] += prow[q];
        for (i64 q = c.qa; q < c.qb; ++q) dxr[q - left] += prow[q];
        for (i64 q = c.qb; q < s.Q; ++q)
          if (s.qmap[q] >= 0) dxr[s.qmap[q]] += prow[q];
      }
    }
}

template <class Isa, class T>
SVERTKA_CONV_INLINE void data1_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Data1Ctx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  constexpr i64 nr = NR<T>;
  const i64 ig = t / (s.G * c.runs), gi = (t / c.runs) % s.G, run = t % c.runs;
  const i64 n0 = ig * c.ipg, n1 = std::min(g.N, n0 + c.ipg), cols = (n1 - n0) * s.P, np = ceil_div(cols, nr);
  Workspace& ws = workspace();
  // the image group's gY in panel layout, per depth chunk k0: panel q at bp + k0·ncp + q·kc·nr
  T* bp = ws.task_b.get<T>(s.Kg * c.ncp);
  for (i64 k0 = 0; k0 < s.Kg; k0 += c.kc) {
    const i64 kc = std::min(c.kc, s.Kg - k0);
    pack_gy(s, c.gy, gi, n0 * s.P, cols, np, k0, kc, bp + k0 * c.ncp, kc * nr, nr);
  }
  for (i64 cbk = run * c.ncb / c.runs; cbk < (run + 1) * c.ncb / c.runs; ++cbk)
    data1_block<Isa>(c, gi, cbk, n0, n1, np, bp);
}

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
  // flat (AVX2, stride 1): blocks of m whole output rows, laid out L = Q apart; lda: a gY row of a
  // block; cb: input channels whose padded planes are built at a time, each `pitch` long
  bool flat = false;
  i64 m = 0, L = 0, lda = 0, cb = 0, pitch = 0;
};

// Weight gradient at stride 1 without im2col panels: a block's output rows are laid out L = Q apart
// (gY with zeros in the Q − Wo columns past each row), and so are the block's padded input rows, so
// that the im2col row of tap (r, s) is the padded plane read from offset r·dh·L + s·dw: Isa::dot3
// reads it in place. The zero columns of gY cost (Q − Wo)/Q of the multiply-adds.
template <class Isa, class T>
SVERTKA_CONV_INLINE void filter_flat(const FilterCtx<T>& c, i64 t) {
  const Setup& s = *c.s;
  const auto& g = s.g;
  constexpr i64 nr = NR<T>;
  const i64 gi = t % s.G, part = t / s.G, nb = ceil_div(g.Ho, c.m), count = g.N * nb, L = c.L;
  T* acc = c.part + (part * s.G + gi) * c.crsp * c.kg4;
  std::fill_n(acc, c.crsp * c.kg4, T(0));
  const i64 b0 = part * count / c.parts, b1 = (part + 1) * count / c.parts;
  Workspace& ws = workspace();
  T* ap = ws.task_a.get<T>(c.kg4 * c.lda);
  T* planes = ws.task_b.get<T>(c.cb * c.pitch + c.lda);
  T* zero_row = planes + c.cb * c.pitch;
  std::fill_n(zero_row, c.lda, T(0));
  for (i64 b = b0; b < b1; ++b) {
    const i64 n = b / nb, oh0 = b % nb * c.m, rows = std::min(c.m, g.Ho - oh0), U = rows * L;
    const i64 kc = round_up(U, VW<T>);
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
    RowPanels<T> rp;
    rp.oh0 = oh0, rp.rows = rows + (g.R - 1) * g.dilation.h, rp.ldq = L;
    const T* x = c.x + (n * g.C + gi * s.Cg) * s.HW;
    for (i64 d0 = 0; d0 < c.crsp;) {
      // the planes of channels [cf, ce); the triples of rows [d0, d1) lie in them
      const i64 cf = std::min(d0 / s.RS, s.Cg - 1), ce = std::min(s.Cg, cf + c.cb);
      const i64 d1 = ce == s.Cg ? c.crsp : ce * s.RS / 3 * 3;
      for (i64 ci = cf; ci < ce; ++ci) {
        T* pl = planes + (ci - cf) * c.pitch;
        fill_padded_rows(s, rp, x + ci * s.HW, pl);
        std::fill(pl + nr + rp.rows * L, pl + c.pitch, T(0));
      }
      const auto brow = [&](i64 d) -> const T* {
        if (d >= s.CRS) return zero_row;
        const i64 r = d % s.RS / g.S, sx = d % g.S;
        return planes + (d / s.RS - cf) * c.pitch + nr + r * g.dilation.h * L + sx * g.dilation.w;
      };
      for (i64 d = d0; d < d1; d += 3) {
        const T *p0 = brow(d), *p1 = brow(d + 1), *p2 = brow(d + 2);
        for (i64 k = 0; k < c.kg4; k += 4) Isa::dot3(kc, ap + k * c.lda, c.lda, p0, p1, p2, acc + d * c.kg4 + k, c.kg4);
      }
      d0 = d1;
    }
  }
}

// The im2col rows d .. d + taps − 1 (taps s0 .. s0 + taps − 1 of filter row r of channel ci, taps
// ≤ 4, within one filter row) of the block's columns [col0, col0 + len), into dst (rows ld apart,
// zero from len to ncp), at horizontal stride 4 with taps 1 apart: the 4 taps of 8 consecutive
// output columns read 32 consecutive input columns, split by Isa::load_deinterleaved4 where they all
// lie in the image; the other columns one by one through the column map.
template <class Isa, class T>
SVERTKA_CONV_INLINE void im2col_stride4(const Setup& s, const T* x, i64 gi, i64 ci, i64 r, i64 s0, i64 taps,
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
      // the output columns whose 4 input columns ow·4 + s0 − left .. + 3 all lie in the image
      const i64 lo = std::clamp<i64>(left - s0 <= 0 ? 0 : ceil_div(left - s0, 4), ow0, ow1);
      const i64 hi = std::clamp<i64>(g.W - 4 - s0 + left < 0 ? 0 : (g.W - 4 - s0 + left) / 4 + 1, lo, ow1);
      auto one = [&](i64 ow) {
        for (i64 j = 0; j < taps; ++j) {
          const i32 iw = s.colmap[ow * S + s0 + j];
          d[j * ld + ow] = iw >= 0 ? xrow[iw] : T(0);
        }
      };
      i64 ow = ow0;
      for (; ow < lo; ++ow) one(ow);
      for (; ow + 8 <= hi; ow += 8) Isa::load_deinterleaved4(xrow + ow * 4 + s0 - left, d + ow, ld, taps);
      for (; ow < ow1; ++ow) one(ow);
    }
    col += ow1 - ow0;
  }
  for (i64 j = 0; j < taps; ++j) std::fill(dst + j * ld + len, dst + j * ld + ncp, T(0));
}

template <class Isa, class T>
SVERTKA_CONV_INLINE void filter_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const FilterCtx<T>*>(vctx);
  if constexpr (std::is_same_v<Isa, Avx2>)
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
        if constexpr (std::is_same_v<T, float> && std::is_same_v<Isa, Avx2>)  // measured on AVX2 only
          if (d < s.CRS && !c.rows && s.g.stride.w == 4 && s.g.dilation.w == 1) {
            const i64 ci = d / s.RS, r = d % s.RS / s.g.S, s0 = d % s.g.S;
            const i64 taps = std::min({i64{4}, s.g.S - s0, d1 - d, s.CRS - d});
            if (d % s.RS == 0 && ci + 1 < s.Cg) prefetch_span(x + (gi * s.Cg + ci + 1) * s.HW, pf_lo, pf_hi);
            im2col_stride4<Isa>(s, c.x, gi, ci, r, s0, taps, col0, len, ncp, dst, ld);
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

// ------------------------------------------------------------------------------------------------
// ISA dispatch
// ------------------------------------------------------------------------------------------------
SVERTKA_CONV_ENTRIES(forward_task)
SVERTKA_CONV_ENTRIES(data_task)
SVERTKA_CONV_ENTRIES(data1_task)
SVERTKA_CONV_ENTRIES(filter_task)

double flops(const Setup& s) {
  return 2.0 * static_cast<double>(s.g.N * s.g.K * s.P) * static_cast<double>(s.CRS);
}

}  // namespace

// Extra memory: the packed weight (K·Cg·R·S rounded up to 6 filters, on the calling thread); per
// task thread a block of X̂ (≤ 256 × 128 floats), of C (Kg × 128) and the block's panel maps.
template <class T>
void forward(const Setup& s, const T* x, const T* w, const T* b, T* y) {
  const Kernel kern = pick_forward_task<T>();
  const i64 mr = kern.mr, tiles = ceil_div(s.Kg, mr);
  T* a = workspace().call_a.get<T>(s.G * tiles * mr * s.CRS);
  for (i64 gi = 0; gi < s.G; ++gi)
    for (i64 ti = 0; ti < tiles; ++ti)
      for (i64 d = 0; d < s.CRS; ++d)
        for (i64 i = 0; i < mr; ++i) {
          const i64 k = ti * mr + i;
          a[((gi * tiles + ti) * s.CRS + d) * mr + i] = k < s.Kg ? w[(gi * s.Kg + k) * s.CRS + d] : T(0);
        }
  const Blocks bl(s.g.N, s.P, fwd_bytes / static_cast<i64>(sizeof(T)), NR<T>);
  const FwdCtx<T> c{&s, build_column_maps(s, bl, NR<T>, std::is_same_v<T, float>), x, a, b, y,
                    balanced(s.CRS, kc_max, 1), mc_max};
  run_tasks(bl.count * s.G, flops(s), kern.fn, &c);
}

// Extra memory: Wᵀ packed per channel block (about the weight's size, calling thread); per task
// thread a block of gY (Kg × 128) and of D ((channels of the block)·R·S × 128), and the panel maps.
// Packs Wᵀ per (group, channel block of cbs channels): tiles of mr rows (c, r, s) over depth k.
template <class T>
void pack_wt(const Setup& s, const T* w, i64 mr, i64 cbs, i64 ncb, i64 a_stride, T* a) {
  for (i64 gi = 0; gi < s.G; ++gi)
    for (i64 cb = 0; cb < ncb; ++cb) {
      T* ab = a + (gi * ncb + cb) * a_stride;
      const i64 rows = (std::min(s.Cg, (cb + 1) * cbs) - cb * cbs) * s.RS, tiles = ceil_div(rows, mr);
      for (i64 ti = 0; ti < tiles; ++ti)
        for (i64 k = 0; k < s.Kg; ++k)
          for (i64 i = 0; i < mr; ++i) {
            const i64 row = ti * mr + i;
            ab[(ti * s.Kg + k) * mr + i] = row < rows ? w[(gi * s.Kg + k) * s.CRS + cb * cbs * s.RS + row] : T(0);
          }
    }
}

// Extra memory: Wᵀ packed per channel block (about the weight's size, calling thread). Per task
// thread, stride 1: the image group's gY, packed (Kg × about 512 columns, or one image's pixels when
// larger), D of those columns for a block's channels (≤ ~768 KiB unless one channel needs more) and
// one padded row; other strides: a block of gY
// (Kg × 128), of D ((channels of the block)·R·S × 128), and the panel maps (per call, cached).
template <class T>
void backward_data(const Setup& s, const T* w, const T* gy, T* gx) {
  constexpr i64 nr = NR<T>;
  if (s.g.stride.h == 1 && s.g.stride.w == 1) {
    const Kernel kern = pick_data1_task<T>();
    const i64 ipg = std::clamp<i64>(512 / s.P, 1, s.g.N), ncp = skew<T>(round_up(ipg * s.P, nr), nr);
    const i64 rows_max = std::max<i64>(s.RS, d1_bytes / static_cast<i64>(sizeof(T)) / ncp);
    const i64 ncb = ceil_div(s.Cg, std::max<i64>(1, rows_max / s.RS)), cbs = ceil_div(s.Cg, ncb);
    const i64 mr = kern.mr, a_stride = ceil_div(cbs * s.RS, mr) * mr * s.Kg;
    T* a = workspace().call_a.get<T>(s.G * ncb * a_stride);
    pack_wt(s, w, mr, cbs, ncb, a_stride, a);
    // each task packs its images' gY once and runs through a run of channel blocks; the runs are
    // as long as possible while there are still at least 8 tasks (a count set by the shape only)
    const i64 ngroups = ceil_div(s.g.N, ipg), runs = std::clamp<i64>(ceil_div(8, ngroups * s.G), 1, ncb);
    const i64 left = s.g.padding.left;
    const Data1Ctx<T> c{&s, a, gy, gx, cbs, ncb, a_stride, balanced(s.Kg, kc_max, 1), ipg, ncp,
                        std::min(left, s.Q), std::clamp(left + s.g.W, left, s.Q), round_up(s.Q, nr), runs};
    run_tasks(ngroups * s.G * runs, flops(s), kern.fn, &c);
    return;
  }
  // channel blocks of about 144 im2col rows, equal in size
  const i64 ncb = ceil_div(s.Cg, std::max<i64>(1, 144 / s.RS));
  const i64 cbs = ceil_div(s.Cg, ncb);
  const Kernel kern = pick_data_task<T>();
  const i64 mr = kern.mr, a_stride = ceil_div(cbs * s.RS, mr) * mr * s.Kg;
  T* a = workspace().call_a.get<T>(s.G * ncb * a_stride);
  pack_wt(s, w, mr, cbs, ncb, a_stride, a);
  const Blocks bl(s.g.N, s.P, fwd_bytes / static_cast<i64>(sizeof(T)), NR<T>);
  const DataCtx<T> c{&s, build_column_maps(s, bl, NR<T>, std::is_same_v<T, float>), a, gy, gx, cbs, ncb,
                     a_stride, balanced(s.Kg, kc_max, 1)};
  run_tasks(bl.groups * s.G * ncb, flops(s), kern.fn, &c);
}

namespace {
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
// flat: a block of gY at pitch Q (≤ 512 KiB × Q / Wo) and the padded planes of at least 4 channels
// (≤ 128 KiB when more fit).
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
  const bool flat = flat_applies(s) && dc == 3;
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
    c.flat = true;
    c.m = m, c.L = s.Q;
    c.lda = skew<T>(round_up(c.m * c.L, nr), nr);
    c.pitch = round_up(nr + (c.m + (s.g.R - 1) * s.g.dilation.h) * c.L + (s.g.S - 1) * s.g.dilation.w + nr, nr);
    c.cb = std::max<i64>(4, dw_b_bytes / static_cast<i64>(sizeof(T)) / c.pitch);
  }
  run_tasks(parts * s.G, flops(s), kern.fn, &c);
  add_partials(s, part, parts, crsp, kg4, gw);
}

#define SVERTKA_CONV_GEMM_INSTANTIATE(T)                                   \
  template void forward<T>(const Setup&, const T*, const T*, const T*, T*); \
  template void backward_data<T>(const Setup&, const T*, const T*, T*);     \
  template void backward_filter<T>(const Setup&, const T*, const T*, T*);
SVERTKA_CONV_GEMM_INSTANTIATE(float)
SVERTKA_CONV_GEMM_INSTANTIATE(double)

}  // namespace svertka::kernels::conv::gemm
