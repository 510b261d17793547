#ifndef SVERTKA_KERNELS_GEMM_HPP
#define SVERTKA_KERNELS_GEMM_HPP
//! @file
//! `gemm`: general matrix-matrix product, C = alpha·op(A)·op(B) + beta·C, for float and double.
//!
//! The implementation (src/kernels/gemm.cpp) packs blocks of A and B into contiguous buffers and runs
//! a register-blocked micro-kernel: AVX-512 or AVX2+FMA on CPUs that have them (chosen at run time, so
//! the library needs no -march flag), a portable C++ kernel elsewhere. Thin products (M = 1, K = 1, or N = 1 with
//! op(A) = A) skip the packing and run as dot products and axpys. It uses up to `num_threads()` OpenMP
//! threads for problems larger than about 64³ multiply-adds; nothing in this header needs OpenMP.
//!
//! Results are bit-identical for any thread count: every element of C is computed by the same
//! sequence of floating-point operations, whatever the partition of C between threads. The AVX-512
//! and AVX2 kernels give identical results too; the portable kernel may differ from them.

#include <cstdint>

namespace svertka::kernels {

//! The instruction set of the GEMM micro-kernel: `automatic` (the best the CPU has, the default),
//! AVX-512, AVX2+FMA, or portable C++.
enum class GemmIsa { automatic, generic, avx2, avx512 };

//! Whether this CPU can run `isa`.
bool gemm_isa_supported(GemmIsa isa);
//! Chooses the micro-kernel for the process (tests and benchmarks; `automatic` restores the default).
//! @throws OptionError when the CPU lacks it.
void set_gemm_isa(GemmIsa isa);
//! The instruction set in use now (never `automatic`).
GemmIsa gemm_isa();

//! Whether an operand is used as stored (`no`) or transposed (`yes`).
enum class Trans : bool { no = false, yes = true };

//! C[M,N] = alpha · op(A) · op(B) + beta · C, every matrix row-major.
//!
//! - op(A) is [M,K]: A is [M,K] with row stride `lda` when `ta == Trans::no`, else A is [K,M] with
//!   row stride `lda` and op(A) = Aᵀ.
//! - op(B) is [K,N]: B is [K,N] with row stride `ldb` when `tb == Trans::no`, else B is [N,K] with
//!   row stride `ldb` and op(B) = Bᵀ.
//! - C is [M,N] with row stride `ldc`.
//!
//! When `beta == 0`, C is only written, never read: NaN or garbage in C does not reach the result.
//! When `alpha == 0` or `K == 0`, A and B are not read and C becomes beta·C (0 when beta == 0).
//! M, N or K equal to 0 is allowed. C must not overlap A or B.
//!
//! Extra memory: per thread, packing buffers of at most 2.2 MiB (for float and double alike), kept
//! between calls and grown on demand, so repeated calls of the same or smaller sizes do not allocate.
//!
//! @throws ShapeError when a size is negative or a row stride is smaller than its row length.
template <class T>
void gemm(Trans ta, Trans tb, std::int64_t M, std::int64_t N, std::int64_t K, T alpha, const T* A, std::int64_t lda,
          const T* B, std::int64_t ldb, T beta, T* C, std::int64_t ldc);

extern template void gemm<float>(Trans, Trans, std::int64_t, std::int64_t, std::int64_t, float, const float*,
                                 std::int64_t, const float*, std::int64_t, float, float*, std::int64_t);
extern template void gemm<double>(Trans, Trans, std::int64_t, std::int64_t, std::int64_t, double, const double*,
                                  std::int64_t, const double*, std::int64_t, double, double*, std::int64_t);

}  // namespace svertka::kernels

#endif  // SVERTKA_KERNELS_GEMM_HPP
