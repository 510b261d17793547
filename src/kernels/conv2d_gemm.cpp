// The GEMM path's forward pass and data gradient (see conv2d_gemm.hpp for the path as a whole).

#include "conv2d_gemm.hpp"

namespace svertka::kernels::conv::gemm {
namespace {

// ------------------------------------------------------------------------------------------------
// forward
// ------------------------------------------------------------------------------------------------
template <class T>
struct FwdCtx {
  const Setup* s;
  ColumnMaps cm;
  const T *x, *a, *b;  // a: packed W, per group ceil(Kg/mr) tiles of [CRS][mr]
  T* y;
  i64 kc, mc;
  bool direct;  // C may be y itself: P and Kg multiples of NR and mr, y 64-byte aligned
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
  // A block inside one image is computed in y itself (no copy-out) when the layout allows it; the
  // bias is then added to each C tile after its last chunk, while the tile is in L1.
  const i64 n0 = col0 / s.P;
  const bool direct = c.direct && (col0 + len - 1) / s.P == n0;
  T* const cb = direct ? c.y + (n0 * s.g.K + gi * s.Kg) * s.P + col0 % s.P : ws.task_c.get<T>(tiles * mr * c.cm.bl.nc);
  const i64 ldc = direct ? s.P : ncp;
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
        for (i64 ti = t0; ti < t1; ++ti) {
          const i64 npan = std::min(Isa::panels, np - q);
          T* ct = cb + ti * mr * ldc + q * nr;
          Isa::micro(kc, a + ti * mr * CRS + p0 * mr, bp + q * kc * nr, kc * nr, npan, ct, ldc, p0 > 0);
          if (direct && c.b && p0 + kc == CRS)
            for (i64 i = 0; i < mr; ++i) {
              const T bias = c.b[gi * s.Kg + ti * mr + i];
              for (i64 e = 0; e < npan * nr; ++e) ct[i * ldc + e] += bias;
            }
        }
    }
  }
  if (direct) return;
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

// The col2im of one run [ow0, ow1) of output columns (one output row) into input row drow for 3 taps
// at horizontal stride 2, taps 1 apart (d[s·ncp + ow]), in one pass over the row: tap 2 of output
// column ow and tap 0 of ow + 1 land on one input column, so Step output columns add to 2·Step
// consecutive input columns (from tap 1 of the first to tap 0 of the one after the last) once,
// where all of them lie in the image: add3(p, v, n, next) for the n ≤ Step columns from v, tap 0
// of the next column for the first `next` of them. AVX2 (Step 8, Isa::add_interleaved3) takes
// whole vectors whose next column is in the run; AVX-512 (Step 16,
// Avx512::add_interleaved3_n) every column whose taps 1 and 2 land in the image, the rest of a
// run through masks. The other taps go one by one through the column map. Before, taps 0-1 and
// tap 2 were two passes, and most input columns were added to twice; on AVX-512 the rows of
// strided_3x3 (28 output columns) took 3 vectors of 8 and 13 single taps, now 2 vectors and one.
template <i64 Step, class T, class Add3>
SVERTKA_CONV_INLINE void col2im_three(const Setup& s, const T* d, i64 ncp, i64 ow0, i64 ow1, T* drow, Add3 add3) {
  const Conv2dGeometry& g = s.g;
  const i64 left = g.padding.left;
  auto tap = [&](i64 ow, i64 j) {
    const i32 iw = s.colmap[ow * 3 + j];
    if (iw >= 0) drow[iw] += d[j * ncp + ow];
  };
  // vectors over [lo, e): 2·ow + 1 − left ≥ 0 and 2·ow + 2 − left ≤ W − 1
  const i64 lo = std::clamp<i64>(left <= 1 ? 0 : ceil_div(left - 1, i64{2}), ow0, ow1);
  i64 e;
  if constexpr (Step == 16) {
    e = std::clamp<i64>((g.W + left - 1) / 2, lo, ow1);
  } else {  // whole vectors: input columns up to 2·ow + 16 − left in [0, W), ow + 8 < ow1
    const i64 room = g.W - 17 + left;  // the last vector starts at room / 2 at most
    const i64 hi = room < 0 ? lo : std::clamp<i64>(std::min(ow1 - 1, room / 2 + 8), lo, ow1);
    e = lo + (hi - lo) / Step * Step;
  }
  i64 ow = ow0;
  for (; ow < lo; ++ow)
    for (i64 j = 0; j < 3; ++j) tap(ow, j);
  if (lo < e) {
    tap(lo, 0);
    for (; ow < e; ow += Step) {
      const i64 n = std::min(Step, e - ow);
      add3(drow + 2 * ow + 1 - left, d + ow, n, std::min(n, ow1 - ow - 1));
    }
    // taps 1 and 2 of the columns left, tap 0 of those after the first of them
    for (ow = e; ow < ow1; ++ow) {
      if (ow > e) tap(ow, 0);
      tap(ow, 1), tap(ow, 2);
    }
    return;
  }
  for (; ow < ow1; ++ow)
    for (i64 j = 0; j < 3; ++j) tap(ow, j);
}

// A block's columns cut at the output rows: image n, output row oh, output columns [ow0, ow1), the
// first of them block column j.
struct Run {
  i64 n, oh, ow0, ow1, j;
};
// The runs of block columns [col0, col0 + len) into r (len + 1 at most); returns their count. Once
// per block: per channel and run, its three divisions were a tenth of strided_3x3's col2im.
inline i64 block_runs(const Setup& s, i64 col0, i64 len, Run* r) {
  i64 k = 0;
  for (i64 col = col0; col < col0 + len; ++k) {
    const i64 n = col / s.P, oh = col % s.P / s.g.Wo, ow0 = col % s.P % s.g.Wo;
    const i64 ow1 = ow0 + std::min(s.g.Wo - ow0, col0 + len - col);
    r[k] = {n, oh, ow0, ow1, col - col0};
    col += ow1 - ow0;
  }
  return k;
}

template <class Isa, i64 ST, class T>
SVERTKA_CONV_INLINE void col2im_strided(const Setup& s, const T* dcol, i64 ncp, i64 gi, i64 ci, const Run* runs,
                                        i64 nruns, T* gx) {
  const Conv2dGeometry& g = s.g;
  const i64 S = g.S, left = g.padding.left;
  for (const Run* u = runs; u < runs + nruns; ++u) {
    const i64 oh = u->oh, ow0 = u->ow0, ow1 = u->ow1;
    T* plane = gx + (u->n * g.C + gi * s.Cg + ci) * s.HW;
    for (i64 r = 0; r < g.R; ++r) {
      const i32 ih = s.rowmap[oh * g.R + r];
      if (ih < 0) continue;  // a zero-padded row receives nothing
      T* drow = plane + ih * g.W;
      const T* d = dcol + r * S * ncp + u->j - ow0;  // d[s·ncp + ow]
      if (ST == 2 && S == 3) {  // (constant ST)
        if constexpr (std::is_same_v<Isa, Avx512> && std::is_same_v<T, float>)
          col2im_three<16>(s, d, ncp, ow0, ow1, drow,
                           [&](T* p, const T* v, i64 n, i64 next) { Avx512::add_interleaved3_n(p, v, ncp, n, next); });
        else
          col2im_three<8>(s, d, ncp, ow0, ow1, drow, [&](T* p, const T* v, i64, i64) { Isa::add_interleaved3(p, v, ncp); });
        continue;
      }
      for (i64 a = 0; a < S; a += ST) {
        const i64 taps = std::min<i64>(ST, S - a);
        i64 lo, hi;
        strided_inside<ST>(s, a, ow0, ow1, lo, hi);
        auto one = [&](i64 ow) {
          for (i64 j = 0; j < taps; ++j) {
            const i32 iw = s.colmap[ow * S + a + j];
            if (iw >= 0) drow[iw] += d[(a + j) * ncp + ow];
          }
        };
        i64 ow = ow0;
        for (; ow < lo; ++ow) one(ow);
        for (; ow + 8 <= hi; ow += 8) {
          if constexpr (ST == 4)
            Isa::add_interleaved4(drow + ow * 4 + a - left, d + a * ncp + ow, ncp, taps);
          else
            Isa::add_interleaved2(drow + ow * 2 + a - left, d + a * ncp + ow, ncp, taps);
        }
        for (; ow < ow1; ++ow) one(ow);
      }
    }
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
    if constexpr (strided_col2im_isa<Isa, T>)
      if (strided_vectors(s)) {
        Run* runs = ws.task_lanes.get<Run>(len + 1);
        const i64 nruns = block_runs(s, col0, len, runs);
        for (i64 ci = c0; ci < c1; ++ci) {
          if (next_gy)
            for (i64 k = (ci - c0) * s.Kg / (c1 - c0); k < (ci - c0 + 1) * s.Kg / (c1 - c0); ++k)
              prefetch_span(next_gy + k * s.P, 0, next_len);
          if (ci + 1 < c1) prefetch_span(gx + (gi * s.Cg + ci + 1) * s.HW, pf_lo, pf_hi);
          const T* d = dcol + (ci - c0) * s.RS * ncp;
          if (s.g.stride.w == 4)
            col2im_strided<Isa, 4>(s, d, ncp, gi, ci, runs, nruns, c.gx);
          else
            col2im_strided<Isa, 2>(s, d, ncp, gi, ci, runs, nruns, c.gx);
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
// ISA dispatch
// ------------------------------------------------------------------------------------------------
SVERTKA_CONV_ENTRIES(forward_task)
SVERTKA_CONV_ENTRIES(data_task)
SVERTKA_CONV_ENTRIES(data1_task)

}  // namespace


// Extra memory: the packed weight (K·Cg·R·S rounded up to mr filters, on the calling thread); per
// task thread a block of X̂ (≤ 256 × 128 floats), of C (Kg × 128, unless C is y itself) and the
// block's panel maps.
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
  // blocks of whole micro-kernel calls (pairs of panels on AVX-512): a lone panel runs at half speed
  const Blocks bl(s.g.N, s.P, fwd_bytes / static_cast<i64>(sizeof(T)), NR<T> * kern.panels);
  const FwdCtx<T> c{&s, build_column_maps(s, bl, NR<T>, std::is_same_v<T, float>), x, a, b, y,
                    balanced(s.CRS, kc_max, 1), mc_max,
                    s.P % NR<T> == 0 && s.Kg % mr == 0 && reinterpret_cast<std::uintptr_t>(y) % 64 == 0};
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

#define SVERTKA_CONV_GEMM_INSTANTIATE(T)                                   \
  template void forward<T>(const Setup&, const T*, const T*, const T*, T*); \
  template void backward_data<T>(const Setup&, const T*, const T*, T*);
SVERTKA_CONV_GEMM_INSTANTIATE(float)
SVERTKA_CONV_GEMM_INSTANTIATE(double)

}  // namespace svertka::kernels::conv::gemm
