// The Winograd path's forward pass and data gradient (the kernels are described in
// conv2d_winograd.hpp; the stride-2 data gradient is in conv2d_winograd_adjoint.cpp).

#include <fmt/format.h>

#include "conv2d_winograd_tasks.hpp"
#include "svertka/core/error.hpp"
#include "svertka/kernels/pad2d.hpp"

namespace svertka::kernels::conv::winograd {
namespace {

// Tiles per task: B panels and products of α² positions in L2. With AVX-512 (1 MiB of L2
// per core) 96: each task reads all the transformed weights (α²·K·C values, 590 KiB for vgg_3x3),
// which twice the tiles amortize; at one thread vgg_3x3's forward pass took 9.6-10.6 ms in blocks
// of 48 and 8.5-9.0 in blocks of 96-192, alexnet_c1's phases (2 threads) 3.0-3.4 and 2.8-3.1,
// dilated_reflect 7.1-7.4 and 6.6-6.8, 256 channels at 28 × 28 22.9-23.0 and 21.4-22.0.
i64 tile_block() { return isa() == Conv2dIsa::avx512 ? 96 : 48; }

// Aᵀ M A plus the bias for the tiles whose products are at p (position ξ at p + ξ·ms), as scalars
// or vectors U loaded by `ld`: y[i][j] holds output row i, column j of each tile.
template <int R, int M, int SD, class U, class Load>
SVERTKA_CONV_INLINE void output_tiles(Load ld, U bias, U y[M][M]) {
  using W = Wino<R, M, SD>;
  constexpr int A = W::a;
  U s[M][A];  // s[j][a] = (M A)[a][j]
#pragma GCC unroll 8
  for (int a = 0; a < A; ++a) {
    U m[A], r[M];
#pragma GCC unroll 8
    for (int b = 0; b < A; ++b) m[b] = ld(a * A + b);
    W::at(m, r);
#pragma GCC unroll 4
    for (int j = 0; j < M; ++j) s[j][a] = r[j];
  }
#pragma GCC unroll 4
  for (int j = 0; j < M; ++j) {
    U c[M];
    W::at(s[j], c);
#pragma GCC unroll 4
    for (int i = 0; i < M; ++i) y[i][j] = c[i] + bias;
  }
}

template <int R, int M, class Isa, class T, int SD = 1>
SVERTKA_CONV_INLINE void forward_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  constexpr i64 nr = NR<T>, vl = VL<T>;
  constexpr i64 mr = Isa::mr;
  const i64 ni = c.ni;
  const Item& blk = c.items[t % ni];
  const i64 gi = t / ni % s.G;
  const i64 nt = blk.t1 - blk.t0, np = ceil_div(nt, nr), ncp = np * nr, Cg = s.Cg, rows = c.tiles * mr;
  const i64 dh = g.dilation.h, dw = g.dilation.w;
  constexpr int A = Wino<R, M, SD>::a, XI = A * A, E = M * SD;  // E: input columns from tile to tile
  // the block's images [n0, n1)
  const i64 n0 = c.per ? blk.t0 / c.per : t / ni / s.G, n1 = c.per ? (blk.t1 - 1) / c.per + 1 : n0 + 1;
  // split rows: E parts of `len` values, zero past the tile row's last tile + (α − 1) / E (the
  // vectors of the last tiles read up to vl past it); the tile rows of a segment, at most
  const i64 len = round_up(blk.tw + (A - 1) / E + vl, vl);
  const i64 nrows = E * std::min(blk.th, ceil_div(nt, blk.tw) + 1) + A - E;
  // per ξ: B panels, products
  const i64 ps = Cg * nr, vs = spread<T>(Cg * ncp), ms = spread<T>(rows * ncp);
  const i64 ts = ncp + vl;                                  // a row of the transformed values of one channel
  Workspace& ws = workspace();
  T* v = ws.task_b.get<T>(XI * vs);
  // (and vl values past the last plane: the output transform's vectors of a row's last tiles read
  // up to vl − 1 columns past the block, left unused)
  T* m = ws.task_c.get<T>(XI * ms + vl);
  std::fill_n(m + XI * ms, vl, T(0));
  T* split = ws.task_a.get<T>(nrows * E * len + XI * ts + s.Q + E * len * dw + dw);
  T* tmp = split + nrows * E * len;
  T* pad = tmp + XI * ts;
  // input transform: whole vectors of tiles along each tile row into tmp (the lanes past a row's
  // end are overwritten by the next row or lie past the block), then into the panels
  block_panels<XI>(c, blk, gi, n0, n1, tmp, ts, nt, np, v, vs, ps,
                   [&](const Item& seg, const T* xc, const T* next, T* dst) {
                     transform_plane<R, M, T, SD>(s, seg, xc, next, len, split, pad, dst, ts);
                   });
  // the α² products
  block_products<A, distinct_rows<R, M, SD>(), Isa>(c, gi, v, vs, ps, np, m, ms);
  // output transform, image by image of the block, on vectors of VL tiles along each tile row:
  // stored as vectors where all their M·VL columns lie in the output (rows past its last left out),
  // else value by value (dilated rows and each row's last tiles)
  for (i64 k = 0; k < s.Kg; ++k) {
    for (i64 n = n0; n < n1; ++n) {
      i64 off;
      const Item it = image_part(blk, c.per, n, off);
      const i64 th0 = it.t0 / it.tw, th1 = (it.t1 - 1) / it.tw + 1;
      const i64 kk = gi * s.Kg + k;
      const T bias = c.b ? c.b[kk] : T(0);
      const V<T> vbias = V<T>{} + bias;
      T* yk = c.y + (n * g.K + kk) * s.P;
      for (i64 th = th0; th < th1; ++th) {
        const i64 a0 = std::max(it.t0, th * it.tw), a1 = std::min(it.t1, (th + 1) * it.tw);
        const i64 i0 = M * th, nrow = std::min<i64>(M, it.hs - i0);
        T* yr[M];
        for (i64 i = 0; i < M; ++i) yr[i] = yk + (it.ph + (i0 + std::min(i, nrow - 1)) * dh) * g.Wo + it.pw;
        const i64 j0 = a0 - th * it.tw, j1 = a1 - th * it.tw;
        const T* mk = m + k * ncp + off + (a0 - it.t0) - j0;  // tile j of this row at mk[j]
        const i64 jf = std::min(j1, it.ws / M);               // tiles j < jf have all M columns
        i64 j = j0;
        if (dw == 1)
          for (; j + vl <= jf; j += vl) {
            V<T> yv[M][M];
            output_tiles<R, M, SD>([&](int xi) { return load(mk + j + xi * ms); }, vbias, yv);
            for (i64 i = 0; i < nrow; ++i) store_tiles<M>(yr[i] + M * j, yv[i], c.accumulate);
          }
        else  // dilated: the outputs of a vector of tiles lie M·dw apart, stored one by one
          for (; j + vl <= jf; j += vl) {
            V<T> yv[M][M];
            output_tiles<R, M, SD>([&](int xi) { return load(mk + j + xi * ms); }, vbias, yv);
            for (i64 l = 0; l < vl; ++l)
              for (i64 i = 0; i < nrow; ++i)
                for (int q = 0; q < M; ++q) {
                  T* p = yr[i] + (M * (j + l) + q) * dw;
                  *p = c.accumulate ? *p + yv[i][q][l] : yv[i][q][l];
                }
          }
        // the row's last tiles, fewer than VL or with columns past the output: a vector, stored
        // through a copy up to the block's last tile and the output's last column
        for (; j < j1; j += vl) {
          V<T> yv[M][M];
          output_tiles<R, M, SD>([&](int xi) { return load(mk + j + xi * ms); }, vbias, yv);
          const i64 ncol = std::min(M * std::min(vl, j1 - j), it.ws - M * j);
          for (i64 i = 0; i < nrow; ++i) {
            T buf[M * vl];
            store_tiles<M>(buf, yv[i], false);
            T* o = yr[i] + M * j * dw;
            for (i64 q = 0; q < ncol; ++q) o[q * dw] = c.accumulate ? o[q * dw] + buf[q] : buf[q];
          }
        }
      }
    }
  }
}

SVERTKA_WINOGRAD_ENTRIES(forward)
// F(4 × 4, 3 × 3) at stride 2 (Wino<3, 4, 2>)
template <class Isa, class T>
SVERTKA_CONV_INLINE void forward43s2_task(const void* c, i64 t) {
  forward_task<3, 4, Isa, T, 2>(c, t);
}
SVERTKA_CONV_ENTRIES(forward43s2_task)

// y (=|+=) the convolution of x by the r × r filters `w` through F(m × m, r × r) for geometry s;
// `flipped`: w is the original layer's weight and this is its transposed convolution (filter k,
// channel c of this geometry is w[c, k] turned by 180°).
template <int R, int M, class T, int SD = 1>
void run(const Setup& s, const T* x, const T* w, bool flipped, const T* b, T* y, bool accumulate) {
  const auto& g = s.g;
  const Kernel kern = SD == 2 ? pick_forward43s2_task<T>() : pick_forward_task<R, M, T>();
  const T* u = transform_weights<R, M, T, SD>(s, w, flipped, kern.mr);
  // At stride 2 the blocks run over all images (an image's 49 tiles of 28 × 28 outputs fill 4
  // panels of 16 with 15 columns unused; blocks of 64 tiles over the images leave them in the last
  // block only): strided_3x3's forward pass 11.7 -> 10.5 ms at one thread (medians of 8 in
  // alternating runs), 5.85 -> 5.34 at two (of 14); blocks of 96 gained as much at one thread, less
  // at two. Level or mixed on vgg_3x3 and alexnet_c1's phases, whose blocks stay per image.
  const i64 images = SD == 2 ? g.N : 0;
  const i64 block = images ? (isa() == Conv2dIsa::avx512 ? 64 : 48) : tile_block();
  i64 ni;
  const Item* items = block_items<T>(g, M, block, images, ni);
  Ctx<T> c{&s, items, ni, x, u, b, y, ceil_div(s.Kg, kern.mr), balanced(s.Cg, depth_max, 1), accumulate};
  if (images) c.per = ceil_div(g.Ho, M) * ceil_div(g.Wo, M);
  run_tasks((images ? 1 : g.N) * s.G * ni, 2.0 * static_cast<double>(g.N * g.K * s.P * s.CRS), kern.fn, &c);
}

// The tile size m of the forward pass and data gradient by the layer's size: 4 from 16 × 16 outputs
// per phase (5 × 5) or 32 × 32 (3 × 3), else 2.
i64 tile_m(const Conv2dGeometry& g) {
  return large_tiles(g, g.R == 5 ? 16 : 32) ? 4 : 2;
}

// The same with m = tile_m(g).
template <class T>
void run(const Setup& s, const T* x, const T* w, bool flipped, const T* b, T* y, bool accumulate) {
  const auto& g = s.g;
  const i64 m = tile_m(g);
  if (g.R == 5 && m == 4)
    run<5, 4>(s, x, w, flipped, b, y, accumulate);
  else if (g.R == 5)
    run<5, 2>(s, x, w, flipped, b, y, accumulate);
  else if (m == 4)
    run<3, 4>(s, x, w, flipped, b, y, accumulate);
  else
    run<3, 2>(s, x, w, flipped, b, y, accumulate);
}

// A strided layer through its phases. At stride (sh, sw) output (i, j) reads the padded input at
// (i·sh + r, j·sw + q); with r = p + sh·r', q = p' + sw·q' that is pixel (i + r', j + q') of phase
// (p, p') of the padded input (its rows p + sh·i' and columns p' + sw·j'), under tap (r', q') of the
// filter's phase (p, p'), w[k, c, p + sh·r', p' + sw·q'] (zero past R or S). So the layer is a
// stride-1 convolution of ⌈R / sh⌉ × ⌈S / sw⌉ filters over the C·sh·sw phase planes (channel
// (c·sh + p)·sw + p'), without padding, Ho + ⌈R / sh⌉ − 1 rows by Wo + ⌈S / sw⌉ − 1 columns, and it
// runs through F(m × m, 3 × 3) or F(m × m, 5 × 5) like any other: AlexNet's 11 × 11 filters at
// stride 4 are 3 × 3 filters over 48 planes, 36 products per 4 × 4 outputs and plane (16 phases of
// 9 taps, 144 of which 121 are the filter's) against 16·121 direct.
//
// The phase planes are built once, with the padding folded in as everywhere (the layer's index
// maps): extra memory N·C·sh·sw·Hs·Ws values for them and K·Cg·sh·sw·R'·S' for the filters' phases
// (calling thread), one padded row per task thread; one task per image and channel.
template <class T>
struct PhaseCtx {
  const Setup* s;
  const T* x;
  T* xs;
  i64 Hs, Ws;  // a phase plane
};

template <class Isa, class T>
SVERTKA_CONV_INLINE void phase_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const PhaseCtx<T>*>(vctx);
  const Setup& s = *c.s;
  const auto& g = s.g;
  const i64 sh = g.stride.h, sw = g.stride.w, Hs = c.Hs, Ws = c.Ws;
  const i64 qh_end = (g.Ho - 1) * sh + g.R;  // padded rows past it only meet taps past R
  const i64 n = std::max(s.Q, sw * Ws);      // padded columns read, zero from Q on
  T* pad = workspace().task_a.get<T>(n);
  const T* plane = c.x + t * s.HW;
  T* out = c.xs + t * sh * sw * Hs * Ws;  // its phase (p, p') at out + (p·sw + p')·Hs·Ws
  for (i64 i = 0; i < Hs; ++i)
    for (i64 p = 0; p < sh; ++p) {
      const i64 qh = i * sh + p, ih = qh < qh_end ? pad_source(qh - g.padding.top, g.H, g.mode) : -1;
      T* row = out + p * sw * Hs * Ws + i * Ws;
      if (ih < 0) {
        for (i64 q = 0; q < sw; ++q) std::fill_n(row + q * Hs * Ws, Ws, T(0));
        continue;
      }
      // (split straight into the phase planes, phase p' at row + p'·Hs·Ws; from the input row itself
      // when the padded row is its first Q columns)
      const T* src = plane + ih * g.W;
      i64 m = s.Q;
      if (g.padding.left != 0 || s.Q > g.W || (sw != 2 && sw != 4)) {
        pad_row(s, src, pad);
        std::fill(pad + s.Q, pad + n, T(0));
        src = pad, m = n;
      }
      if (sw == 2)
        split<2>(src, m, 0, 1, Ws, row, 0, Hs * Ws);
      else if (sw == 4)
        split<4>(src, m, 0, 1, Ws, row, 0, Hs * Ws);
      else
        for (i64 q = 0; q < sw; ++q)
          for (i64 j = 0; j < Ws; ++j) row[q * Hs * Ws + j] = pad[j * sw + q];
    }
}

SVERTKA_CONV_ENTRIES(phase_task)

template <class T>
void forward_phases(const Setup& s, const T* x, const T* w, const T* b, T* y) {
  const auto& g = s.g;
  const i64 sh = g.stride.h, sw = g.stride.w, Rs = ceil_div(g.R, sh), Ss = ceil_div(g.S, sw);
  Conv2dGeometry t = g;
  t.C = g.C * sh * sw, t.H = g.Ho + Rs - 1, t.W = g.Wo + Ss - 1, t.R = Rs, t.S = Ss;
  t.stride = {1, 1}, t.padding = {0, 0, 0, 0}, t.mode = PadMode::zeros;
  const i64 planes = t.H * t.W, Cg = s.Cg, Cs = Cg * sh * sw;
  // (call_part: the backward passes' scratch, unused by any forward pass)
  T* xs = workspace().call_part.get<T>(g.N * t.C * planes + g.K * Cs * Rs * Ss);
  T* ws = xs + g.N * t.C * planes;
  const PhaseCtx<T> pc{&s, x, xs, t.H, t.W};
  run_tasks(g.N * g.C, 4.0 * static_cast<double>(g.N * t.C * planes), pick_phase_task<T>().fn, &pc);
  // ws[k][(c·sh + p)·sw + p'][r'][q'] = w[k][c][p + sh·r'][p' + sw·q']
  for (i64 k = 0; k < g.K; ++k)
    for (i64 ci = 0; ci < Cg; ++ci)
      for (i64 p = 0; p < sh; ++p)
        for (i64 pp = 0; pp < sw; ++pp) {
          T* f = ws + ((k * Cs) + (ci * sh + p) * sw + pp) * Rs * Ss;
          for (i64 r = 0; r < Rs; ++r)
            for (i64 q = 0; q < Ss; ++q) {
              const i64 rr = p + sh * r, qq = pp + sw * q;
              f[r * Ss + q] = rr < g.R && qq < g.S ? w[((k * Cg + ci) * g.R + rr) * g.S + qq] : T(0);
            }
        }
  run(make_setup(t), xs, ws, false, b, y, false);
}

}  // namespace

bool splits_phases(const Conv2dGeometry& g) {
  if ((g.stride.h == 1 && g.stride.w == 1) || g.dilation.h != 1 || g.dilation.w != 1) return false;
  const i64 r = ceil_div(g.R, g.stride.h), q = ceil_div(g.S, g.stride.w);
  return r == q && (r == 3 || r == 5);
}

bool halves(const Conv2dGeometry& g) {
  return g.stride.h == 2 && g.stride.w == 2 && g.R == 3 && g.S == 3 && g.dilation.h == 1 && g.dilation.w == 1;
}

bool halves_data(const Conv2dGeometry& g) {
  const Padding2d& p = g.padding;
  return halves(g) && g.mode == PadMode::zeros && p.top <= 2 && p.left <= 2 && p.top % 2 == p.left % 2;
}

bool applies(const Conv2dGeometry& g) {
  return g.stride.h == 1 && g.stride.w == 1 && g.R == g.S && (g.R == 3 || g.R == 5);
}

bool large_tiles(const Conv2dGeometry& g, i64 side) {
  return g.Ho / g.dilation.h >= side && g.Wo / g.dilation.w >= side;
}

bool transposes(const Conv2dGeometry& g) {
  const Padding2d& p = g.padding;
  const i64 mh = (g.R - 1) * g.dilation.h, mw = (g.S - 1) * g.dilation.w;
  return p.top <= mh && p.bottom <= mh && p.left <= mw && p.right <= mw;
}

void check_applies(const Conv2dGeometry& g) {
  if (!applies(g))
    throw OptionError(fmt::format("conv2d: the Winograd algorithm needs a 3 × 3 or 5 × 5 filter at stride 1, not {} "
                                  "× {} at stride ({}, {})", g.R, g.S, g.stride.h, g.stride.w));
}

template <class T>
void forward(const Setup& s, const T* x, const T* w, const T* b, T* y) {
  const auto& g = s.g;
  if (splits_phases(g)) return forward_phases(s, x, w, b, y);
  if (halves(g)) return run<3, 4, T, 2>(s, x, w, false, b, y, false);
  if (!applies(g))
    throw OptionError(fmt::format("conv2d: the Winograd algorithm needs a 3 × 3 or 5 × 5 filter at stride 1 (or, "
                                  "forward, a 3 × 3 filter at stride 2 or a filter of 3 × 3 or 5 × 5 taps per phase of the "
                                  "stride, ⌈R / stride⌉, without dilation), not {} × {} at stride ({}, {}), dilation ({}, {})",
                                  g.R, g.S, g.stride.h, g.stride.w, g.dilation.h, g.dilation.w));
  run(s, x, w, false, b, y, false);
}

// The gradient of the padded input of a stride-1 convolution is the convolution of gY, zero-padded
// by m = (r − 1)·dilation on each side, by the layer's filters turned by 180° with filters and
// channels swapped. With padding of at most m it is computed on the input's pixels only (gY padded
// by m − the layer's padding, as for zero padding) and added to dx, and in other modes the padded
// frame's pixels are added to their sources by add_frame. With wider padding it is computed on the
// whole padded input, into a scratch of N·C·(H + top + bottom)·(W + left + right) values (calling
// thread), whose pixels are then added to their sources as the padding kernel's backward pass does.
template <class T>
void backward_data(const Conv2dGeometry& g, const T* w, const T* gy, T* gx) {
  if (halves_data(g)) return backward_data_halves(g, w, gy, gx);
  check_applies(g);
  Conv2dGeometry t = g;
  t.C = g.K, t.H = g.Ho, t.W = g.Wo, t.K = g.C;
  const i64 mh = (g.R - 1) * g.dilation.h, mw = (g.S - 1) * g.dilation.w;
  const Padding2d& p = g.padding;
  if (transposes(g)) {
    t.Ho = g.H, t.Wo = g.W;
    t.padding = {mh - p.top, mh - p.bottom, mw - p.left, mw - p.right}, t.mode = PadMode::zeros;
    run(make_setup(t), gy, w, true, static_cast<const T*>(nullptr), gx, true);
    if (g.mode != PadMode::zeros) add_frame(g, w, gy, gx);
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