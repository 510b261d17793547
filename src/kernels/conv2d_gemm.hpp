#pragma once
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
//                    micro-kernel (4 filters × 3 im2col rows, 6 with AVX-512, vectorised along the
//                    pixels) over packed rows of gY and X̂. The columns are cut into a fixed number of
//                    parts (by shape only), each summed into its own partial dW; the partials are added
//                    in part order. With 16 taps or more at stride 1, X̂'s rows come from padded input
//                    rows (RowPanels); on AVX2 at stride 1 with rows of 32 or more, and on AVX-512 at
//                    strides 2 and 4, they are read in place from the stride's phase planes of the
//                    padded input, laid out with the pitch of a gY block (filter_flat).
// The packing loops prefetch the next channel's input rows of a block.
//
// Blocks, chunks and parts depend on the shape only, never on the thread count, and every output
// element is computed by one task with a fixed sequence of operations: results are bit-identical
// for any number of threads.
//
// This header holds what the forward and data passes (conv2d_gemm.cpp) share with the weight
// gradient (conv2d_gemm_filter.cpp): block sizes, row strides, prefetches, padded rows, gY packing.

#include <algorithm>
#include <type_traits>

#include "conv2d_avx512.hpp"

namespace svertka::kernels::conv::gemm {

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

// The flat weight gradient (filter_flat): AVX2 at stride 1 with output rows of at least 32 pixels
// (level with the panels at 28, mixed at 16-20, 1.1-1.4x at 32-64 on 3 × 3 and 5 × 5 layers); AVX-512
// at strides 2 × 2 and 4 × 4 with rows of 16 or more, where it replaces the panel maps' im2col (Zen 5,
// medians of alternating runs: strided_3x3 21.8-23.1 -> 21.3-22.1 ms at one thread, 11.8-12.7 ->
// 11.6-12.1 at two, the dot products then 9 in 10 of the samples; alexnet_c1 22.6-26.1 -> 19.7-21.2
// at one thread, 11.5-13.4 -> 10.1-11.0 at two).
inline bool flat_applies(const Setup& s) {
  const i64 sh = s.g.stride.h, sw = s.g.stride.w;
  const bool one = sh == 1 && sw == 1, phases = sh == sw && (sw == 2 || sw == 4);
  return (one && s.g.Wo >= 32 && isa() == Conv2dIsa::avx2) || (phases && s.g.Wo >= 16 && isa() == Conv2dIsa::avx512);
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
  const i64 qh_end = g.Ho + (g.R - 1) * g.dilation.h;
  std::fill_n(pr, NR<T>, T(0));
  for (i64 i = 0; i < rp.rows; ++i) {
    T* d = pr + NR<T> + i * rp.ldq;
    const i64 qh = rp.oh0 + i, ih = qh < qh_end ? pad_source(qh - g.padding.top, g.H, g.mode) : -1;
    if (ih < 0) {
      std::fill_n(d, rp.ldq, T(0));
      continue;
    }
    pad_row(s, plane + ih * g.W, d);
    std::fill(d + s.Q, d + rp.ldq, T(0));
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

// Output columns [lo, hi) of [ow0, ow1) whose ST input columns ow·ST + s0 − left .. + ST − 1 all lie
// in the image, at horizontal stride ST (2 or 4) with taps 1 apart: the ones the strided col2im and
// im2col move as whole vectors.
template <i64 ST>
void strided_inside(const Setup& s, i64 s0, i64 ow0, i64 ow1, i64& lo, i64& hi) {
  const i64 left = s.g.padding.left, right_end = s.g.W - ST - s0 + left;
  lo = std::clamp<i64>(left - s0 <= 0 ? 0 : ceil_div(left - s0, ST), ow0, ow1);
  hi = std::clamp<i64>(right_end < 0 ? 0 : right_end / ST + 1, lo, ow1);
}

// The AVX2 float kernels move the im2col rows (weight gradient) and col2im (data gradient) of taps
// 1 apart as whole vectors at horizontal strides 2 and 4; the AVX-512 ones only the col2im (their
// weight gradient was slower with it: strided_3x3 7.9 → 8.6 ms, its data gradient 8.2 → 7.7).
template <class Isa, class T>
inline constexpr bool strided_isa = std::is_same_v<T, float> && std::is_same_v<Isa, Avx2>;
template <class Isa, class T>
inline constexpr bool strided_col2im_isa = std::is_same_v<T, float> && (std::is_same_v<Isa, Avx2> || std::is_same_v<Isa, Avx512>);

inline bool strided_vectors(const Setup& s) {
  return (s.g.stride.w == 2 || s.g.stride.w == 4) && s.g.dilation.w == 1;
}

inline double flops(const Setup& s) {
  return 2.0 * static_cast<double>(s.g.N * s.g.K * s.P) * static_cast<double>(s.CRS);
}

}  // namespace svertka::kernels::conv::gemm
