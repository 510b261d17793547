// The filter-lanes path of the convolution (forward and filter gradient): a vector register holds L filters of one
// output pixel (L = 16 floats or 8 doubles: one AVX-512 register or two AVX2 ones), and each input value is broadcast once per
// tap and multiplied into the J pixels of a run of output columns:
//
//   acc[j][l] += w[k0 + l, c, r, s] · x[n, c, rowmap(oh, r), colmap(ow0 + j, s)]   for every (c, r, s)
//
// Nothing is packed but the weights (once per call, [group][filter block][c, r, s][L], zero past the
// group's last filter), so a layer with few filters and a shallow depth (LeNet's second layer: 16
// filters over 6 × 5 × 5) spends its time in multiply-adds instead of in building im2col panels, the
// cost that limits the GEMM path there. Padding in every mode goes through the call's row and column
// maps: a zero-padded row is skipped, a run of columns that reads inside the image addresses x
// directly, any other run reads each column through the map (zero for −1). At stride and dilation 1
// with 3 or 5 taps a row (AVX-512), each input value of the row is broadcast once into a register
// and used by every (column, tap) pair that reads it instead of once per tap.
//
// The filter gradient is the same product turned around: a vector of L filters' ∂L/∂y at one pixel
// (gY transposed once per call to [group][filter block][image][pixel][L]) times the broadcast input
// value under each tap, summed over every pixel of every image into one accumulator per tap:
//
//   acc[s][l] += gY[n, k0 + l, oh, ow] · x[n, c, rowmap(oh, r), colmap(ow, s)]
//
// (at stride and dilation 1 on AVX-512, over blocks of 8 columns whose gY vectors stay in registers
// while each input value under the block is broadcast once).
//
// Tasks: forward, one per (image, group, filter block; on AVX-512 per three filter blocks, run in
// one pass over the taps), each writing its own output planes; filter
// gradient, one per (group, filter block, channel, tap row r), each owning those weights' gradients.
// Every output element is one fixed sequence of operations, whatever the thread count. Extra
// memory, in the calling thread's workspace: the packed weights (C/groups·R·S·L values per filter
// block) for the forward pass, the transposed gY (N·Ho·Wo·L values per filter block and group) for
// the filter gradient.

#include <algorithm>
#include <type_traits>

#include "conv2d_impl.hpp"

#ifdef SVERTKA_CONV_X86
#include <immintrin.h>
#endif

// run() and task() are templates over the lanes type and always inlined into their entries
// (task_generic, task_avx2 and task_avx512 with their targets): no AVX or AVX-512 vector crosses a call, so GCC's
// note that such a call would change the ABI does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace svertka::kernels::conv::lanes {
namespace {

#define SVERTKA_INLINE_LANES __attribute__((always_inline)) inline

constexpr i64 max_run = 12;  // output columns (forward) or taps (filter gradient) per register block
// The filter gradient's transposed gY is at most this many values; larger calls take the GEMM path.
constexpr i64 max_transposed = i64{1} << 22;

template <class T>
constexpr i64 lanes_of = 64 / static_cast<i64>(sizeof(T));

// A lanes type gives L (64 bytes of T), the vector type V and its operations, and two register block
// sizes: `run`, the output columns of a forward block (run accumulators), and `taps`, the taps of a
// filter-gradient block, both at most max_run. `regs` is the registers of one V, `acc_regs` how many
// may hold sums: a filter-gradient block of SB taps keeps two sets of SB sums when they fit, else one.

// Portable lanes: an array, every operation a loop over it.
template <class T>
struct GenericLanes {
  static constexpr i64 L = lanes_of<T>;
  static constexpr i64 run = max_run, taps = max_run, regs = 1, acc_regs = 2 * max_run;
  static constexpr i64 kb = 1, run_kb = run;
  struct V {
    T v[L];
  };
  static V zero() { return V{}; }
  static V load(const T* p) {
    V r;
    for (i64 l = 0; l < L; ++l) r.v[l] = p[l];
    return r;
  }
  static void store(T* p, const V& a) {
    for (i64 l = 0; l < L; ++l) p[l] = a.v[l];
  }
  static void fma_into(V& acc, const V& w, T x) {
    for (i64 l = 0; l < L; ++l) acc.v[l] += w.v[l] * x;
  }
  static V add(const V& a, const V& b) {
    V r;
    for (i64 l = 0; l < L; ++l) r.v[l] = a.v[l] + b.v[l];
    return r;
  }
};

#ifdef SVERTKA_CONV_X86
#define SVERTKA_LANES_AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma"))) inline
template <class T>
struct Avx512Lanes;
template <>
struct Avx512Lanes<float> {
  static constexpr i64 L = 16;
  static constexpr i64 run = max_run, taps = max_run, regs = 1, acc_regs = 2 * max_run;
  static constexpr i64 kb = 3, run_kb = 8;  // several filter blocks: 3 × 8 columns, 24 accumulators
  using V = __m512;
  SVERTKA_LANES_AVX512 static V zero() { return _mm512_setzero_ps(); }
  SVERTKA_LANES_AVX512 static V load(const float* p) { return _mm512_load_ps(p); }
  SVERTKA_LANES_AVX512 static void store(float* p, V a) { _mm512_store_ps(p, a); }
  SVERTKA_LANES_AVX512 static void fma_into(V& acc, V w, float x) { acc = _mm512_fmadd_ps(w, _mm512_set1_ps(x), acc); }
  SVERTKA_LANES_AVX512 static V bcast(float x) { return _mm512_set1_ps(x); }
  SVERTKA_LANES_AVX512 static void fma_into(V& acc, V w, V x) { acc = _mm512_fmadd_ps(w, x, acc); }
  SVERTKA_LANES_AVX512 static V add(V a, V b) { return _mm512_add_ps(a, b); }
  // y[l·ldy + j] = acc[j][l] + bias[l] (bias null: 0) for j < J ≤ 16, l < kn: the run's J sums
  // (a vector of filters per column) turned into a vector of columns per filter in registers (16 × 16
  // transpose: unpack pairs, then 64-bit pairs, then two rounds of 128-bit lanes), each filter's row
  // segment one masked store. Reading the sums back from memory with a gather per filter instead
  // was about a sixth of LeNet's second layer on a Zen 5 (stores waiting on the gathers).
// GCC 12 takes the pass-through operand these shuffle intrinsics fill with _mm512_undefined_ps() for
// a read of an uninitialised variable (-Wmaybe-uninitialized, once inlined); nothing here reads it
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  template <int J>
  SVERTKA_LANES_AVX512 static void store_rows(const V* acc, i64 kn, const float* bias, float* y, i64 ldy) {
    static_assert(J >= 1 && J <= 16);
    const __mmask16 kmask = static_cast<__mmask16>((1u << kn) - 1);
    const V b = bias ? _mm512_maskz_loadu_ps(kmask, bias) : _mm512_setzero_ps();
    V r[16];
    for (int j = 0; j < 16; ++j) r[j] = j < J ? _mm512_add_ps(acc[j], b) : _mm512_setzero_ps();
    V t[16];
    for (int i = 0; i < 8; ++i) {  // t[2i], t[2i + 1]: columns 2i, 2i + 1 interleaved
      t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {  // r[4i + m], 128-bit lane q: columns 4i..4i + 3 of filter 4q + m
      const __m512d a0 = _mm512_castps_pd(t[4 * i]), a1 = _mm512_castps_pd(t[4 * i + 1]),
                    a2 = _mm512_castps_pd(t[4 * i + 2]), a3 = _mm512_castps_pd(t[4 * i + 3]);
      r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
      r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
      r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
      r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    const __mmask16 jmask = static_cast<__mmask16>((1u << J) - 1);
    for (int m = 0; m < 4; ++m) {  // filters 4q + m: lanes q of r[m], r[4 + m], r[8 + m], r[12 + m]
      const V v0 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x44), v1 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xEE);
      const V v2 = J > 8 ? _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x44) : v0;
      const V v3 = J > 8 ? _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xEE) : v1;
      const V out[4] = {_mm512_shuffle_f32x4(v0, v2, 0x88), _mm512_shuffle_f32x4(v0, v2, 0xDD),
                        _mm512_shuffle_f32x4(v1, v3, 0x88), _mm512_shuffle_f32x4(v1, v3, 0xDD)};
      for (int q = 0; q < 4; ++q)
        if (4 * q + m < kn) _mm512_mask_storeu_ps(y + (4 * q + m) * ldy, jmask, out[q]);
    }
  }
#pragma GCC diagnostic pop
};
template <>
struct Avx512Lanes<double> {
  static constexpr i64 L = 8;
  static constexpr i64 run = max_run, taps = max_run, regs = 1, acc_regs = 2 * max_run;
  static constexpr i64 kb = 3, run_kb = 8;
  using V = __m512d;
  SVERTKA_LANES_AVX512 static V zero() { return _mm512_setzero_pd(); }
  SVERTKA_LANES_AVX512 static V load(const double* p) { return _mm512_load_pd(p); }
  SVERTKA_LANES_AVX512 static void store(double* p, V a) { _mm512_store_pd(p, a); }
  SVERTKA_LANES_AVX512 static void fma_into(V& acc, V w, double x) { acc = _mm512_fmadd_pd(w, _mm512_set1_pd(x), acc); }
  SVERTKA_LANES_AVX512 static V bcast(double x) { return _mm512_set1_pd(x); }
  SVERTKA_LANES_AVX512 static void fma_into(V& acc, V w, V x) { acc = _mm512_fmadd_pd(w, x, acc); }
  SVERTKA_LANES_AVX512 static V add(V a, V b) { return _mm512_add_pd(a, b); }
};

// AVX2: the 64 bytes of lanes are two 256-bit registers, so a block holds half as many of them in the
// 16 registers: 6 columns (12 accumulators, two weight halves, one broadcast) and 5 taps (one set of
// sums, 10 registers; a 5-wide kernel row in one pass over gY), or up to 3 taps in two sets.
#define SVERTKA_LANES_AVX2 __attribute__((target("avx2,fma"))) inline
template <class T>
struct Avx2Lanes;
template <>
struct Avx2Lanes<float> {
  static constexpr i64 L = 16;
  static constexpr i64 run = 6, taps = 5, regs = 2, acc_regs = 12;
  static constexpr i64 kb = 1, run_kb = run;
  struct V {
    __m256 lo, hi;
  };
  SVERTKA_LANES_AVX2 static V zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  SVERTKA_LANES_AVX2 static V load(const float* p) { return {_mm256_load_ps(p), _mm256_load_ps(p + 8)}; }
  SVERTKA_LANES_AVX2 static void store(float* p, const V& a) {
    _mm256_store_ps(p, a.lo);
    _mm256_store_ps(p + 8, a.hi);
  }
  SVERTKA_LANES_AVX2 static void fma_into(V& acc, const V& w, float x) {
    const __m256 b = _mm256_set1_ps(x);
    acc.lo = _mm256_fmadd_ps(w.lo, b, acc.lo);
    acc.hi = _mm256_fmadd_ps(w.hi, b, acc.hi);
  }
  SVERTKA_LANES_AVX2 static V add(const V& a, const V& b) {
    return {_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)};
  }
};
template <>
struct Avx2Lanes<double> {
  static constexpr i64 L = 8;
  static constexpr i64 run = 6, taps = 5, regs = 2, acc_regs = 12;
  static constexpr i64 kb = 1, run_kb = run;
  struct V {
    __m256d lo, hi;
  };
  SVERTKA_LANES_AVX2 static V zero() { return {_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  SVERTKA_LANES_AVX2 static V load(const double* p) { return {_mm256_load_pd(p), _mm256_load_pd(p + 4)}; }
  SVERTKA_LANES_AVX2 static void store(double* p, const V& a) {
    _mm256_store_pd(p, a.lo);
    _mm256_store_pd(p + 4, a.hi);
  }
  SVERTKA_LANES_AVX2 static void fma_into(V& acc, const V& w, double x) {
    const __m256d b = _mm256_set1_pd(x);
    acc.lo = _mm256_fmadd_pd(w.lo, b, acc.lo);
    acc.hi = _mm256_fmadd_pd(w.hi, b, acc.hi);
  }
  SVERTKA_LANES_AVX2 static V add(const V& a, const V& b) {
    return {_mm256_add_pd(a.lo, b.lo), _mm256_add_pd(a.hi, b.hi)};
  }
};
#endif

template <class T>
struct Ctx {
  const Setup* s;
  const T *x, *wl, *b;  // wl: packed weights, [G][kblocks][Cg·R·S][L]
  T* y;
  i64 kblocks, kgroups;  // kgroups: tasks per (image, group), each of up to V::kb filter blocks
};

// Output row oh, columns [ow0, ow0 + J), filters [k0, k0 + L) of group gi of image n. Direct: every
// (column, tap) of the run reads column ow·sw + s·dw − left of the image (no padding involved);
// Unit: and sw = 1, so the J columns are fixed offsets from one pointer (no pointer per column to
// set up for each input row: that setup was a fifth of LeNet's second layer at 5 taps a row).
// Where a run's sums go: y at filter block b0's first filter of the run's row and first column, the
// bias of that filter (null: none), and how many of the group's filters are left from there.
template <class T>
struct Sink {
  T* y;
  const T* bias;
  i64 kleft;
};

// SC > 0 (Unit, dilation 1, S = SC, where V has bcast): each input value of a row is broadcast once
// into a register for every column and tap it meets (column j, tap s read value j + s) instead of
// once per tap from memory: LeNet's second layer read 11 values from memory per 10 multiply-adds.
template <class V, int KB, int J, int SC>
inline constexpr bool reuses_row = SC > 0 && requires { V::bcast; } && KB * (J + SC) + 2 <= 32;

template <class V, int KB, int J, bool Direct, bool Unit, class T, int SC = 0>
SVERTKA_INLINE_LANES void run(const Ctx<T>& c, const T* xg, const T* wk, i64 oh, i64 ow0, T* out, const Sink<T>& sink) {
  const Setup& s = *c.s;
  const Conv2dGeometry& g = s.g;
  constexpr i64 L = V::L;
  const i64 bstride = s.CRS * L;  // one filter block's weights to the next
  typename V::V acc[KB][J];
  for (int b = 0; b < KB; ++b)
    for (int j = 0; j < J; ++j) acc[b][j] = V::zero();
  const i64 sw = g.stride.w, dw = g.dilation.w, left = g.padding.left;
  for (i64 ci = 0; ci < s.Cg; ++ci) {
    const T* xc = xg + ci * s.HW;
    for (i64 r = 0; r < g.R; ++r) {
      const i32 hr = s.rowmap[oh * g.R + r];
      if (hr < 0) continue;  // a zero-padded row adds nothing
      const T* xr = xc + hr * g.W;
      const T* wr = wk + (ci * g.R + r) * g.S * L;
      if constexpr (reuses_row<V, KB, J, SC>) {
        typename V::V wv[KB][SC];
        for (int b = 0; b < KB; ++b)
          for (int sx = 0; sx < SC; ++sx) wv[b][sx] = V::load(wr + b * bstride + sx * L);
        const T* xs = xr + ow0 - left;
#pragma GCC unroll 32
        for (int t = 0; t < J + SC - 1; ++t) {
          const typename V::V xv = V::bcast(xs[t]);
#pragma GCC unroll 8
          for (int sx = 0; sx < SC; ++sx)
            if (t - sx >= 0 && t - sx < J)
              for (int b = 0; b < KB; ++b) V::fma_into(acc[b][t - sx], wv[b][sx], xv);
        }
        continue;
      }
      for (i64 sx = 0; sx < g.S; ++sx) {
        typename V::V wv[KB];
        for (int b = 0; b < KB; ++b) wv[b] = V::load(wr + b * bstride + sx * L);
        if constexpr (Unit) {
          const T* xs = xr + ow0 + sx * dw - left;
          for (int j = 0; j < J; ++j)
            for (int b = 0; b < KB; ++b) V::fma_into(acc[b][j], wv[b], xs[j]);
        } else if constexpr (Direct) {
          const T* xs = xr + ow0 * sw + sx * dw - left;
          for (int j = 0; j < J; ++j)
            for (int b = 0; b < KB; ++b) V::fma_into(acc[b][j], wv[b], xs[j * sw]);
        } else {
          const i32* cm = s.colmap + ow0 * g.S + sx;
          for (int j = 0; j < J; ++j) {
            const i32 col = cm[j * g.S];
            const T x = col >= 0 ? xr[col] : T(0);
            for (int b = 0; b < KB; ++b) V::fma_into(acc[b][j], wv[b], x);
          }
        }
      }
    }
  }
  if constexpr (requires { V::template store_rows<J>; }) {
    for (int b = 0; b < KB; ++b)
      V::template store_rows<J>(acc[b], std::min(L, sink.kleft - b * L), sink.bias ? sink.bias + b * L : nullptr,
                                sink.y + b * L * s.P, s.P);
  } else {
    for (int b = 0; b < KB; ++b)
      for (int j = 0; j < J; ++j) V::store(out + (b * J + j) * L, acc[b][j]);
  }
}

// run<V, KB, n> for a block of n <= J columns, n a compile-time constant (no lambda between the entry
// and the lanes operations, so that they are all inlined into the entry's instruction set); the sums
// of filter block b at out + b·n·L
template <class V, int KB, int J, class T>
SVERTKA_INLINE_LANES void run_upto(i64 n, const Ctx<T>& c, const T* xg, const T* wk, i64 oh, i64 ow0, bool direct,
                                   T* out, const Sink<T>& sink) {
  if constexpr (J > 1)
    if (n < J) return run_upto<V, KB, J - 1>(n, c, xg, wk, oh, ow0, direct, out, sink);
  const Conv2dGeometry& g = c.s->g;
  if constexpr (reuses_row<V, KB, J, 5>)
    if (direct && g.stride.w == 1 && g.dilation.w == 1 && g.S == 5)
      return run<V, KB, J, true, true, T, 5>(c, xg, wk, oh, ow0, out, sink);
  if constexpr (reuses_row<V, KB, J, 3>)
    if (direct && g.stride.w == 1 && g.dilation.w == 1 && g.S == 3)
      return run<V, KB, J, true, true, T, 3>(c, xg, wk, oh, ow0, out, sink);
  if (direct && g.stride.w == 1)
    run<V, KB, J, true, true>(c, xg, wk, oh, ow0, out, sink);
  else if (direct)
    run<V, KB, J, true, false>(c, xg, wk, oh, ow0, out, sink);
  else
    run<V, KB, J, false, false>(c, xg, wk, oh, ow0, out, sink);
}

// Whether columns [ow0, ow0 + n) read the image directly for every column tap.
inline bool direct_columns(const Setup& s, i64 ow0, i64 n) {
  const Conv2dGeometry& g = s.g;
  for (i64 ow = ow0; ow < ow0 + n; ++ow)
    for (i64 sx = 0; sx < g.S; ++sx) {
      const i64 col = ow * g.stride.w + sx * g.dilation.w - g.padding.left;
      if (col < 0 || col >= g.W || s.colmap[ow * g.S + sx] != col) return false;
    }
  return true;
}

// Output rows of image n, group gi, for KB filter blocks from b0 in runs of R columns.
template <class V, int KB, i64 R, class T>
SVERTKA_INLINE_LANES void rows(const Ctx<T>& c, i64 n, i64 gi, i64 b0) {
  const Setup& s = *c.s;
  const Conv2dGeometry& g = s.g;
  constexpr i64 L = V::L;
  const T* xg = c.x + (n * g.C + gi * s.Cg) * s.HW;
  const T* wk = c.wl + (gi * c.kblocks + b0) * s.CRS * L;
  alignas(64) T out[KB * R * L];
  // per run of columns (the same for every output row): does it read the image directly?
  char* direct_run = workspace().task_lanes.get<char>(ceil_div(g.Wo, R));
  for (i64 ow0 = 0; ow0 < g.Wo; ow0 += R) direct_run[ow0 / R] = direct_columns(s, ow0, std::min(R, g.Wo - ow0));
  for (i64 oh = 0; oh < g.Ho; ++oh)
    for (i64 ow0 = 0; ow0 < g.Wo; ow0 += R) {
      const i64 jn = std::min(R, g.Wo - ow0);
      const bool direct = direct_run[ow0 / R] != 0;
      const i64 kfirst = b0 * L;
      const Sink<T> sink{c.y + ((n * g.K + gi * s.Kg + kfirst) * g.Ho + oh) * g.Wo + ow0,
                         c.b ? c.b + gi * s.Kg + kfirst : nullptr, s.Kg - kfirst};
      run_upto<V, KB, static_cast<int>(R)>(jn, c, xg, wk, oh, ow0, direct, out, sink);
      if constexpr (requires { V::template store_rows<1>; }) continue;  // run() wrote y
      // block b's out[j][l] (at out + b·jn·L) → y[n, gi·Kg + k0 + l, oh, ow0 + j], with the bias
      for (i64 b = 0; b < KB; ++b) {
        const i64 k0 = (b0 + b) * L, kn = std::min(L, s.Kg - k0);
        const T* ob = out + b * jn * L;
        for (i64 l = 0; l < kn; ++l) {
          const i64 k = gi * s.Kg + k0 + l;
          const T bias = c.b ? c.b[k] : T(0);
          T* yrow = c.y + ((n * g.K + k) * g.Ho + oh) * g.Wo + ow0;
          for (i64 j = 0; j < jn; ++j) yrow[j] = ob[j * L + l] + bias;
        }
      }
    }
}

// Task (image, group, group of V::kb filter blocks): a whole group of blocks in one pass over the
// taps (each input value broadcast once for all of them), a shorter last group block by block.
template <class V, class T>
SVERTKA_INLINE_LANES void task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx<T>*>(vctx);
  const i64 G = c.s->G, kg = t % c.kgroups, gi = (t / c.kgroups) % G, n = t / (c.kgroups * G);
  const i64 b0 = kg * V::kb, nb = std::min(V::kb, c.kblocks - b0);
  if constexpr (V::kb > 1)
    if (nb == V::kb) return rows<V, static_cast<int>(V::kb), V::run_kb>(c, n, gi, b0);
  for (i64 b = b0; b < b0 + nb; ++b) rows<V, 1, V::run>(c, n, gi, b);
}

template <class T>
SVERTKA_CONV_FLATTEN void task_generic(const void* c, i64 t) {
  task<GenericLanes<T>, T>(c, t);
}
#ifdef SVERTKA_CONV_X86
template <class T>
SVERTKA_CONV_AVX2_FN void task_avx2(const void* c, i64 t) {
  task<Avx2Lanes<T>, T>(c, t);
}
template <class T>
SVERTKA_CONV_AVX512_FN void task_avx512(const void* c, i64 t) {
  task<Avx512Lanes<T>, T>(c, t);
}
#endif

// ---- filter gradient ------------------------------------------------------------------------------

template <class T>
struct FilterCtx {
  const Setup* s;
  const T *x, *gyt;  // gyt: [G][kblocks][N][P][L]
  T* gw;
  i64 kblocks;
};

// acc[j] += gY's L filters at output column ow (of the row at grow) · the input under tap s0 + j of
// that column in input row xr, read through the column map (a tap in the padding of any mode)
template <class V, int SB, class T>
SVERTKA_INLINE_LANES void filter_mapped(const Setup& s, const T* xr, const T* grow, i64 ow, i64 s0,
                                        typename V::V (&acc)[SB]) {
  const auto gv = V::load(grow + ow * V::L);
  const i32* cm = s.colmap + ow * s.g.S + s0;
  for (int j = 0; j < SB; ++j) V::fma_into(acc[j], gv, cm[j] >= 0 ? xr[cm[j]] : T(0));
}

// Columns [0, Q) of a direct run at stride and dilation 1 for filter_taps: xs at column 0's tap s0,
// gq at its gY; the sums of column q go to set q mod NS.
template <class V, int SB, int Q, int NS, class T>
SVERTKA_INLINE_LANES void unit_block(const T* xs, const T* gq, typename V::V (&acc)[NS][SB]) {
  typename V::V gv[Q];
  for (int q = 0; q < Q; ++q) gv[q] = V::load(gq + q * V::L);
#pragma GCC unroll 32
  for (int t = 0; t < Q + SB - 1; ++t) {
    const typename V::V xv = V::bcast(xs[t]);
#pragma GCC unroll 16
    for (int j = 0; j < SB; ++j)
      if (t - j >= 0 && t - j < Q) V::fma_into(acc[(t - j) % NS][j], gv[t - j], xv);
  }
}

// Taps (r, s0 .. s0 + SB) of channel ci, filters [k0, k0 + L) of group gi, summed over every pixel;
// the sums are added into gw. Columns [dlo, dhi) read the image directly for every tap (walked with
// two pointers); the others read through the column map. With room in the registers, even and odd
// columns of the direct run go to two sets of sums (twice the multiply-adds in flight), added at the
// end. At stride and dilation 1 where V has bcast (AVX-512) the direct run goes in blocks of Q
// columns (then 4, 2, 1), whose Q vectors of gY stay in registers while each input value under the
// block is broadcast once and multiplied into the sums of every (column, tap) pair that reads it
// (column q, tap j read value q + j): Q + Q + SB − 1 reads per Q·SB multiply-adds instead of
// Q·(SB + 1), the read bound of LeNet's second layer; its sums in up to 4 sets, so that none waits
// on more than two multiply-adds per block.
template <class V, int SB, class T>
SVERTKA_INLINE_LANES void filter_taps(const FilterCtx<T>& c, i64 gi, i64 kb, i64 ci, i64 r, i64 s0, i64 dlo,
                                      i64 dhi) {
  const Setup& s = *c.s;
  const Conv2dGeometry& g = s.g;
  constexpr i64 L = V::L;
  constexpr bool reuse = requires { V::bcast; };
  constexpr int pairs = 2 * SB * V::regs <= V::acc_regs ? 2 : 1;
  constexpr int sets = reuse ? std::max(pairs, std::clamp(20 / SB, 1, 4)) : pairs;
  constexpr int Q = std::clamp(31 - SB * sets, 1, 8);  // the block's gY vectors beside the sums
  typename V::V acc[sets][SB];
  for (int h = 0; h < sets; ++h)
    for (int j = 0; j < SB; ++j) acc[h][j] = V::zero();
  const i64 sw = g.stride.w, dw = g.dilation.w, Wo = g.Wo;
  const bool unit = reuse && sw == 1 && dw == 1;
  const i64 x0 = dlo * sw + s0 * dw - g.padding.left;  // input column of the first direct column's tap s0
  for (i64 n = 0; n < g.N; ++n) {
    const T* xc = c.x + (n * g.C + gi * s.Cg + ci) * s.HW;
    const T* gp = c.gyt + ((gi * c.kblocks + kb) * g.N + n) * s.P * L;
    for (i64 oh = 0; oh < g.Ho; ++oh) {
      const i32 hr = s.rowmap[oh * g.R + r];
      if (hr < 0) continue;  // a zero-padded row adds nothing
      const T* xr = xc + hr * g.W;
      const T* grow = gp + oh * Wo * L;
      for (i64 ow = 0; ow < dlo; ++ow) filter_mapped<V, SB>(s, xr, grow, ow, s0, acc[0]);
      const T* xs = xr + x0;
      const T* gq = grow + dlo * L;
      i64 left = dhi - dlo;
      if constexpr (reuse)
        if (unit) {
          for (; left >= Q; left -= Q, xs += Q, gq += Q * L) unit_block<V, SB, Q, sets>(xs, gq, acc);
          if (left >= 4) unit_block<V, SB, 4, sets>(xs, gq, acc), left -= 4, xs += 4, gq += 4 * L;
          if (left >= 2) unit_block<V, SB, 2, sets>(xs, gq, acc), left -= 2, xs += 2, gq += 2 * L;
          if (left >= 1) unit_block<V, SB, 1, sets>(xs, gq, acc), left = 0;
        }
      if constexpr (pairs == 2)
        for (; left >= 2; left -= 2, xs += 2 * sw, gq += 2 * L) {
          const auto g0 = V::load(gq), g1 = V::load(gq + L);
          for (int j = 0; j < SB; ++j) V::fma_into(acc[0][j], g0, xs[j * dw]);
          for (int j = 0; j < SB; ++j) V::fma_into(acc[1][j], g1, xs[sw + j * dw]);
        }
      for (; left > 0; --left, xs += sw, gq += L) {
        const auto g0 = V::load(gq);
        for (int j = 0; j < SB; ++j) V::fma_into(acc[0][j], g0, xs[j * dw]);
      }
      for (i64 ow = dhi; ow < Wo; ++ow) filter_mapped<V, SB>(s, xr, grow, ow, s0, acc[0]);
    }
  }
  alignas(64) T out[max_run * L];
  for (int j = 0; j < SB; ++j) {
    typename V::V sum = acc[0][j];
    for (int h = 1; h < sets; ++h) sum = V::add(sum, acc[h][j]);
    V::store(out + j * L, sum);
  }
  const i64 kn = std::min(L, s.Kg - kb * L);
  for (i64 l = 0; l < kn; ++l) {
    T* w = c.gw + ((gi * s.Kg + kb * L + l) * s.Cg + ci) * s.RS + r * g.S + s0;
    for (int j = 0; j < SB; ++j) w[j] += out[j * L + l];
  }
}

// filter_taps<V, n> for a block of n <= J taps, n a compile-time constant (no lambda between the
// entry and the lanes operations, so that they are all inlined into the entry's instruction set)
template <class V, int J, class T>
SVERTKA_INLINE_LANES void filter_taps_upto(i64 n, const FilterCtx<T>& c, i64 gi, i64 kb, i64 ci, i64 r, i64 s0,
                                           i64 dlo, i64 dhi) {
  if constexpr (J > 1)
    if (n < J) return filter_taps_upto<V, J - 1>(n, c, gi, kb, ci, r, s0, dlo, dhi);
  filter_taps<V, J>(c, gi, kb, ci, r, s0, dlo, dhi);
}

template <class V, class T>
SVERTKA_INLINE_LANES void filter_task(const void* vctx, i64 t) {
  const auto& c = *static_cast<const FilterCtx<T>*>(vctx);
  const Setup& s = *c.s;
  const Conv2dGeometry& g = s.g;
  const i64 r = t % g.R, ci = (t / g.R) % s.Cg, kb = (t / (g.R * s.Cg)) % c.kblocks,
            gi = t / (g.R * s.Cg * c.kblocks);
  // the output columns whose taps all read the image directly: one run [dlo, dhi), as a column's
  // taps leave the image only on the left for the first columns and on the right for the last ones
  i64 dlo = 0;
  while (dlo < g.Wo && !direct_columns(s, dlo, 1)) ++dlo;
  i64 dhi = dlo;
  while (dhi < g.Wo && direct_columns(s, dhi, 1)) ++dhi;
  constexpr i64 SB = V::taps;
  for (i64 s0 = 0; s0 < g.S; s0 += SB)
    filter_taps_upto<V, static_cast<int>(SB)>(std::min(SB, g.S - s0), c, gi, kb, ci, r, s0, dlo, dhi);
}

template <class T>
SVERTKA_CONV_FLATTEN void filter_task_generic(const void* c, i64 t) {
  filter_task<GenericLanes<T>, T>(c, t);
}
#ifdef SVERTKA_CONV_X86
template <class T>
SVERTKA_CONV_AVX2_FN void filter_task_avx2(const void* c, i64 t) {
  filter_task<Avx2Lanes<T>, T>(c, t);
}
template <class T>
SVERTKA_CONV_AVX512_FN void filter_task_avx512(const void* c, i64 t) {
  filter_task<Avx512Lanes<T>, T>(c, t);
}
#endif

}  // namespace

template <class T>
struct TransposeCtx {
  const Setup* s;
  const T* gy;
  T* gyt;
  i64 kblocks;
};

// gyt[gi][kb][n][p][l] = gy[n, gi·Kg + kb·L + l, p], zero past the group's filters; task (gi, kb, n)
template <class T>
void transpose_task(const void* vctx, i64 t) {
  constexpr i64 L = lanes_of<T>;
  const auto& c = *static_cast<const TransposeCtx<T>*>(vctx);
  const Setup& s = *c.s;
  const i64 n = t % s.g.N, kb = t / s.g.N % c.kblocks, gi = t / (s.g.N * c.kblocks);
  T* dst = c.gyt + t * s.P * L;
  for (i64 l = 0; l < L; ++l) {
    const i64 k = kb * L + l;
    if (k >= s.Kg) {
      for (i64 p = 0; p < s.P; ++p) dst[p * L + l] = T(0);
      continue;
    }
    const T* src = c.gy + (n * s.g.K + gi * s.Kg + k) * s.P;
    for (i64 p = 0; p < s.P; ++p) dst[p * L + l] = src[p];
  }
}

template <class T>
bool backward_filter(const Setup& s, const T* x, const T* gy, T* gw) {
  constexpr i64 L = lanes_of<T>;
  const Conv2dGeometry& g = s.g;
  const i64 kblocks = ceil_div(s.Kg, L);
  const i64 elems = s.G * kblocks * g.N * s.P * L;
  if (elems > max_transposed) return false;
  T* gyt = workspace().call_part.get<T>(elems);
  const TransposeCtx<T> tc{&s, gy, gyt, kblocks};
  // a copy: counted as 16 flops per element (LeNet's 100 K elements go parallel)
  run_tasks(s.G * kblocks * g.N, 16.0 * static_cast<double>(elems), &transpose_task<T>, &tc);
  const FilterCtx<T> c{&s, x, gyt, gw, kblocks};
  TaskFn fn = &filter_task_generic<T>;
#ifdef SVERTKA_CONV_X86
  if (isa() == Conv2dIsa::avx512) fn = &filter_task_avx512<T>;
  if (isa() == Conv2dIsa::avx2) fn = &filter_task_avx2<T>;
#endif
  const double flops = 2.0 * static_cast<double>(g.N * g.K * s.P * s.CRS);
  run_tasks(s.G * kblocks * s.Cg * g.R, flops, fn, &c);
  return true;
}

template bool backward_filter<float>(const Setup&, const float*, const float*, float*);
template bool backward_filter<double>(const Setup&, const double*, const double*, double*);

template <class T>
void forward(const Setup& s, const T* x, const T* w, const T* b, T* y) {
  constexpr i64 L = lanes_of<T>;
  const Conv2dGeometry& g = s.g;
  if constexpr (std::is_same_v<T, float>)
    if (rows::applies(g)) return rows::forward(s, x, w, b, y);
  const i64 kblocks = ceil_div(s.Kg, L);
  // wl[gi][kb][(c, r, s)][l] = w[gi·Kg + kb·L + l, c, r, s], zero past the group's filters
  T* wl = workspace().call_a.get<T>(s.G * kblocks * s.CRS * L);
  for (i64 gi = 0; gi < s.G; ++gi)
    for (i64 kb = 0; kb < kblocks; ++kb) {
      T* dst = wl + (gi * kblocks + kb) * s.CRS * L;
      for (i64 d = 0; d < s.CRS; ++d)
        for (i64 l = 0; l < L; ++l) {
          const i64 k = kb * L + l;
          dst[d * L + l] = k < s.Kg ? w[(gi * s.Kg + k) * s.CRS + d] : T(0);
        }
    }
  TaskFn fn = &task_generic<T>;
  i64 kb = GenericLanes<T>::kb;
#ifdef SVERTKA_CONV_X86
  if (isa() == Conv2dIsa::avx512) fn = &task_avx512<T>, kb = Avx512Lanes<T>::kb;
  if (isa() == Conv2dIsa::avx2) fn = &task_avx2<T>, kb = Avx2Lanes<T>::kb;
#endif
  const Ctx<T> c{&s, x, wl, b, y, kblocks, ceil_div(kblocks, kb)};
  const double flops = 2.0 * static_cast<double>(g.N * g.K * s.P * s.CRS);
  run_tasks(g.N * s.G * c.kgroups, flops, fn, &c);
}

template void forward<float>(const Setup&, const float*, const float*, const float*, float*);
template void forward<double>(const Setup&, const double*, const double*, const double*, double*);

}  // namespace svertka::kernels::conv::lanes
