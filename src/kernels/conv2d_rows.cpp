// The forward pass of filter-lanes layers (a few filters over a shallow depth, such as LeNet's
// second layer) at stride and dilation 1 through F(4, S) along the rows (float, AVX-512): each row of
// an S-tap filter (S = 3 or 5) is a one-dimensional F(4, S) (winograd::Wino<S, 4>), so a tile of 4
// output columns of one output row takes α = S + 3 products per (channel, tap row) instead of 4·S
// (8 instead of 20 for 5 taps), while the rows direction stays a direct sum over the R tap rows:
//
//   M[k, ξ, p] = Σ_{c, r} Ŵ[ξ, c, r, k] · X̂[c, ξ, p + r·T],    y[k, oh, 4t .. 4t + 3] = Aᵀ M[k, ·, p]
//
// for the output position p = oh·T + t (tile t of output row oh, T tiles a row). Ŵ = G w per
// (filter, channel, tap row), once per call. X̂ = Bᵀ d per (channel, padded input row q, tile) at
// position q·T + t, so that output position p under tap row r reads X̂ at p + r·T: 16 consecutive
// positions are one vector load, whatever rows they span. The products run with the positions in
// the vector lanes and the filters broadcast, a block of 8 filters × 2 vectors of positions per ξ
// (a last single vector on its own): 10 loads per 16 multiply-adds.
//
// Tried before this and left out: the filters in the lanes as in conv2d_lanes.cpp, each transformed
// input value broadcast into 8 or 16 filter vectors. There no value is used twice (the direct path
// reuses each broadcast input for every tap of a row), so each multiply-add needs a load of its own,
// and on a Zen 5 that ran 0.19-0.23 ms on LeNet's second layer at one thread against 0.15 direct.
//
// The input transform: each padded row (through the row map, and the column map where a block of
// columns leaves the row, so every padding mode) is cut into the α tap planes D[i][q·T + t] =
// row[4t + i] with one permute of 32 columns per 4 tiles and plane (two rows per permute when a row
// has at most 3 tiles), for every channel, and only then Bᵀ runs on vectors of 16 positions (its
// loads span several of the planes' overlapping stores, which cannot be forwarded to them). The
// output transform runs on vectors of positions too; its four columns per tile are interleaved in
// registers into rows of 4·T columns, whose first Wo go to y with the bias.
//
// Taken (rows::applies) for 5 taps from 8 output columns, and for 3 taps except unpadded rows of
// at most 12 outputs, which the filter lanes run faster by broadcasting each input value once for
// its 3 taps. On a Zen 5 at 2 threads (median of the best of 150 calls in 6 alternating runs
// against the filter lanes): LeNet's second layer (64 images, 6 × 14 × 14, 16 filters of 5 × 5)
// 0.070 → 0.062 ms (0.145 → 0.120 at one thread); the same padded by 2: 0.32 → 0.16; 20 channels,
// 24 filters of 5 × 5 with replicate padding at 28 × 28 (16 images): 1.70 → 0.52; 16 channels, 16
// filters of 3 × 3 at 56 × 56 (16 images): 0.87 → 0.73 padded by 1, 0.50 → 0.44 unpadded. Float
// error against a double reference, relative to the largest output, about 1e-6 (the direct sum
// 3e-7 to 5e-7).
//
// Tasks: one per (image, group), writing its own output planes in one fixed order (results do not
// depend on the thread count). Extra memory: Ŵ and w's taps reordered (groups · α · Cg·R · Kp +
// Cg·R·S·Kp values, Kp = Kg rounded up to 8; calling thread); per task thread the tap planes and X̂
// (2 · Cg · α · pitch, pitch ≥ (Ho + R − 1)·T + 16 rounded up to 16), the products (Kp · α · P, P =
// Ho·T rounded up to 16) and the interleaved rows (4·P). Both per-task parts are bounded (2^18
// values each), else the filter lanes run.

#include <algorithm>

#include "conv2d_winograd.hpp"

// The vectors live inside the always-inlined task; none crosses a call.
#pragma GCC diagnostic ignored "-Wpsabi"
// GCC 12 takes the pass-through operand that the shuffle, cast and extract intrinsics fill with an
// undefined vector for a read of an uninitialised variable once inlined; nothing here reads it.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace svertka::kernels::conv::rows {
namespace {

constexpr i64 L = 16;          // positions per vector
constexpr i64 KF = 8, NV = 2;  // the products' register block: KF filters × NV vectors of positions
constexpr i64 max_values = i64{1} << 18;  // bound on X̂ and on the products per task

struct Sizes {
  i64 T, Hp, P, pitch, Kp;
};

[[maybe_unused]] Sizes sizes(const Conv2dGeometry& g) {
  Sizes z{};
  z.T = ceil_div(g.Wo, i64{4});
  z.Hp = g.Ho + g.R - 1;
  z.P = ceil_div(g.Ho * z.T, L) * L;
  // a tap plane's rows are stored 4 or 8 values at a time (the values past a row overwritten by the
  // next rows), so 16 values of slack past the last
  z.pitch = ceil_div(std::max(z.Hp * z.T + L, (g.R - 1) * z.T + z.P), L) * L;
  z.Kp = ceil_div(g.K / g.groups, KF) * KF;
  return z;
}

struct Ctx {
  const Setup* s;
  const float *x, *wt, *b;  // wt: Ŵ, [group][ξ][c·R + r][Kp]
  float* y;
  Sizes z;
};

#ifdef SVERTKA_CONV_X86
#define SVERTKA_ROWS_INLINE __attribute__((target("avx512f,avx512dq,avx2,fma"), always_inline)) inline

// Tiles t0 .. t0 + 3 of a padded row: where their 32 padded columns j0 .. j0 + 31 come from (all
// straight from the input row at j0 − left, the ones past Q masked off, or through the column map).
struct Group {
  i64 j0;
  __mmask16 ma, mb;
  bool direct;
};

// The 32 padded columns of group gr of input row xrow (null: zeros) in a and b.
SVERTKA_ROWS_INLINE void window(const Setup& s, const Group& gr, const float* xrow, __m512& a, __m512& b) {
  const i64 left = s.g.padding.left;
  if (!xrow) {
    a = b = _mm512_setzero_ps();
  } else if (gr.direct) {
    a = _mm512_maskz_loadu_ps(gr.ma, xrow + gr.j0 - left);
    b = _mm512_maskz_loadu_ps(gr.mb, xrow + gr.j0 + 16 - left);
  } else {
    alignas(64) float w[32];
    for (i64 u = 0; u < 32; ++u) {
      const i64 j = gr.j0 + u;
      w[u] = j < s.Q && s.qmap[j] >= 0 ? xrow[s.qmap[j]] : 0.0f;
    }
    a = _mm512_load_ps(w), b = _mm512_load_ps(w + 16);
  }
}

// The tap planes of padded row q of a channel: D[i·pitch + q·T + t] = row[4t + i] for t < T, row
// being input row xrow (null: zeros) padded through the column map. Whole 128-bit stores: the lane
// past a group's tiles is overwritten by the next group or row, or lies in the plane's slack (zeroed
// again after the channel's last row).
template <int A>
SVERTKA_ROWS_INLINE void tap_planes(const Setup& s, const Group* groups, i64 ngroups, i64 T, i64 pitch,
                                    const __m512i* idx, const float* xrow, i64 q, float* D) {
  float* dq = D + q * T;
  for (i64 gi = 0; gi < ngroups; ++gi, dq += 4) {
    __m512 a, b;
    window(s, groups[gi], xrow, a, b);
#pragma GCC unroll 8
    for (int i = 0; i < A; ++i)
      _mm_storeu_ps(dq + i * pitch, _mm512_castps512_ps128(_mm512_permutex2var_ps(a, idx[i], b)));
  }
}

// The same for rows q and q + 1 (x0, x1) of at most 3 tiles each (their columns all in the first 16):
// one permute and one 256-bit store per plane.
template <int A>
SVERTKA_ROWS_INLINE void tap_planes2(const Setup& s, const Group& gr, i64 T, i64 pitch, const __m512i* idx2,
                                     const float* x0, const float* x1, i64 q, float* D) {
  __m512 a, b, c, d;
  window(s, gr, x0, a, b);
  window(s, gr, x1, c, d);
  float* dq = D + q * T;
#pragma GCC unroll 8
  for (int i = 0; i < A; ++i)
    _mm256_storeu_ps(dq + i * pitch, _mm512_castps512_ps256(_mm512_permutex2var_ps(a, idx2[i], c)));
}

// out[4p + j] = y[j][p] for the 16 positions p of the four vectors y[0..3]
SVERTKA_ROWS_INLINE void interleave4(const __m512 y[4], float* out) {
  const __m512 t0 = _mm512_unpacklo_ps(y[0], y[1]), t1 = _mm512_unpackhi_ps(y[0], y[1]);
  const __m512 t2 = _mm512_unpacklo_ps(y[2], y[3]), t3 = _mm512_unpackhi_ps(y[2], y[3]);
  // u[m], 128-bit lane l: the four columns of position 4l + m
  const __m512d a0 = _mm512_castps_pd(t0), a1 = _mm512_castps_pd(t1), a2 = _mm512_castps_pd(t2),
                a3 = _mm512_castps_pd(t3);
  const __m512 u0 = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2)), u1 = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
  const __m512 u2 = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3)), u3 = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
  const __m512 lo01 = _mm512_shuffle_f32x4(u0, u1, 0x44), lo23 = _mm512_shuffle_f32x4(u2, u3, 0x44);
  const __m512 hi01 = _mm512_shuffle_f32x4(u0, u1, 0xEE), hi23 = _mm512_shuffle_f32x4(u2, u3, 0xEE);
  _mm512_storeu_ps(out, _mm512_shuffle_f32x4(lo01, lo23, 0x88));
  _mm512_storeu_ps(out + 16, _mm512_shuffle_f32x4(lo01, lo23, 0xDD));
  _mm512_storeu_ps(out + 32, _mm512_shuffle_f32x4(hi01, hi23, 0x88));
  _mm512_storeu_ps(out + 48, _mm512_shuffle_f32x4(hi01, hi23, 0xDD));
}

// Products M[k0 + k][ξ][p0 + v·L + l] = Σ_{c, r} Ŵ[ξ][c·R + r][k0 + k] · X̂[c][ξ][p0 + v·L + l + r·T]
// for k < KF and v < NB (NB vectors of positions).
template <int NB>
SVERTKA_ROWS_INLINE void products(const Setup& s, const float* wt, const float* xt, const Sizes& z, i64 gi, i64 A,
                                  i64 xi, i64 k0, i64 p0, float* M) {
  const i64 R = s.g.R, Kp = z.Kp, T = z.T, pitch = z.pitch;
  __m512 acc[KF][NB];
#pragma GCC unroll 8
  for (i64 k = 0; k < KF; ++k)
#pragma GCC unroll 2
    for (i64 v = 0; v < NB; ++v) acc[k][v] = _mm512_setzero_ps();
  const float* wp = wt + (gi * A + xi) * s.Cg * R * Kp + k0;
  for (i64 ci = 0; ci < s.Cg; ++ci) {
    const float* xp = xt + (ci * A + xi) * pitch + p0;
    for (i64 r = 0; r < R; ++r, xp += T, wp += Kp) {
      __m512 xv[NB];
#pragma GCC unroll 2
      for (i64 v = 0; v < NB; ++v) xv[v] = _mm512_loadu_ps(xp + v * L);
#pragma GCC unroll 8
      for (i64 k = 0; k < KF; ++k) {
        const __m512 wv = _mm512_set1_ps(wp[k]);
#pragma GCC unroll 2
        for (i64 v = 0; v < NB; ++v) acc[k][v] = _mm512_fmadd_ps(wv, xv[v], acc[k][v]);
      }
    }
  }
#pragma GCC unroll 8
  for (i64 k = 0; k < KF; ++k)
#pragma GCC unroll 2
    for (i64 v = 0; v < NB; ++v) _mm512_storeu_ps(M + ((k0 + k) * A + xi) * z.P + p0 + v * L, acc[k][v]);
}

template <int S>
SVERTKA_ROWS_INLINE void task(const Ctx& c, i64 t) {
  using W = winograd::Wino<S, 4>;
  constexpr int A = W::a;
  const Setup& s = *c.s;
  const Conv2dGeometry& g = s.g;
  const Sizes& z = c.z;
  const i64 gi = t % s.G, n = t / s.G, R = g.R;
  Workspace& ws = workspace();
  float* xt = ws.task_a.get<float>(s.Cg * A * z.pitch);
  float* D = ws.task_b.get<float>(s.Cg * A * z.pitch);
  float* M = ws.task_c.get<float>(z.Kp * A * z.P);
  float* rowsbuf = ws.task_acc.get<float>(4 * z.P);

  // X̂ of every channel: the tap planes of its padded rows, then Bᵀ on vectors of positions
  const i64 T = z.T, Hp = z.Hp, pitch = z.pitch, ngroups = ceil_div(T, i64{4});
  Group* groups = ws.task_lanes.get<Group>(ngroups);
  for (i64 gr = 0; gr < ngroups; ++gr) {
    const i64 j0 = 16 * gr, jn = std::min(j0 + 32, s.Q), left = g.padding.left;
    const i64 na = std::clamp(jn - j0, i64{0}, i64{16}), nb = std::clamp(jn - j0 - 16, i64{0}, i64{16});
    groups[gr] = {j0, static_cast<__mmask16>((1u << na) - 1), static_cast<__mmask16>((1u << nb) - 1),
                  j0 - left >= 0 && jn - left <= g.W};
  }
  __m512i idx[A], idx2[A];  // lane u < 4: column 4u + i of a group's 32; idx2: of two rows' first 16
  for (int i = 0; i < A; ++i) {
    idx[i] = _mm512_add_epi32(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), _mm512_set1_epi32(i));
    alignas(64) i32 v[16] = {};
    if (T <= 3)  // (only then taken)
      for (i64 t = 0; t < T; ++t) v[t] = static_cast<i32>(4 * t + i), v[T + t] = static_cast<i32>(16 + 4 * t + i);
    idx2[i] = _mm512_load_si512(v);
  }
  // all channels' tap planes before any transform: Bᵀ's loads span several of the planes' overlapping
  // stores, which cannot be forwarded to them and must have reached the cache
  for (i64 ci = 0; ci < s.Cg; ++ci) {
    const float* xc = c.x + (n * g.C + gi * s.Cg + ci) * s.HW;
    float* Dc = D + ci * A * pitch;
    auto row = [&](i64 q) -> const float* {  // padded row q: tap row q − oh of output row oh
      const i64 oh = std::min(q, g.Ho - 1);
      const i32 src = s.rowmap[oh * R + q - oh];
      return src < 0 ? nullptr : xc + src * g.W;
    };
    if (T <= 3) {
      for (i64 q = 0; q < Hp; q += 2)
        tap_planes2<A>(s, groups[0], T, pitch, idx2, row(q), q + 1 < Hp ? row(q + 1) : nullptr, q, Dc);
    } else {
      for (i64 q = 0; q < Hp; ++q) tap_planes<A>(s, groups, ngroups, T, pitch, idx, row(q), q, Dc);
    }
    // the slack, in vector stores (a call of memset per plane: LeNet's second layer 0.081 instead of 0.063 ms)
    for (i64 i = 0; i < A; ++i)
      for (i64 p = Hp * T; p < pitch; p += L)
        _mm512_mask_storeu_ps(Dc + i * pitch + p, static_cast<__mmask16>((1u << std::min(L, pitch - p)) - 1),
                              _mm512_setzero_ps());
  }
  for (i64 ci = 0; ci < s.Cg; ++ci) {
    const float* Dc = D + ci * A * pitch;
    float* dst = xt + ci * A * pitch;
    for (i64 p = 0; p < pitch; p += L) {
      __m512 d[A], o[A];
#pragma GCC unroll 8
      for (int i = 0; i < A; ++i) d[i] = _mm512_loadu_ps(Dc + i * pitch + p);
      W::bt(d, o);
#pragma GCC unroll 8
      for (int i = 0; i < A; ++i) _mm512_storeu_ps(dst + i * pitch + p, o[i]);
    }
  }

  // the products, KF filters × NV vectors of positions at a time for each ξ (a last single vector
  // on its own)
  const i64 PP = z.P;
  for (int xi = 0; xi < A; ++xi)
    for (i64 k0 = 0; k0 < z.Kp; k0 += KF) {
      i64 p0 = 0;
      for (; p0 + NV * L <= PP; p0 += NV * L) products<NV>(s, c.wt, xt, z, gi, A, xi, k0, p0, M);
      if (p0 < PP) products<1>(s, c.wt, xt, z, gi, A, xi, k0, p0, M);
    }

  // Aᵀ per filter on vectors of positions, interleaved into rows of 4·T columns, the first Wo to y
  const i64 rl = 4 * T, Ho = g.Ho, Wo = g.Wo, positions = Ho * T;
  const __mmask16 last = static_cast<__mmask16>((1u << ((Wo - 1) % L + 1)) - 1);  // of a row's last vector
  for (i64 k = 0; k < s.Kg; ++k) {
    const float* mk = M + k * A * PP;
    for (i64 p = 0; p < positions; p += L) {
      __m512 m[A], yv[4];
#pragma GCC unroll 8
      for (int i = 0; i < A; ++i) m[i] = _mm512_loadu_ps(mk + i * PP + p);
      W::at(m, yv);
      interleave4(yv, rowsbuf + 4 * p);
    }
    const i64 kk = gi * s.Kg + k;
    const __m512 bias = _mm512_set1_ps(c.b ? c.b[kk] : 0.0f);
    float* yk = c.y + (n * g.K + kk) * s.P;
    const float* src = rowsbuf;
    // rows as whole vectors, the lanes past Wo overwritten by the next row; the plane's last row
    // masked, as the next plane may be another task's
    for (i64 oh = 0; oh < Ho; ++oh, yk += Wo, src += rl) {
      i64 j = 0;
      for (; j + L < Wo; j += L) _mm512_storeu_ps(yk + j, _mm512_add_ps(_mm512_loadu_ps(src + j), bias));
      if (oh + 1 < Ho)
        _mm512_storeu_ps(yk + j, _mm512_add_ps(_mm512_loadu_ps(src + j), bias));
      else
        _mm512_mask_storeu_ps(yk + j, last, _mm512_add_ps(_mm512_maskz_loadu_ps(last, src + j), bias));
    }
  }
}

SVERTKA_CONV_AVX512_FN void task_avx512(const void* vctx, i64 t) {
  const auto& c = *static_cast<const Ctx*>(vctx);
  if (c.s->g.S == 5) return task<5>(c, t);
  task<3>(c, t);
}
#endif

// Ŵ[gi][ξ][c·R + r][k] = Σ_s G[ξ][s]·w[gi·Kg + k, c, r, s] (zero for k ≥ Kg), in the calling thread's
// workspace: w's taps first turned to [c·R + r][s][k], so that both loops run along k
template <int S>
const float* transform_weights(const Setup& s, const float* w, i64 Kp) {
  using W = winograd::Wino<S, 4>;
  constexpr int A = W::a;
  const i64 CR = s.Cg * s.g.R, Kg = s.Kg;
  float* wt = workspace().call_part.get<float>(s.G * A * CR * Kp + CR * S * Kp);
  float* taps = wt + s.G * A * CR * Kp;
  float g[A][S];
  for (int i = 0; i < A; ++i)
    for (int sx = 0; sx < S; ++sx) g[i][sx] = static_cast<float>(W::G[i][sx]);
  for (i64 gi = 0; gi < s.G; ++gi) {
    for (i64 cr = 0; cr < CR; ++cr)
      for (int sx = 0; sx < S; ++sx) {
        float* t = taps + (cr * S + sx) * Kp;
        const float* src = w + (gi * Kg * CR + cr) * S + sx;
        for (i64 k = 0; k < Kg; ++k) t[k] = src[k * CR * S];
        std::fill(t + Kg, t + Kp, 0.0f);
      }
    for (int i = 0; i < A; ++i)
      for (i64 cr = 0; cr < CR; ++cr) {
        float* dst = wt + ((gi * A + i) * CR + cr) * Kp;
        const float* t = taps + cr * S * Kp;
        for (i64 k = 0; k < Kp; ++k) {
          float v = 0;
          for (int sx = 0; sx < S; ++sx) v += g[i][sx] * t[sx * Kp + k];
          dst[k] = v;
        }
      }
  }
  return wt;
}

}  // namespace

bool applies(const Conv2dGeometry& g) {
#ifdef SVERTKA_CONV_X86
  if (isa() != Conv2dIsa::avx512) return false;
  if (g.stride.h != 1 || g.stride.w != 1 || g.dilation.h != 1 || g.dilation.w != 1) return false;
  if ((g.S != 3 && g.S != 5) || g.Wo < 8) return false;
  // unpadded rows of 3 taps and at most 12 outputs stay with the filter lanes, which broadcast each
  // input value once for its 3 taps (14 × 14 over 6 channels, 16 filters: 0.041 against 0.053 ms)
  if (g.S == 3 && g.Wo <= 12 && g.padding.left == 0 && g.padding.right == 0) return false;
  const i64 A = g.S + 3;
  const Sizes z = sizes(g);
  return (g.C / g.groups) * A * z.pitch <= max_values && z.Kp * A * z.P <= max_values;
#else
  (void)g;
  return false;
#endif
}

void forward(const Setup& s, const float* x, const float* w, const float* b, float* y) {
#ifdef SVERTKA_CONV_X86
  const Conv2dGeometry& g = s.g;
  const Sizes z = sizes(g);
  const float* wt = g.S == 5 ? transform_weights<5>(s, w, z.Kp) : transform_weights<3>(s, w, z.Kp);
  const Ctx c{&s, x, wt, b, y, z};
  run_tasks(g.N * s.G, 2.0 * static_cast<double>(g.N * g.K * s.P * s.CRS), &task_avx512, &c);
#else
  (void)s, (void)x, (void)w, (void)b, (void)y;
#endif
}

}  // namespace svertka::kernels::conv::rows
