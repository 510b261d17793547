// gemm: a Goto/BLIS-style packed, cache-blocked GEMM.
//
//   for jc in N by NC                      B panel  op(B)[pc:pc+kc, jc:jc+nc] -> Bp   (L3)
//     for pc in K by kc                    A block  op(A)[ic:ic+mc, pc:pc+kc] -> Ap   (L2)
//       pack Bp
//       for ic in M by MC
//         pack Ap
//         for jr in nc by NR               B micro-panel kc x NR                      (L1)
//           for ir in mc by MR             A micro-panel MR x kc, streamed from L2
//             micro-kernel: C[MR,NR] = alpha * Ap_ir * Bp_jr + beta' * C[MR,NR]
//
// Threads split C into a tm x tn grid of rectangles whose edges fall on MR/NR tile boundaries; each
// thread runs the loops above on its rectangle with its own packing buffers, so there is no
// synchronisation and no sharing. The k blocking (kc) depends on K only, and edge tiles go through the
// same micro-kernel on a padded copy, so every element of C sees the same operations whatever the
// number of threads: the result is bit-identical for any thread count.
//
// Extra memory (per thread, thread_local, grown on demand and kept): Ap of at most MC x KC and Bp of at
// most KC x NC elements, 64-byte aligned: 144 KiB + 2 MiB for float and for double (see Blocking).
//
// Products with one row, one column or a depth of one take the thin path (gemm_thin.cpp) instead.

#include "svertka/kernels/gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "svertka/core/error.hpp"
#include "gemm_internal.hpp"

namespace svertka::kernels {
namespace {

using namespace gemm_detail;

// ---------------------------------------------------------------------------------------------------
// Blocking parameters, from the caches of AMD Zen 3 (L1d 32 KiB, L2 512 KiB per core, L3 32 MiB per
// 8-core CCD); they also suit later cores, whose caches are at least as large.
//
// MR x NR: the register tile. 6 rows x 2 AVX2 vectors = 12 accumulators + 2 B vectors + 1 broadcast A
//   = 15 of the 16 ymm registers. 12 independent FMA chains cover 2 FMA pipes x 4 cycles latency.
// KC: a B micro-panel (KC x NR) is 16 KiB (float and double alike: NR*sizeof(T) = 64 bytes), half of
//   L1d, leaving room for the A micro-panel (6 KiB / 12 KiB) streaming through it.
// MC: the A block (MC x KC) is 144 KiB (float and double), under a third of L2: it stays there while
//   the B micro-panels stream from L3 through L2 into L1.
// NC: the B panel (KC x NC) is 2 MiB, in L3 (two threads: 4 MiB of the 32 MiB L3). A larger NC only
//   saves repacking A (a 1/NC fraction of the work).
template <class T>
struct Blocking {
  static constexpr i64 MR = 6;
  static constexpr i64 NR = 64 / static_cast<i64>(sizeof(T));  // 16 floats or 8 doubles
  static constexpr i64 KC = 256;
  static constexpr i64 MC = 576 / static_cast<i64>(sizeof(T));   // 144 floats or 72 doubles
  static constexpr i64 NC = 8192 / static_cast<i64>(sizeof(T));  // 2048 floats or 1024 doubles
};

template <class T>
constexpr i64 MR = Blocking<T>::MR;
template <class T>
constexpr i64 NR = Blocking<T>::NR;


// Splits n into the fewest blocks of at most `max`, of equal size rounded up to a multiple of `unit`
// (so 1024 rows with MC = 144 give blocks of 132 and one of 100 instead of 7 x 144 + 16).
i64 balanced_block(i64 n, i64 max, i64 unit) {
  const i64 blocks = ceil_div(n, max);
  return std::min(max, ceil_div(ceil_div(n, blocks), unit) * unit);
}

// ---------------------------------------------------------------------------------------------------
// Kernel policies. Kernel::run(kc, a, b, c, ldc, alpha, beta) is the micro-kernel:
//   C[MR,NR] = alpha * sum_k a[k*MR + i] * b[k*NR + j] + beta * C   (C not read when beta == 0)
// from packed micro-panels a (MR x kc) and b (kc x NR, 64-byte aligned); Kernel::interleave<R> is the
// transposing part of the packing.
//
// ISA dispatch. The loops (rectangle -> pack_*, macro_kernel -> Kernel::...) are templates on the
// policy, instantiated once per policy inside a `flatten` entry point: run_rectangle_generic (baseline
// ISA) or run_rectangle_avx2 (target "avx2,fma"). Flatten inlines the whole call tree into the entry
// point, so in the AVX2 copy the loops and the packing are compiled for AVX2 as well, and the
// micro-kernel is inlined into the tile loop (checked in the assembly: one function, no spills in the
// k loop). Avx2Kernel's functions carry the target but not always_inline: GCC 12 rejects (hard error)
// an always_inline callee whose target the immediate caller lacks, even when that caller is itself
// inlined into an AVX2 function. The one way from baseline code into AVX2 code is the function
// pointer chosen at run time by rectangle_runner() (the best the CPU has unless set_gemm_isa said).

// Portable kernel (any CPU); the fixed-size loops vectorise for whatever ISA it is compiled in.
struct GenericKernel {
  template <class T>
  SVERTKA_INLINE static void run(i64 kc, const T* a, const T* b, T* c, i64 ldc, T alpha, T beta) {
    constexpr i64 mr = MR<T>, nr = NR<T>;
    T acc[mr][nr] = {};
    for (i64 k = 0; k < kc; ++k, a += mr, b += nr)
      for (i64 i = 0; i < mr; ++i)
        for (i64 j = 0; j < nr; ++j) acc[i][j] += a[i] * b[j];
    for (i64 i = 0; i < mr; ++i, c += ldc)
      for (i64 j = 0; j < nr; ++j) c[j] = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c[j];
  }

  // dst[k*R + i] = src[i*si + k] for i < R, k < kc: R rows contiguous in k, interleaved.
  template <i64 R, class T>
  SVERTKA_INLINE static void interleave(const T* src, i64 si, i64 kc, T* dst) {
    for (i64 k = 0; k < kc; ++k) {
#pragma GCC unroll 16
      for (i64 i = 0; i < R; ++i) dst[k * R + i] = src[i * si + k];
    }
  }
};

#ifdef SVERTKA_GEMM_AVX2

// One row of the register tile: cr0/cr1 += a[r] * (b0, b1).
#define SVERTKA_ROW(r)                  \
  {                                     \
    const V ar = X::bcast(a + (r));     \
    c##r##0 = X::fma(ar, b0, c##r##0);  \
    c##r##1 = X::fma(ar, b1, c##r##1);  \
  }

// Stores W elements of a C row: alpha * acc (beta == 0: C not read), alpha * acc + C (beta == 1), or
// alpha * acc + beta * C.
template <class X, class T, class V>
SVERTKA_AVX2_INLINE void store(T* c, V acc, V va, V vb, int beta_kind) {
  if (beta_kind == 0)
    X::storeu(c, X::mul(va, acc));
  else if (beta_kind == 1)
    X::storeu(c, X::fma(va, acc, X::loadu(c)));
  else
    X::storeu(c, X::fma(va, acc, X::mul(vb, X::loadu(c))));
}
#define SVERTKA_STORE(r)                                           \
  store<X>(c + (r) * ldc, c##r##0, va, vb, beta_kind);             \
  store<X>(c + (r) * ldc + W, c##r##1, va, vb, beta_kind);

// 6 x 2 vectors of accumulators (12 ymm) + 2 for B + 1 broadcast of A = 15 of the 16 ymm registers.
struct Avx2Kernel {
  template <class T>
  SVERTKA_AVX2 static void run(i64 kc, const T* __restrict a, const T* __restrict b, T* c, i64 ldc, T alpha, T beta) {
    static_assert(MR<T> == 6, "the register tile below is written out for 6 rows");
    using X = Vec<T>;
    using V = typename X::V;
    constexpr i64 W = 32 / static_cast<i64>(sizeof(T));  // lanes per vector; NR = 2 * W
    for (i64 r = 0; r < 6; ++r)  // the C tile is needed at the end: start loading it now
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 2 * W - 1), _MM_HINT_T0);
    V c00 = X::zero(), c01 = X::zero(), c10 = X::zero(), c11 = X::zero(), c20 = X::zero(), c21 = X::zero();
    V c30 = X::zero(), c31 = X::zero(), c40 = X::zero(), c41 = X::zero(), c50 = X::zero(), c51 = X::zero();
#pragma GCC unroll 4
    for (i64 k = 0; k < kc; ++k) {
      const V b0 = X::load(b), b1 = X::load(b + W);
      SVERTKA_ROW(0) SVERTKA_ROW(1) SVERTKA_ROW(2) SVERTKA_ROW(3) SVERTKA_ROW(4) SVERTKA_ROW(5)
      a += 6;
      b += 2 * W;
    }
    const V va = X::set1(alpha), vb = X::set1(beta);
    const int beta_kind = beta == T(0) ? 0 : beta == T(1) ? 1 : 2;
    SVERTKA_STORE(0) SVERTKA_STORE(1) SVERTKA_STORE(2) SVERTKA_STORE(3) SVERTKA_STORE(4) SVERTKA_STORE(5)
  }

  // As GenericKernel::interleave, by W x W transposes (W = lanes): R = 16 or 6 floats, 8 or 6 doubles.
  template <i64 R, class T>
  SVERTKA_AVX2 static void interleave(const T* src, i64 si, i64 kc, T* dst) {
    using X = Vec<T>;
    using V = typename X::V;
    constexpr i64 W = 32 / static_cast<i64>(sizeof(T));
    i64 k = 0;
    for (; k + W <= kc; k += W) {
#pragma GCC unroll 2
      for (i64 g = 0; g < R; g += W) {  // rows g .. g + W - 1 (the missing ones of R = 6 read as 0)
        const i64 rows = std::min(W, R - g);
        V v[W];
#pragma GCC unroll 8
        for (i64 i = 0; i < W; ++i) v[i] = i < rows ? X::loadu(src + (g + i) * si + k) : X::zero();
        X::transpose(v);
        T* d = dst + k * R + g;
#pragma GCC unroll 8
        for (i64 j = 0; j < W; ++j) {
          if (rows == W)
            X::storeu(d + j * R, v[j]);
          else if constexpr (W == 8)
            X::store6(d + j * R, v[j]);
          else
            X::store2(d + j * R, v[j]);
        }
      }
    }
    for (; k < kc; ++k)
      for (i64 i = 0; i < R; ++i) dst[k * R + i] = src[i * si + k];
  }
};
#undef SVERTKA_ROW
#undef SVERTKA_STORE

// AVX-512: a packed B micro-panel (NR = 16 floats or 8 doubles) is one zmm, so a 6-row tile of one
// panel has only 6 accumulators, too few to cover the FMA latency; run2 takes two neighbouring panels
// (12 zmm accumulators). Every element of C sees the same operations as in the AVX2 kernel (one
// accumulator per element, k in order, then the same store), so results are identical to it.
template <class X, class T, class V>
SVERTKA_AVX512_INLINE void store512(T* c, V acc, V va, V vb, int beta_kind) {
  if (beta_kind == 0)
    X::storeu(c, X::mul(va, acc));
  else if (beta_kind == 1)
    X::storeu(c, X::fma(va, acc, X::loadu(c)));
  else
    X::storeu(c, X::fma(va, acc, X::mul(vb, X::loadu(c))));
}

struct Avx512Kernel : Avx2Kernel {
  // One panel: C[6, NR].
  template <class T>
  SVERTKA_AVX512 static void run(i64 kc, const T* __restrict a, const T* __restrict b, T* c, i64 ldc, T alpha, T beta) {
    using X = Vec512<T>;
    using V = typename X::V;
    V acc[6];
#pragma GCC unroll 6
    for (int r = 0; r < 6; ++r) acc[r] = X::zero();
#pragma GCC unroll 4
    for (i64 k = 0; k < kc; ++k, a += 6, b += NR<T>) {
      const V b0 = X::load(b);
#pragma GCC unroll 6
      for (int r = 0; r < 6; ++r) acc[r] = X::fma(X::bcast(a + r), b0, acc[r]);
    }
    const V va = X::set1(alpha), vb = X::set1(beta);
    const int beta_kind = beta == T(0) ? 0 : beta == T(1) ? 1 : 2;
#pragma GCC unroll 6
    for (int r = 0; r < 6; ++r) store512<X>(c + r * ldc, acc[r], va, vb, beta_kind);
  }
  // Two neighbouring panels: C[6, 2·NR], the second panel at b2 and C columns c + NR.
  template <class T>
  SVERTKA_AVX512 static void run2(i64 kc, const T* __restrict a, const T* __restrict b, const T* __restrict b2, T* c,
                                  i64 ldc, T alpha, T beta) {
    using X = Vec512<T>;
    using V = typename X::V;
    V acc0[6], acc1[6];
#pragma GCC unroll 6
    for (int r = 0; r < 6; ++r) acc0[r] = acc1[r] = X::zero();
#pragma GCC unroll 4
    for (i64 k = 0; k < kc; ++k, a += 6, b += NR<T>, b2 += NR<T>) {
      const V v0 = X::load(b), v1 = X::load(b2);
#pragma GCC unroll 6
      for (int r = 0; r < 6; ++r) {
        const V ar = X::bcast(a + r);
        acc0[r] = X::fma(ar, v0, acc0[r]);
        acc1[r] = X::fma(ar, v1, acc1[r]);
      }
    }
    const V va = X::set1(alpha), vb = X::set1(beta);
    const int beta_kind = beta == T(0) ? 0 : beta == T(1) ? 1 : 2;
#pragma GCC unroll 6
    for (int r = 0; r < 6; ++r) {
      store512<X>(c + r * ldc, acc0[r], va, vb, beta_kind);
      store512<X>(c + r * ldc + NR<T>, acc1[r], va, vb, beta_kind);
    }
  }
};
#endif  // SVERTKA_GEMM_AVX2

// ---------------------------------------------------------------------------------------------------
// Packing from the problem as given (Problem: gemm_internal.hpp).
// Packs `n` rows of a matrix whose element (i, k) is src[i * si + k * sk], k < kc, into micro-panels
// of R rows: element (i, k) goes to dst[(i / R)*R*kc + k*R + i % R]. Rows past n are zero, so edge
// tiles run the full micro-kernel. Used for op(A) (R = MR) and for op(B)ᵀ (R = NR). One of si, sk is 1.
template <class Kernel, i64 R, class T>
SVERTKA_INLINE void pack_panels(const T* src, i64 si, i64 sk, i64 n, i64 kc, T* dst) {
  const i64 full = n / R;
  if (sk == 1) {  // rows contiguous in k: a transposition, R rows at a time
    for (i64 r = 0; r < full; ++r) Kernel::template interleave<R>(src + r * R * si, si, kc, dst + r * R * kc);
  } else {  // the values of one k are contiguous: copy rows of up to 16 panels, k outer (streaming reads)
    for (i64 r0 = 0; r0 < full; r0 += 16)
      for (i64 k = 0; k < kc; ++k)
        for (i64 r = r0; r < std::min(full, r0 + 16); ++r)
          std::memcpy(dst + r * R * kc + k * R, src + k * sk + r * R, sizeof(T) * R);
  }
  if (const i64 rows = n - full * R; rows > 0) {  // the last, partial panel
    src += full * R * si;
    dst += full * R * kc;
    for (i64 k = 0; k < kc; ++k)
      for (i64 i = 0; i < R; ++i) dst[k * R + i] = i < rows ? src[i * si + k * sk] : T(0);
  }
}

// op(A)[i0:i0+mc, p0:p0+kc] as MR-row micro-panels.
template <class Kernel, class T>
SVERTKA_INLINE void pack_a(const Problem<T>& p, i64 i0, i64 mc, i64 p0, i64 kc, T* dst) {
  if (p.ta == Trans::no)
    pack_panels<Kernel, MR<T>>(p.A + i0 * p.lda + p0, p.lda, i64{1}, mc, kc, dst);
  else
    pack_panels<Kernel, MR<T>>(p.A + p0 * p.lda + i0, i64{1}, p.lda, mc, kc, dst);
}

// op(B)[p0:p0+kc, j0:j0+nc] as NR-column micro-panels (that is, op(B)ᵀ as NR-row micro-panels).
template <class Kernel, class T>
SVERTKA_INLINE void pack_b(const Problem<T>& p, i64 p0, i64 kc, i64 j0, i64 nc, T* dst) {
  if (p.tb == Trans::no)
    pack_panels<Kernel, NR<T>>(p.B + p0 * p.ldb + j0, i64{1}, p.ldb, nc, kc, dst);
  else
    pack_panels<Kernel, NR<T>>(p.B + j0 * p.ldb + p0, p.ldb, i64{1}, nc, kc, dst);
}

// ---------------------------------------------------------------------------------------------------
// Per-thread packing buffers: grown on demand, never shrunk, freed when the thread ends.
struct Buffer {
  struct Free {
    void operator()(void* p) const { ::operator delete(p, std::align_val_t{64}); }
  };
  std::unique_ptr<void, Free> data;
  std::size_t bytes = 0;

  template <class T>
  T* get(i64 count) {
    if (const std::size_t need = sizeof(T) * static_cast<std::size_t>(count); need > bytes) {
      data.reset();
      bytes = 0;
      data.reset(::operator new(need, std::align_val_t{64}));
      bytes = need;
    }
    return static_cast<T*>(data.get());
  }
};

struct Workspace {
  Buffer a, b;  // packed A block, packed B panel
};

Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

// ---------------------------------------------------------------------------------------------------
// The blocked loops over one rectangle of C, on the calling thread.

// One tile that sticks out of C (mr < MR or nr < NR): the micro-kernel runs on a padded copy, so the
// valid elements see exactly the operations they would see in a full tile.
template <class Kernel, class T>
SVERTKA_INLINE void edge_tile(i64 mr, i64 nr, i64 kc, const T* a, const T* b, T* c, i64 ldc, T alpha, T beta) {
  alignas(64) T tile[MR<T> * NR<T>] = {};
  if (beta != T(0))
    for (i64 i = 0; i < mr; ++i) std::copy_n(c + i * ldc, nr, tile + i * NR<T>);
  Kernel::run(kc, a, b, tile, NR<T>, alpha, beta);
  for (i64 i = 0; i < mr; ++i) std::copy_n(tile + i * NR<T>, nr, c + i * ldc);
}

// C[mc, nc] = alpha * Ap * Bp + beta * C, tile by tile (jr outer: the B micro-panel stays in L1).
template <class Kernel, class T>
SVERTKA_INLINE void macro_kernel(i64 mc, i64 nc, i64 kc, const T* Ap, const T* Bp, T* C, i64 ldc, T alpha, T beta) {
  i64 jr0 = 0;
  if constexpr (requires { &Kernel::template run2<T>; }) {  // pairs of full panels, full row tiles
    for (; jr0 + 2 * NR<T> <= nc; jr0 += 2 * NR<T>) {
      const T* b = Bp + jr0 * kc;
      for (i64 ir = 0; ir < mc; ir += MR<T>) {
        const i64 mr = std::min(MR<T>, mc - ir);
        const T* a = Ap + ir * kc;
        T* c = C + ir * ldc + jr0;
        if (mr == MR<T>) {
          Kernel::run2(kc, a, b, b + NR<T> * kc, c, ldc, alpha, beta);
        } else {
          edge_tile<Kernel>(mr, NR<T>, kc, a, b, c, ldc, alpha, beta);
          edge_tile<Kernel>(mr, NR<T>, kc, a, b + NR<T> * kc, c + NR<T>, ldc, alpha, beta);
        }
      }
    }
  }
  for (i64 jr = jr0; jr < nc; jr += NR<T>) {
    const i64 nr = std::min(NR<T>, nc - jr);
    const T* b = Bp + jr * kc;
    for (i64 ir = 0; ir < mc; ir += MR<T>) {
      const i64 mr = std::min(MR<T>, mc - ir);
      const T* a = Ap + ir * kc;
      T* c = C + ir * ldc + jr;
      if (mr == MR<T> && nr == NR<T>)
        Kernel::run(kc, a, b, c, ldc, alpha, beta);
      else
        edge_tile<Kernel>(mr, nr, kc, a, b, c, ldc, alpha, beta);
    }
  }
}

// The blocked loops over C[m0:m1, n0:n1] (tile-aligned). kc depends on K only, never on the thread
// count: K is cut into ceil(K / KC) equal blocks.
template <class Kernel, class T>
SVERTKA_INLINE void rectangle(const Problem<T>& p, i64 m0, i64 m1, i64 n0, i64 n1) {
  using Bk = Blocking<T>;
  const i64 kc_max = balanced_block(p.K, Bk::KC, 1);
  const i64 mc_max = balanced_block(m1 - m0, Bk::MC, Bk::MR);
  const i64 nc_max = balanced_block(n1 - n0, Bk::NC, Bk::NR);
  Workspace& ws = workspace();
  T* Ap = ws.a.get<T>(mc_max * kc_max);
  T* Bp = ws.b.get<T>(nc_max * kc_max);
  for (i64 jc = n0; jc < n1; jc += nc_max) {
    const i64 nc = std::min(nc_max, n1 - jc);
    for (i64 pc = 0; pc < p.K; pc += kc_max) {
      const i64 kc = std::min(kc_max, p.K - pc);
      pack_b<Kernel>(p, pc, kc, jc, nc, Bp);
      const T beta = pc == 0 ? p.beta : T(1);  // later k blocks accumulate onto the first
      for (i64 ic = m0; ic < m1; ic += mc_max) {
        const i64 mc = std::min(mc_max, m1 - ic);
        pack_a<Kernel>(p, ic, mc, pc, kc, Ap);
        macro_kernel<Kernel>(mc, nc, kc, Ap, Bp, p.C + ic * p.ldc + jc, p.ldc, p.alpha, beta);
      }
    }
  }
}

template <class T>
using RectangleRunner = void (*)(const Problem<T>& p, i64 m0, i64 m1, i64 n0, i64 n1);

template <class T>
__attribute__((flatten)) void run_rectangle_generic(const Problem<T>& p, i64 m0, i64 m1, i64 n0, i64 n1) {
  rectangle<GenericKernel>(p, m0, m1, n0, n1);
}

#ifdef SVERTKA_GEMM_AVX2
template <class T>
SVERTKA_AVX2 __attribute__((flatten)) void run_rectangle_avx2(const Problem<T>& p, i64 m0, i64 m1, i64 n0, i64 n1) {
  rectangle<Avx2Kernel>(p, m0, m1, n0, n1);
}
template <class T>
SVERTKA_AVX512 __attribute__((flatten)) void run_rectangle_avx512(const Problem<T>& p, i64 m0, i64 m1, i64 n0,
                                                                  i64 n1) {
  rectangle<Avx512Kernel>(p, m0, m1, n0, n1);
}
#endif

bool cpu_has(GemmIsa isa) {
#ifdef SVERTKA_GEMM_AVX2
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  switch (isa) {
    case GemmIsa::avx512: return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    case GemmIsa::avx2: return avx2;
    default: return true;
  }
#else
  return isa == GemmIsa::generic || isa == GemmIsa::automatic;
#endif
}

GemmIsa best_isa() {
  static const GemmIsa best = cpu_has(GemmIsa::avx512) ? GemmIsa::avx512
                              : cpu_has(GemmIsa::avx2) ? GemmIsa::avx2
                                                       : GemmIsa::generic;
  return best;
}


template <class T>
RectangleRunner<T> rectangle_runner(GemmIsa isa) {
#ifdef SVERTKA_GEMM_AVX2
  if (isa == GemmIsa::avx512) return &run_rectangle_avx512<T>;
  if (isa == GemmIsa::avx2) return &run_rectangle_avx2<T>;
#endif
  static_cast<void>(isa);
  return &run_rectangle_generic<T>;
}

// ---------------------------------------------------------------------------------------------------
// Threads: a tm x tn grid of tile-aligned rectangles, one per thread.
struct Grid {
  int tm = 1, tn = 1;
};

// The grid with the least per-thread cost among tm x tn <= threads. The cost of a rectangle of m x n
// elements is m*n multiply-add columns plus packing its m + n rows/columns of depth (a packed element
// costs about as much as 16 FMA lanes). Splitting M makes every thread pack all of B's columns, and
// splitting N all of A's rows, so this picks the split that duplicates the smaller operand.
Grid plan_grid(int threads, i64 m_tiles, i64 n_tiles, i64 mr, i64 nr) {
  Grid best;
  double best_cost = -1;
  for (int tm = 1; tm <= threads; ++tm) {
    const int tn = threads / tm;
    if (tm > m_tiles || tn > n_tiles) continue;
    const auto m = static_cast<double>(ceil_div(m_tiles, tm) * mr), n = static_cast<double>(ceil_div(n_tiles, tn) * nr);
    const double cost = m * n + 16.0 * (m + n);
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      best = {tm, tn};
    }
  }
  return best;
}

template <class T>
void run_thread(const Problem<T>& p, RectangleRunner<T> run, int id, int threads) {
  const i64 m_tiles = ceil_div(p.M, MR<T>), n_tiles = ceil_div(p.N, NR<T>);
  const Grid g = plan_grid(threads, m_tiles, n_tiles, MR<T>, NR<T>);
  if (id >= g.tm * g.tn) return;
  const i64 im = id / g.tn, in = id % g.tn;
  const i64 m0 = std::min(p.M, m_tiles * im / g.tm * MR<T>), m1 = std::min(p.M, m_tiles * (im + 1) / g.tm * MR<T>);
  const i64 n0 = std::min(p.N, n_tiles * in / g.tn * NR<T>), n1 = std::min(p.N, n_tiles * (in + 1) / g.tn * NR<T>);
  if (m0 < m1 && n0 < n1) run(p, m0, m1, n0, n1);
}



void check_args(i64 M, i64 N, i64 K, bool ta, bool tb, i64 lda, i64 ldb, i64 ldc) {
  const char* what = M < 0 || N < 0 || K < 0 ? "negative size"
                     : lda < (ta ? M : K)    ? "lda is smaller than a row of A"
                     : ldb < (tb ? K : N)    ? "ldb is smaller than a row of B"
                     : ldc < N               ? "ldc is smaller than a row of C"
                                             : nullptr;
  if (what)
    throw ShapeError("gemm: " + std::string(what) + " (M=" + std::to_string(M) + ", N=" + std::to_string(N) +
                     ", K=" + std::to_string(K) + ", lda=" + std::to_string(lda) + ", ldb=" + std::to_string(ldb) +
                     ", ldc=" + std::to_string(ldc) + ")");
}

}  // namespace

namespace gemm_detail {
std::atomic<GemmIsa> chosen_isa{GemmIsa::automatic};

GemmIsa current_isa() {
  const GemmIsa c = chosen_isa.load(std::memory_order_relaxed);
  return c == GemmIsa::automatic ? best_isa() : c;
}
}  // namespace gemm_detail

template <class T>
void gemm(Trans ta, Trans tb, i64 M, i64 N, i64 K, T alpha, const T* A, i64 lda, const T* B, i64 ldb, T beta, T* C,
          i64 ldc) {
  check_args(M, N, K, ta == Trans::yes, tb == Trans::yes, lda, ldb, ldc);
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == T(0)) return scale_c(M, N, beta, C, ldc);

  const RectangleRunner<T> run = rectangle_runner<T>(gemm_detail::current_isa());
  const Problem<T> p{ta, tb, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc};

  // Below ~64^3 multiply-adds a parallel region costs more than it saves (thin products are memory
  // bound: below ~2^20 elements); inside an active region (nested parallelism off) a new region would
  // get one thread anyway.
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int threads = omp_get_max_threads();
  const bool nested = omp_get_active_level() >= omp_get_max_active_levels();
  if (gemm_detail::try_thin(p, threads > 1 && !nested && work >= 1024.0 * 1024.0)) return;
  if (threads <= 1 || work < 64.0 * 64.0 * 64.0 || nested) {
    run_thread(p, run, 0, 1);
    return;
  }
  std::exception_ptr error;  // an exception (bad_alloc of a buffer) must not leave the region
#pragma omp parallel num_threads(threads)
  {
    try {
      run_thread(p, run, omp_get_thread_num(), omp_get_num_threads());
    } catch (...) {
#pragma omp critical(svertka_gemm_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

bool gemm_isa_supported(GemmIsa isa) { return cpu_has(isa); }

void set_gemm_isa(GemmIsa isa) {
  if (!cpu_has(isa))
    throw OptionError(std::string("set_gemm_isa: this CPU cannot run the ") +
                      (isa == GemmIsa::avx512 ? "AVX-512" : "AVX2") + " kernel");
  gemm_detail::chosen_isa.store(isa, std::memory_order_relaxed);
}

GemmIsa gemm_isa() { return gemm_detail::current_isa(); }

template void gemm<float>(Trans, Trans, i64, i64, i64, float, const float*, i64, const float*, i64, float, float*, i64);
template void gemm<double>(Trans, Trans, i64, i64, i64, double, const double*, i64, const double*, i64, double,
                           double*, i64);

}  // namespace svertka::kernels
