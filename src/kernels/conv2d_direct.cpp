// The direct path of the convolution, for tiny channel counts (LeNet's first layer: one input
// channel; depthwise convolutions: one channel per group), where im2col moves more data than the
// few multiply-adds per element it feeds.
//
// Everything runs along output rows, vectorised over the row. An input plane is first packed into
// "phase rows": for input row ih and padded column q = ow·sw + s·dw (q < Q), the value
// x[ih, qmap[q]] (0 where the map says zero) goes to phase q mod sw at position q / sw, so that tap s
// of a whole output row is the contiguous run phase[(s·dw) mod sw][(s·dw)/sw + ow]. Rows are padded
// to a multiple of the vector width with zeros (lanes past Wo compute garbage that is never stored).
//
// - forward (task: image, group, block of output rows): per output row and filter, one pass that sums
//   w[k, c, r, s] · (phase run) over every tap in registers; on AVX2 and AVX-512, one pass per block
//   of up to six filters, so each input vector is loaded once for the whole block.
// - backward data (task: image, input channel, so one task owns each dx plane): for each padded row
//   qh, the gradient of the padded row is the same kind of pass over every (oh, r, k, s) with
//   oh·sh + r·dh = qh, reading gY rows with zeros in front (a gather, no overlapping stores), then
//   folded into dx through the same maps (a padded pixel's gradient goes to its source pixel).
// - backward filter (task: group, fixed chunk of images): lane-wise dot products of gY rows with
//   phase runs, four taps per pass; per-chunk sums are added in chunk order.

#include <algorithm>

#include "conv2d_avx512.hpp"

namespace svertka::kernels::conv::direct {
namespace {

constexpr i64 max_chunks = 8;  // backward filter: images are summed in at most 8 fixed chunks

// Lengths of the phase rows of one plane.
struct Rows {
  i64 wv;      // output row, rounded up to the vector width
  i64 lph;     // one phase row: wv + max offset, rounded up
  i64 pitch;   // one input row: sw phase rows
  i64 shift;   // the largest tap offset inside a phase row, (S − 1)·dw / sw
  i64 gpitch;  // a gY row with `shift` zeros in front (backward data)
  template <class T>
  static Rows of(const Setup& s) {
    const auto& g = s.g;
    Rows r;
    r.wv = round_up(g.Wo, VW<T>);
    r.shift = (g.S - 1) * g.dilation.w / g.stride.w;
    r.lph = round_up(r.wv + r.shift + 1, VW<T>);
    r.pitch = g.stride.w * r.lph;
    r.gpitch = round_up(r.shift + r.lph, VW<T>);
    return r;
  }
};

// d[φ·lph + m] = src[m·sw + φ] for φ < sw, m ∈ [m0, m1). Called with SW = 0; strides 2 and 4 run
// with the stride a constant, so that the compiler turns the interleaved reads into permutations.
template <i64 SW, class T>
SVERTKA_CONV_INLINE void copy_phases(const T* src, T* d, i64 sw, i64 lph, i64 m0, i64 m1) {
  if constexpr (SW == 0) {
    if (sw == 4) return copy_phases<4>(src, d, sw, lph, m0, m1);
    if (sw == 2) return copy_phases<2>(src, d, sw, lph, m0, m1);
  }
  const i64 st = SW == 0 ? sw : SW;
  for (i64 m = m0; m < m1; ++m)
    for (i64 phi = 0; phi < st; ++phi) d[phi * lph + m] = src[m * st + phi];
}

// Packs plane `x` (H × W) into phase rows: dst[ih·pitch + φ·lph + m] = value at padded column m·sw + φ.
template <class T>
SVERTKA_CONV_INLINE void pack_plane(const Setup& s, const Rows& rw, const T* x, T* dst) {
  const i64 sw = s.g.stride.w;
  if (sw == 1) {  // one phase: the padded row as it is
    for (i64 ih = 0; ih < s.g.H; ++ih) {
      T* d = dst + ih * rw.pitch;
      pad_row(s, x + ih * s.g.W, d);
      std::fill(d + s.Q, d + rw.lph, T(0));
    }
    return;
  }
  // Padded columns [qa, qb) are the row itself (as in pad_row): the output columns m whose every
  // phase lies there, [m0, m1), are copied without the map, all phases together.
  const i64 left = s.g.padding.left, qa = std::min(left, s.Q), qb = std::clamp(left + s.g.W, qa, s.Q);
  const i64 m0 = std::min(ceil_div(qa, sw), rw.lph);
  const i64 m1 = std::clamp<i64>(qb >= sw ? (qb - sw) / sw + 1 : 0, m0, rw.lph);
  for (i64 ih = 0; ih < s.g.H; ++ih) {
    const T* row = x + ih * s.g.W;
    T* d = dst + ih * rw.pitch;
    for (i64 phi = 0; phi < sw; ++phi) {
      T* dp = d + phi * rw.lph;
      const auto mapped = [&](i64 m) {
        const i64 q = m * sw + phi;
        dp[m] = q < s.Q && s.qmap[q] >= 0 ? row[s.qmap[q]] : T(0);
      };
      for (i64 m = 0; m < m0; ++m) mapped(m);
      for (i64 m = m1; m < rw.lph; ++m) mapped(m);
    }
    copy_phases<0>(row - left, d, sw, rw.lph, m0, m1);
  }
}

// Copies the gY planes of image n, group gi, into rows of `pitch` with `front` zeros before the Wo
// values and zeros after them.
template <class T>
SVERTKA_CONV_INLINE void pack_gy(const Setup& s, const T* gy, i64 n, i64 gi, i64 front, i64 pitch, T* dst) {
  const auto& g = s.g;
  for (i64 k = 0; k < s.Kg; ++k)
    for (i64 oh = 0; oh < g.Ho; ++oh) {
      const T* src = gy + ((n * g.K + gi * s.Kg + k) * g.Ho + oh) * g.Wo;
      T* d = dst + (k * g.Ho + oh) * pitch;
      std::fill(d, d + front, T(0));
      std::copy_n(src, g.Wo, d + front);
      std::fill(d + front + g.Wo, d + pitch, T(0));
    }
}

template <class T>
struct Ctx {
  const Setup* s;
  Rows rw;
  // per tap s: start of its run in a packed input row, (s·dw mod sw)·lph + s·dw / sw; its shift
  // s·dw / sw; and the taps grouped by phase s·dw mod sw: by_phase[phase_begin[φ] .. phase_begin[φ+1])
  const i64 *tap_off, *tap_shift, *by_phase, *phase_begin;
  const i64* fold;  // padded column q → its place in the phase rows, (q mod sw)·lph + q / sw
  const T *x, *w, *b, *gy;
  T *y, *gx, *part;
  i64 ohb, nohb, chunk, chunks;
};

// Task (image, group, block of output rows): one `taps` call per output row and filter, over every
// (c, r, s) whose input row exists.
template <class Isa, class T>
SVERTKA_CONV_INLINE void forward_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  const Rows& rw = c.rw;
  const i64 ob = t % c.nohb, gi = (t / c.nohb) % s.G, n = t / (c.nohb * s.G);
  const i64 oh0 = ob * c.ohb, oh1 = std::min(g.Ho, oh0 + c.ohb);
  Workspace& ws = workspace();
  if constexpr (requires { Isa::taps_filters; }) {
    // Blocks of up to taps_filters filters per pass over the taps. A missing input row (zero padding
    // above or below) reads a row of zeros, so every output row runs the same Cg·R·S taps and the
    // filter weights are arranged once per task: wt[block][tap][filter in block].
    T* planes = ws.task_b.get<T>((s.Cg * g.H + 1) * rw.pitch);
    T* zeros = planes + s.Cg * g.H * rw.pitch;
    std::fill_n(zeros, rw.pitch, T(0));
    const T** src = ws.task_panels.get<const T*>(2 * s.CRS);
    const T** src1 = src + s.CRS;
    T* wt = ws.task_acc.get<T>(s.Kg * s.CRS);
    for (i64 k0 = 0; k0 < s.Kg; k0 += Isa::taps_filters) {
      const i64 kb = std::min(Isa::taps_filters, s.Kg - k0);
      for (i64 i = 0; i < s.CRS; ++i)
        for (i64 k = 0; k < kb; ++k) wt[k0 * s.CRS + i * kb + k] = c.w[(gi * s.Kg + k0 + k) * s.CRS + i];
    }
    for (i64 cl = 0; cl < s.Cg; ++cl)
      pack_plane(s, rw, c.x + (n * g.C + gi * s.Cg + cl) * s.HW, planes + cl * g.H * rw.pitch);
    const auto row_taps = [&](i64 oh, const T** dst) {
      i64 taps = 0;
      for (i64 cl = 0; cl < s.Cg; ++cl)
        for (i64 r = 0; r < g.R; ++r) {
          const i32 ih = s.rowmap[oh * g.R + r];
          const T* row = ih < 0 ? zeros : planes + (cl * g.H + ih) * rw.pitch;
          for (i64 sx = 0; sx < g.S; ++sx) dst[taps++] = row + c.tap_off[sx];
        }
      return taps;
    };
    // the output rows of filters k0.. at row oh, one plane apart; the bias is where the sums start
    const auto out = [&](i64 oh, i64 k0) { return c.y + ((n * g.K + gi * s.Kg + k0) * g.Ho + oh) * g.Wo; };
    const T* bias = c.b ? c.b + gi * s.Kg : nullptr;
    // a row that fits one vector: two output rows per pass (both vectors of the register block used)
    const bool pairs = rw.wv <= Isa::template taps_lanes<T>;
    for (i64 oh = oh0; oh < oh1; oh += pairs ? 2 : 1) {
      const i64 taps = row_taps(oh, src);
      const bool two = pairs && oh + 1 < oh1;
      if (two) row_taps(oh + 1, src1);
      if (two) {
        for (i64 k0 = 0; k0 < s.Kg; k0 += Isa::taps_filters)
          Isa::taps_k2(g.Wo, taps, src, src1, wt + k0 * s.CRS, std::min(Isa::taps_filters, s.Kg - k0),
                       bias ? bias + k0 : nullptr, out(oh, k0), out(oh + 1, k0), s.P);
      } else if constexpr (Isa::taps_any_k) {  // every block in one call (it orders the work itself)
        Isa::taps_k(g.Wo, taps, src, wt, s.Kg, bias, out(oh, 0), s.P);
      } else {
        for (i64 k0 = 0; k0 < s.Kg; k0 += Isa::taps_filters)
          Isa::taps_k(g.Wo, taps, src, wt + k0 * s.CRS, std::min(Isa::taps_filters, s.Kg - k0),
                      bias ? bias + k0 : nullptr, out(oh, k0), s.P);
      }
    }
  } else {
    T* planes = ws.task_b.get<T>(s.Cg * g.H * rw.pitch);
    T* acc = ws.task_c.get<T>(rw.wv);
    const T** src = ws.task_panels.get<const T*>(s.CRS);
    T* wt = ws.task_acc.get<T>(s.CRS);
    i32* woff = ws.task_lanes.get<i32>(s.CRS);
    for (i64 cl = 0; cl < s.Cg; ++cl)
      pack_plane(s, rw, c.x + (n * g.C + gi * s.Cg + cl) * s.HW, planes + cl * g.H * rw.pitch);
    for (i64 oh = oh0; oh < oh1; ++oh) {
      i64 taps = 0;
      for (i64 cl = 0; cl < s.Cg; ++cl)
        for (i64 r = 0; r < g.R; ++r) {
          const i32 ih = s.rowmap[oh * g.R + r];
          if (ih < 0) continue;
          for (i64 sx = 0; sx < g.S; ++sx, ++taps) {
            src[taps] = planes + (cl * g.H + ih) * rw.pitch + c.tap_off[sx];
            woff[taps] = static_cast<i32>(cl * s.RS + r * g.S + sx);
          }
        }
      for (i64 k = 0; k < s.Kg; ++k) {
        const i64 kk = gi * s.Kg + k;
        const T* wk = c.w + kk * s.CRS;
        for (i64 i = 0; i < taps; ++i) wt[i] = wk[woff[i]];
        std::fill_n(acc, rw.wv, T(0));
        Isa::taps(rw.wv, taps, src, wt, acc);
        T* out = c.y + ((n * g.K + kk) * g.Ho + oh) * g.Wo;
        if (c.b)
          for (i64 j = 0; j < g.Wo; ++j) out[j] = acc[j] + c.b[kk];
        else
          std::copy_n(acc, g.Wo, out);
      }
    }
  }
}

// Task (image, input channel): owns that dx plane. For each padded row qh, the gradient of the padded
// row, phase by phase, is one `taps` call over every (r, k, s) reaching it (gathering from gY rows
// padded in front, so each position sums its taps in registers), then folded into dx.
template <class Isa, class T>
SVERTKA_CONV_INLINE void data_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  const Rows& rw = c.rw;
  const i64 ch = t % g.C, n = t / g.C, gi = ch / s.Cg, cl = ch % s.Cg;
  const i64 sh = g.stride.h, dh = g.dilation.h, sw = g.stride.w;
  Workspace& ws = workspace();
  T* gyp = ws.task_a.get<T>(s.Kg * g.Ho * rw.gpitch);
  T* drow = ws.task_b.get<T>(rw.pitch);
  const i64 taps_max = g.R * s.Kg * g.S;
  const T** src = ws.task_panels.get<const T*>(taps_max);
  T* wt = ws.task_acc.get<T>(taps_max);
  i64* oh_of = ws.task_c.get<i64>(2 * g.R);
  i64* rs = oh_of + g.R;
  pack_gy(s, c.gy, n, gi, rw.shift, rw.gpitch, gyp);
  T* dx = c.gx + (n * g.C + ch) * s.HW;
  const i64 qh_end = (g.Ho - 1) * sh + (g.R - 1) * dh + 1;
  i64* pb = ws.task_lanes.get<i64>(sw + 1);  // the taps of phase φ: [pb[φ], pb[φ + 1])
  i64 prev_qh = -2, prev_nr = -1, prev_r0 = -1;
  for (i64 qh = 0; qh < qh_end; ++qh) {
    const i64 ih = pad_source(qh - g.padding.top, g.H, g.mode);
    if (ih < 0) continue;
    i64 nr_ = 0;  // the (r, oh) pairs reaching row qh
    for (i64 r = 0; r < g.R; ++r) {
      const i64 u = qh - r * dh;
      if (u < 0 || u % sh != 0 || u / sh >= g.Ho) continue;
      oh_of[nr_] = u / sh;
      rs[nr_++] = r;
    }
    if (nr_ == 0) continue;
    // with stride 1, the same taps as the row before (the r are consecutive, so count and first r
    // identify them) read the next gY row: move the pointers instead of rebuilding the lists
    if (sh == 1 && prev_qh == qh - 1 && prev_nr == nr_ && prev_r0 == rs[0]) {
      for (i64 i = 0; i < pb[sw]; ++i) src[i] += rw.gpitch;
    } else {
      i64 taps = 0;
      for (i64 phi = 0; phi < sw; ++phi) {
        pb[phi] = taps;
        for (i64 e = 0; e < nr_; ++e)
          for (i64 k = 0; k < s.Kg; ++k) {
            const T* wk = c.w + (gi * s.Kg + k) * s.CRS + cl * s.RS + rs[e] * g.S;
            const T* gr = gyp + (k * g.Ho + oh_of[e]) * rw.gpitch + rw.shift;
            for (i64 i = c.phase_begin[phi]; i < c.phase_begin[phi + 1]; ++i) {
              const i64 sx = c.by_phase[i];
              src[taps] = gr - c.tap_shift[sx];
              wt[taps++] = wk[sx];
            }
          }
      }
      pb[sw] = taps;
    }
    prev_qh = qh, prev_nr = nr_, prev_r0 = rs[0];
    for (i64 phi = 0; phi < sw; ++phi) {
      T* acc = drow + phi * rw.lph;
      std::fill_n(acc, rw.lph, T(0));
      if (pb[phi + 1] > pb[phi]) Isa::taps(rw.lph, pb[phi + 1] - pb[phi], src + pb[phi], wt + pb[phi], acc);
    }
    T* dxr = dx + ih * g.W;
    for (i64 q = 0; q < s.Q; ++q)
      if (s.qmap[q] >= 0) dxr[s.qmap[q]] += drow[c.fold[q]];
  }
}

// Task (group, chunk of images): lane sums per weight, then one sum per weight for the chunk.
template <class Isa, class T>
SVERTKA_CONV_INLINE void filter_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  const Rows& rw = c.rw;
  const i64 gi = t % s.G, chunk = t / s.G;
  const i64 per = s.Kg * s.CRS;  // this group's weights
  Workspace& ws = workspace();
  T* lanes = ws.task_acc.get<T>(per * VW<T>);
  T* plane = ws.task_b.get<T>(g.H * rw.pitch);
  T* gyp = ws.task_a.get<T>(s.Kg * g.Ho * rw.wv);
  const T** src = ws.task_panels.get<const T*>(g.S);
  std::fill_n(lanes, per * VW<T>, T(0));
  if constexpr (requires { Isa::dot_filters; }) {
    // Per image, input channel and filter row r: the rows oh that meet an input row, then blocks of
    // dot_filters filters × dot_taps_max taps (3 × 5 on AVX-512, 2 × 5 on AVX2) accumulated over all
    // of them in registers.
    const T** xr = ws.task_panels.get<const T*>(2 * g.Ho);
    const T** gr = xr + g.Ho;
    for (i64 n = chunk * c.chunk; n < std::min(g.N, (chunk + 1) * c.chunk); ++n) {
      pack_gy(s, c.gy, n, gi, 0, rw.wv, gyp);
      for (i64 cl = 0; cl < s.Cg; ++cl) {
        pack_plane(s, rw, c.x + (n * g.C + gi * s.Cg + cl) * s.HW, plane);
        for (i64 r = 0; r < g.R; ++r) {
          i64 m = 0;
          for (i64 oh = 0; oh < g.Ho; ++oh)
            if (const i32 ih = s.rowmap[oh * g.R + r]; ih >= 0) {
              xr[m] = plane + ih * rw.pitch;
              gr[m++] = gyp + oh * rw.wv;
            }
          for (i64 k0 = 0; k0 < s.Kg; k0 += Isa::dot_filters) {
            for (i64 s0 = 0; s0 < g.S; s0 += Isa::dot_taps_max)
              Isa::dot_rows(rw.wv, m, xr, gr, g.Ho * rw.wv, c.tap_off + s0, std::min(Isa::dot_filters, s.Kg - k0),
                            std::min(Isa::dot_taps_max, g.S - s0),
                            lanes + ((k0 * s.Cg + cl) * s.RS + r * g.S + s0) * VW<T>, s.Cg * s.RS * VW<T>);
            for (i64 i = 0; i < m; ++i) gr[i] += Isa::dot_filters * g.Ho * rw.wv;  // to the next block's gY rows
          }
        }
      }
    }
  } else {
    for (i64 n = chunk * c.chunk; n < std::min(g.N, (chunk + 1) * c.chunk); ++n) {
      pack_gy(s, c.gy, n, gi, 0, rw.wv, gyp);
      for (i64 cl = 0; cl < s.Cg; ++cl) {
        pack_plane(s, rw, c.x + (n * g.C + gi * s.Cg + cl) * s.HW, plane);
        for (i64 oh = 0; oh < g.Ho; ++oh)
          for (i64 r = 0; r < g.R; ++r) {
            const i32 ih = s.rowmap[oh * g.R + r];
            if (ih < 0) continue;
            for (i64 sx = 0; sx < g.S; ++sx) src[sx] = plane + ih * rw.pitch + c.tap_off[sx];
            for (i64 k = 0; k < s.Kg; ++k)
              Isa::dot_taps(rw.wv, g.S, gyp + (k * g.Ho + oh) * rw.wv, src,
                            lanes + ((k * s.Cg + cl) * s.RS + r * g.S) * VW<T>);
          }
      }
    }
  }
  T* out = c.part + (chunk * s.G + gi) * per;
  for (i64 e = 0; e < per; ++e) {
    T sum = lanes[e * VW<T>];
    for (i64 l = 1; l < VW<T>; ++l) sum += lanes[e * VW<T> + l];
    out[e] = sum;
  }
}

SVERTKA_CONV_ENTRIES(forward_task)
SVERTKA_CONV_ENTRIES(data_task)
SVERTKA_CONV_ENTRIES(filter_task)

double flops(const Setup& s) {
  return 2.0 * static_cast<double>(s.g.N * s.g.K * s.P) * static_cast<double>(s.CRS);
}

template <class T>
Ctx<T> context(const Setup& s) {
  Ctx<T> c{};
  c.s = &s;
  c.rw = Rows::of<T>(s);
  // forward: split the rows of a plane when there are fewer than 8 planes
  c.nohb = std::clamp<i64>(8 / (s.g.N * s.G), 1, s.g.Ho);
  c.ohb = ceil_div(s.g.Ho, c.nohb);
  c.nohb = ceil_div(s.g.Ho, c.ohb);
  c.chunks = std::min(s.g.N, max_chunks);
  c.chunk = ceil_div(s.g.N, c.chunks);
  c.chunks = ceil_div(s.g.N, c.chunk);
  const i64 S = s.g.S, sw = s.g.stride.w, dw = s.g.dilation.w;
  i64* t = workspace().call_a.get<i64>(3 * S + sw + 1 + s.Q);
  i64 *off = t, *shift = t + S, *by_phase = t + 2 * S, *begin = t + 3 * S, *fold = begin + sw + 1;
  for (i64 q = 0; q < s.Q; ++q) fold[q] = (q % sw) * c.rw.lph + q / sw;
  c.fold = fold;
  for (i64 sx = 0; sx < S; ++sx) {
    off[sx] = (sx * dw % sw) * c.rw.lph + sx * dw / sw;
    shift[sx] = sx * dw / sw;
  }
  i64 e = 0;
  for (i64 phi = 0; phi < sw; ++phi) {
    begin[phi] = e;
    for (i64 sx = 0; sx < S; ++sx)
      if (sx * dw % sw == phi) by_phase[e++] = sx;
  }
  begin[sw] = e;
  c.tap_off = off, c.tap_shift = shift, c.by_phase = by_phase, c.phase_begin = begin;
  return c;
}

}  // namespace

// Extra memory, per task thread: the group's packed input planes of one image (Cg × H × sw ×
// (Wo + (S−1)·dw/sw), rounded to vectors), one output row and the tap lists (Cg·R·S).
template <class T>
void forward(const Setup& s, const T* x, const T* w, const T* b, T* y) {
  Ctx<T> c = context<T>(s);
  c.x = x, c.w = w, c.b = b, c.y = y;
  run_tasks(s.g.N * s.G * c.nohb, flops(s), pick_forward_task<T>().fn, &c);
}

// Extra memory, per task thread: the group's gY planes of one image (Kg × Ho × (Wo + (S−1)·dw/sw),
// rounded), one padded gradient row and the tap lists (R·Kg·S).
template <class T>
void backward_data(const Setup& s, const T* w, const T* gy, T* gx) {
  Ctx<T> c = context<T>(s);
  c.w = w, c.gy = gy, c.gx = gx;
  run_tasks(s.g.N * s.g.C, flops(s), pick_data_task<T>().fn, &c);
}

// Extra memory: per-chunk partial gradients (≤ 8 × the weight, calling thread); per task thread the
// lane sums (vector width × Kg·Cg·R·S), one packed plane and one image's gY planes of the group.
template <class T>
void backward_filter(const Setup& s, const T* x, const T* gy, T* gw) {
  Ctx<T> c = context<T>(s);
  c.x = x, c.gy = gy;
  const i64 per = s.G * s.Kg * s.CRS;
  c.part = workspace().call_part.get<T>(c.chunks * per);
  run_tasks(c.chunks * s.G, flops(s), pick_filter_task<T>().fn, &c);
  for (i64 e = 0; e < per; ++e) {  // [G][Kg][CRS] is the layout of w: add the chunks in order
    T sum = c.part[e];
    for (i64 ch = 1; ch < c.chunks; ++ch) sum += c.part[ch * per + e];
    gw[e] += sum;
  }
}

#define SVERTKA_CONV_DIRECT_INSTANTIATE(T)                                 \
  template void forward<T>(const Setup&, const T*, const T*, const T*, T*); \
  template void backward_data<T>(const Setup&, const T*, const T*, T*);     \
  template void backward_filter<T>(const Setup&, const T*, const T*, T*);
SVERTKA_CONV_DIRECT_INSTANTIATE(float)
SVERTKA_CONV_DIRECT_INSTANTIATE(double)

}  // namespace svertka::kernels::conv::direct
