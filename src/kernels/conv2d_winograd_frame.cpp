// The padded frame of the Winograd data gradient. With padding of at most m = (r − 1)·dilation per
// side in a mode other than zeros, the interior of the padded input's gradient is the zero-padding
// layer's data gradient (winograd::backward_data's transposed run, on the input's pixels), and only
// the pixels of the frame around it are summed here, each over the filters and the taps that reach
// ∂L/∂y, Σ_k Σ_(r,s) w[k, c, r, s]·gY[k, i − r·dh, j − s·dw], and added to the pixel it was copied
// from. The frame of dilated_reflect (68 × 68 around 64 × 64) is 528 pixels a plane, most with 3
// taps, where the whole padded input in 4 × 4 tiles took 9 × 9 tiles a phase against the interior's
// 8 × 8.
//
// The channels of a group are the vector lanes: `wt` holds the filters as [k][r][s][c], c padded to
// `cp` (a multiple of the block of channels `cb`). The frame's pixels are listed once per call (the
// rows above and below the interior row by row, then the columns beside it column by column, so
// that neighbours share their taps) and cut into runs of 8, 4 or 1 neighbours with the same taps,
// whose sums share each load of the weights. One task per image, group and block of channels, so
// the sums into one source pixel (a replicated corner takes 9) run in one task, in a fixed order.

#include <cstring>

#include "conv2d_winograd.hpp"

namespace svertka::kernels::conv::winograd {
namespace {

// A frame pixel: its ∂L/∂y offset (i·Wo + j), its source pixel's offset in the plane, and the taps
// that reach ∂L/∂y, r in [r0, r1) with 0 ≤ i − r·dh < Ho and s in [s0, s1) with 0 ≤ j − s·dw < Wo.
struct FramePixel {
  i64 gy, dst;
  i64 r0, r1, s0, s1;
  bool same_taps(const FramePixel& o) const { return r0 == o.r0 && r1 == o.r1 && s0 == o.s0 && s1 == o.s1; }
};

template <class T>
struct FrameCtx {
  const Conv2dGeometry* g;
  const T* wt;
  const T* gy;
  T* gx;
  const FramePixel* px;  // the frame's pixels, m of them
  const i64* runs;       // the lengths of their runs (8, 4 or 1), in order, nruns of them
  i64 m, nruns;
  i64 nv, cp, blocks;  // vectors of channels per block, channels per group in wt, blocks per group
};

// Channels per block: 2 vectors of 64 bytes, or 1 when the group has no more channels.
template <class T>
i64 frame_vectors(i64 Cg) {
  return Cg > NR<T> ? 2 : 1;
}

// out[q·cb + l] = Σ_k Σ_(r,s) w[k, c0 + l, r, s]·gY[k, px[q]'s pixel − (r·dh, s·dw)] for P pixels with
// the same taps, NV vectors of channels: each vector of weights read once for the P pixels, the sums
// in registers (GCC's vector type of 64 bytes; two registers with AVX2), in A sets over the filters
// k ≡ a (mod A) so that 8 chains of multiply-adds are in flight.
template <i64 P, i64 NV, class T>
SVERTKA_CONV_INLINE void frame_sums(const FrameCtx<T>& c, const T* gyn, const T* wg, const FramePixel* px, T* out) {
  using V [[gnu::vector_size(64)]] = T;
  constexpr i64 A = P * NV >= 8 ? 1 : 8 / (P * NV);
  const auto& g = *c.g;
  const i64 Kg = g.K / g.groups, HWo = g.Ho * g.Wo, RS = g.R * g.S;
  const i64 rstep = g.dilation.h * g.Wo, sstep = g.dilation.w;  // ∂L/∂y offsets of one tap row, column
  const FramePixel& f = px[0];
  i64 at[P];
#pragma GCC unroll 8
  for (i64 q = 0; q < P; ++q) at[q] = px[q].gy;
  V acc[A][P][NV] = {};
  const auto filter = [&](i64 k, V (*sum)[NV]) __attribute__((always_inline)) {
    const T* wk = wg + k * RS * c.cp;
    const T* gk = gyn + k * HWo;
    for (i64 r = f.r0; r < f.r1; ++r)
      for (i64 s = f.s0; s < f.s1; ++s) {
        const T* wv = wk + (r * g.S + s) * c.cp;
        V x[NV];
#pragma GCC unroll 4
        for (i64 l = 0; l < NV; ++l) std::memcpy(&x[l], wv + l * NR<T>, sizeof(V));
        const T* go = gk - (r * rstep + s * sstep);
#pragma GCC unroll 8
        for (i64 q = 0; q < P; ++q) {
          const T v = go[at[q]];
#pragma GCC unroll 4
          for (i64 l = 0; l < NV; ++l) sum[q][l] += x[l] * v;
        }
      }
  };
  i64 k = 0;
  for (; k + A <= Kg; k += A)
#pragma GCC unroll 8
    for (i64 a = 0; a < A; ++a) filter(k + a, acc[a]);
  for (; k < Kg; ++k) filter(k, acc[0]);
#pragma GCC unroll 8
  for (i64 a = 1; a < A; ++a)
#pragma GCC unroll 8
    for (i64 q = 0; q < P; ++q)
#pragma GCC unroll 4
      for (i64 l = 0; l < NV; ++l) acc[0][q][l] += acc[a][q][l];
  std::memcpy(out, acc[0], sizeof(acc[0]));
}

// The frame's sums of one task's channels, run by run into `sums` ([pixel][channel]), then added to
// their sources 8 channels at a time: planes of 4 KiB or a multiple of it fall into one L1 set, and
// the adds straight into the planes, all channels of a pixel, took 2/5 of the task on
// replicate_5x5's 32 × 32 planes. Extra memory per task: frame·cb sums.
template <i64 NV, class T>
SVERTKA_CONV_INLINE void frame_pixels(const FrameCtx<T>& c, i64 t) {
  constexpr i64 cb = NV * NR<T>;
  const auto& g = *c.g;
  const i64 Cg = g.C / g.groups, Kg = g.K / g.groups, HW = g.H * g.W;
  const i64 n = t / (g.groups * c.blocks), gi = t / c.blocks % g.groups, c0 = t % c.blocks * cb;
  const i64 nc = std::min(cb, Cg - c0);
  const T* gyn = c.gy + (n * g.K + gi * Kg) * g.Ho * g.Wo;
  T* gxn = c.gx + (n * g.C + gi * Cg + c0) * HW;
  const T* wg = c.wt + gi * Kg * g.R * g.S * c.cp + c0;
  const FramePixel* px = c.px;
  T* sums = workspace().task_a.get<T>(c.m * cb);
  for (i64 e = 0, q = 0; e < c.nruns; q += c.runs[e++]) {
    if (c.runs[e] == 8)
      frame_sums<8, NV>(c, gyn, wg, px + q, sums + q * cb);
    else if (c.runs[e] == 4)
      frame_sums<4, NV>(c, gyn, wg, px + q, sums + q * cb);
    else
      frame_sums<1, NV>(c, gyn, wg, px + q, sums + q * cb);
  }
  // 8 channels at a time: 8 planes' lines of one pixel stay in one L1 set's ways
  for (i64 l0 = 0; l0 < nc; l0 += 8) {
    const i64 l1 = std::min(nc, l0 + 8);
    for (i64 q = 0; q < c.m; ++q)
      for (i64 l = l0; l < l1; ++l) gxn[l * HW + px[q].dst] += sums[q * cb + l];
  }
}

template <class Isa, class T>
SVERTKA_CONV_INLINE void frame_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const FrameCtx<T>*>(vctx);
  switch (c.nv) {
    case 1: return frame_pixels<1>(c, t);
    default: return frame_pixels<2>(c, t);
  }
}

SVERTKA_CONV_ENTRIES(frame_task)

}  // namespace

// Extra memory (calling thread): the filters as [k][r][s][c], K·R·S·cp values; the frame's pixels
// and their runs, 7 values a pixel.
template <class T>
void add_frame(const Conv2dGeometry& g, const T* w, const T* gy, T* gx) {
  const i64 Cg = g.C / g.groups, RS = g.R * g.S, nv = frame_vectors<T>(Cg), cb = nv * NR<T>;
  const i64 blocks = ceil_div(Cg, cb), cp = blocks * cb;
  T* wt = workspace().call_part.get<T>(g.K * RS * cp);
  for (i64 k = 0; k < g.K; ++k)
    for (i64 t = 0; t < RS; ++t) {
      T* row = wt + (k * RS + t) * cp;
      for (i64 ci = 0; ci < Cg; ++ci) row[ci] = w[(k * Cg + ci) * RS + t];
      std::fill(row + Cg, row + cp, T(0));
    }
  const Padding2d& p = g.padding;
  const i64 Hp = g.H + p.top + p.bottom, Wp = g.W + p.left + p.right, frame = Hp * Wp - g.H * g.W;
  const i64 dh = g.dilation.h, dw = g.dilation.w;
  // (the calling thread's maps buffer: the interior's run is over)
  constexpr i64 words = sizeof(FramePixel) / sizeof(i64);
  i64* buf = workspace().call_maps.get<i64>(frame * (words + 1));
  auto* px = reinterpret_cast<FramePixel*>(buf);
  i64* runs = buf + frame * words;
  i64 m = 0;
  const auto add = [&](i64 i, i64 j) {
    const i64 si = pad_source(i - p.top, g.H, g.mode), sj = pad_source(j - p.left, g.W, g.mode);
    if (si < 0 || sj < 0) return;
    px[m++] = {i * g.Wo + j, si * g.W + sj, ceil_div(std::max<i64>(0, i - g.Ho + 1), dh), std::min(g.R, i / dh + 1),
               ceil_div(std::max<i64>(0, j - g.Wo + 1), dw), std::min(g.S, j / dw + 1)};
  };
  for (i64 i = 0; i < Hp; ++i)
    if (i < p.top || i >= p.top + g.H)
      for (i64 j = 0; j < Wp; ++j) add(i, j);
  for (i64 j = 0; j < Wp; ++j)
    if (j < p.left || j >= p.left + g.W)
      for (i64 i = p.top; i < p.top + g.H; ++i) add(i, j);
  const auto run_of = [&](i64 q, i64 len) {
    if (q + len > m) return false;
    for (i64 e = 1; e < len; ++e)
      if (!px[q].same_taps(px[q + e])) return false;
    return true;
  };
  i64 nruns = 0;
  for (i64 q = 0; q < m; q += runs[nruns++]) runs[nruns] = run_of(q, 8) ? 8 : run_of(q, 4) ? 4 : 1;
  const FrameCtx<T> fc{&g, wt, gy, gx, px, runs, m, nruns, nv, cp, blocks};
  run_tasks(g.N * g.groups * blocks, 2.0 * static_cast<double>(g.N * frame * g.K / g.groups * RS * Cg),
            pick_frame_task<T>().fn, &fc);
}

template void add_frame<float>(const Conv2dGeometry&, const float*, const float*, float*);
template void add_frame<double>(const Conv2dGeometry&, const double*, const double*, double*);

}  // namespace svertka::kernels::conv::winograd
