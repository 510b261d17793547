#ifndef SVERTKA_KERNELS_CONV2D_HPP
#define SVERTKA_KERNELS_CONV2D_HPP
//! @file
//! The 2-D convolution kernels behind `ops::Conv2d`: forward, gradient of the input ("backward
//! data"), of the weight ("backward filter") and of the bias, on raw NCHW arrays.
//!
//! Layouts (row-major): x [N, C, H, W], w [K, C/groups, R, S], b [K], y [N, K, Ho, Wo]. The padding
//! of every mode is read through `pad_source` (svertka/ops/padding.hpp) inside the kernels; no padded
//! copy of an image is ever made.
//!
//! Four algorithms, chosen by shape (`conv2d_algorithm`; the forward pass: `conv2d_forward_algorithm`;
//! the data gradient: `conv2d_backward_data_algorithm`):
//! - `gemm`: an implicit GEMM. The im2col matrix is never stored whole: blocks of its columns (output
//!   pixels, possibly of several images) are packed straight from the image through the padding index
//!   map into a register-blocked micro-kernel (AVX-512 or AVX2+FMA, chosen at run time). The input
//!   gradient runs the transposed product into a block of columns and scatters (or, at stride 1,
//!   gathers) it back through the same map (col2im); the weight gradient is a product over the pixels
//!   of all images.
//! - `direct`: loops over output rows, vectorised along the row, for tiny channel counts (the first
//!   layer of LeNet: C = 1; depthwise convolutions), where im2col would move more data than it saves;
//!   and the forward pass of GEMM shapes whose output rows fill the vectors.
//! - `lanes`: a vector of filters per output pixel, each input value broadcast, for the forward pass
//!   and the weight gradient of 8 to 32 filters over a shallow depth (LeNet's second layer); with
//!   AVX-512 at stride and dilation 1 its input gradient holds a vector of images per pixel instead
//!   (each weight broadcast, ∂L/∂y transposed once per group of 16 images), and its float forward
//!   pass of 3- or 5-tap rows takes each filter row as a one-dimensional F(4, S): 4 output columns
//!   from S + 3 products per channel and tap row instead of 4·S, a vector of 16 output positions
//!   per product, the filters broadcast (not for unpadded 3-tap rows of at most 12 outputs).
//! - `winograd`: F(2 × 2, 3 × 3), F(4 × 4, 3 × 3), F(2 × 2, 5 × 5) and F(4 × 4, 5 × 5) for 3 × 3 and
//!   5 × 5 filters at stride 1 (any dilation, groups, padding mode): each 2 × 2 tile of outputs from
//!   a 4 × 4 (6 × 6) tile of input with 16 (36) multiplications per filter and channel instead of 36
//!   (100); each 4 × 4 tile from a 6 × 6 tile with 36 instead of 144 for 3 × 3 layers with outputs
//!   of at least 32 × 32 per dilation phase, from an 8 × 8 tile with 64 instead of 400 for 5 × 5
//!   layers from 16 × 16; the forward pass, the data gradient (a convolution of ∂L/∂y by the turned
//!   filters: on the input's pixels when the padding is at most (r − 1)·dilation per side, in a mode
//!   other than zeros plus the frame of padded pixels around them, summed directly and added to the
//!   pixels they copy; with wider padding on the whole padded input, whose border is then added to
//!   the pixels it copies), and the weight
//!   gradient (F(r × r, 2 × 2), or F(r × r, 4 × 4) from 48 × 48 (3 × 3) or 32 × 32 (5 × 5) outputs
//!   per phase: ∂L/∂y tiles as the filters). The forward pass of a 3 × 3 filter at stride 2 takes
//!   each 4 × 4 tile of outputs from a 9 × 9 tile of input with 81 multiplications instead of 144:
//!   in each direction F(4, 2) on the even taps and the even input values, the odd tap times each
//!   odd value (9 products for 4 outputs instead of 12).
//!
//! Every kernel uses up to `num_threads()` threads for large problems and none for small ones; the
//! work is split into tasks fixed by the shape alone, and sums over images are taken in a fixed
//! order, so results are bit-identical at any thread count. Scratch memory comes from per-thread
//! workspaces grown on demand and kept, so repeated calls do not allocate.

#include <cstdint>

#include "svertka/ops/padding.hpp"

namespace svertka::kernels {

//! Which algorithm runs a convolution. `automatic` picks by shape; the others force one (tests).
//! `gemm`: implicit GEMM over packed im2col panels; `direct`: loops vectorised along the output
//! pixels (few input channels or filters per group); `lanes`: a vector of filters per output pixel
//! and each input value broadcast, nothing packed but the weights, for the forward pass and the
//! filter gradient (few filters over a shallow depth, e.g. LeNet's second layer); its data gradient
//! runs a vector of images per pixel with AVX-512 at stride and dilation 1, else the GEMM path.
//! `winograd`: F(2 × 2, 3 × 3), F(4 × 4, 3 × 3), F(2 × 2, 5 × 5) and F(4 × 4, 5 × 5) for every pass
//! of 3 × 3 and 5 × 5 filters at stride 1, and the forward pass of strided layers with 3 × 3 or 5 × 5 taps per
//! phase of the stride without dilation (AlexNet's 11 × 11 at stride 4: 3 × 3 taps on 16 phases)
//! and of 3 × 3 filters at stride 2 without dilation, whose data gradient (zero padding of 0-2
//! above and left, both even or both odd) and weight gradient (zero padding) run transforms of their
//! own; forced on another geometry, the forward pass throws `OptionError` and the backward passes run the
//! GEMM path. Its results differ from the other
//! algorithms' by rounding only: in float, relative to the largest output, about 1e-6 for
//! F(2 × 2, 3 × 3), up to about 5e-6 for F(2 × 2, 5 × 5), and about 6e-6 (1.3e-5 at 256 channels)
//! for the 4 × 4 tiles of 3 × 3 and 5 × 5 layers, about 3e-6 for 3 × 3 at stride 2; in double about
//! 1e-14.
enum class Conv2dAlgo { automatic, gemm, direct, lanes, winograd };

//! The sizes of one convolution. `Ho`, `Wo` must equal the PyTorch output size
//! floor((H + top + bottom − dilation.h·(R − 1) − 1) / stride.h) + 1 (and likewise for W).
struct Conv2dGeometry {
  std::int64_t N = 0, C = 0, H = 0, W = 0;  //!< input
  std::int64_t K = 0, R = 0, S = 0;         //!< weight [K, C/groups, R, S]
  Size2d stride{1, 1};
  Size2d dilation{1, 1};
  Padding2d padding{};
  PadMode mode = PadMode::zeros;
  std::int64_t groups = 1;
  std::int64_t Ho = 0, Wo = 0;  //!< output
  Conv2dAlgo algo = Conv2dAlgo::automatic;
};

//! The instruction set of the convolution kernels: the AVX-512 kernels (8 × 32 register tiles), the
//! AVX2+FMA ones (6 × 16), or portable C++.
enum class Conv2dIsa { automatic, generic, avx2, avx512 };

//! Chooses the instruction set for the calling process (`automatic`: the best the CPU has, the
//! default). For tests and benchmarks; results may differ in the last bits between instruction sets.
//! @throws OptionError when the CPU lacks the one asked for.
void set_conv2d_isa(Conv2dIsa isa);
//! The instruction set the kernels use now (never `automatic`).
Conv2dIsa conv2d_isa();
//! Whether this CPU can run `isa`.
bool conv2d_isa_supported(Conv2dIsa isa);

//! The algorithm the kernels use for `g` (never `automatic`).
//! @throws OptionError / ShapeError when `g` is inconsistent (see `conv2d_forward`).
Conv2dAlgo conv2d_algorithm(const Conv2dGeometry& g);

//! The algorithm `conv2d_forward<T>` runs for `g`: `conv2d_algorithm(g)`, except that with
//! `algo = automatic` and float, a GEMM-path shape of 3 × 3 or 5 × 5 filters at stride 1 with at
//! least 32 channels and 32 filters per group runs `winograd` on the AVX2 kernels (at 2 threads,
//! 1.4-1.6x the direct and GEMM paths on 3 × 3 layers of 64-256 channels, 1.3-2.2x on 5 × 5 layers
//! of 32-128 channels) and on the AVX-512 kernels (5 × 5 layers, and 3 × 3 layers from 16 × 16
//! outputs: below, the GEMM path is level or faster there); otherwise, on the AVX-512 or AVX2
//! kernels, a GEMM-path shape runs its forward pass on the direct path when its output rows fill
//! the vectors (Wo ≥ 32, at most a seventh of the row's
//! 16-lane vectors left empty) and its filters are small enough to rearrange per task (Kg·Cg·R·S ≤
//! 2¹⁸): output rows in registers, six filters per pass, with nothing packed but the input planes.
//! Its backward passes stay on the GEMM path. On the AVX-512 and AVX2 kernels in float, 3 × 3 layers
//! at stride 2 with at least 28 × 28 outputs, 8 images' worth of tiles (N·⌈Ho/4⌉·⌈Wo/4⌉ ≥ 392), 64
//! channels and 64 filters per group and at most 131072 filter-channel pairs run `winograd` (at 2
//! threads strided_3x3 5.34 against 5.85 ms on the GEMM path, medians of alternating runs, AVX-512;
//! 7.7 against 10.2 on the AVX2 kernels of a Zen 4).
template <class T>
Conv2dAlgo conv2d_forward_algorithm(const Conv2dGeometry& g);

//! The algorithm `conv2d_backward_data<T>` runs for `g`: `winograd` when forced on 3 × 3 or 5 × 5
//! filters at stride 1, or with `algo = automatic` where the forward pass would run it on a layer
//! of any size (1.4-1.5x the GEMM path on 3 × 3 layers of 64-256 channels at 2 threads, 1.1-1.4x
//! with reflect or replicate padding); for 3 × 3 layers at stride 2 with zero padding of 0-2 above
//! and left (both even or both odd), `winograd` when forced, or automatically in float on the AVX2
//! and AVX-512 kernels from 32 × 32 inputs with 256 tiles of 8 × 8, 32 channels and 64 filters per
//! group, at most 131072 pairs (the adjoint of the forward pass's transform: strided_3x3 7.0-7.3
//! against 9.1-9.2 ms on the GEMM path at 2 threads); else `direct` for direct shapes and `gemm`.
template <class T>
Conv2dAlgo conv2d_backward_data_algorithm(const Conv2dGeometry& g);

//! The algorithm `conv2d_backward_filter<T>` runs for `g`: `winograd` (F(r × r, 2 × 2): the same
//! transform of the input tiles, ∂L/∂y tiles of 2 × 2 as the filters) when forced on 3 × 3 or 5 × 5
//! filters at stride 1, or with `algo = automatic` where the forward pass runs it, there are at most
//! 128 × 128 channels × filters per group (more leave too few partial sums to spread over the
//! threads) and enough output pixels to make deep products (Ho·Wo ≥ 28·28 for 3 × 3, 16·16 for
//! 5 × 5). Else `conv2d_algorithm(g)`.
template <class T>
Conv2dAlgo conv2d_backward_filter_algorithm(const Conv2dGeometry& g);

//! y = conv(x, w) + b. `b` may be null (no bias). y is only written.
//! @throws OptionError / ShapeError when the geometry is inconsistent: a size ≤ 0, negative padding,
//! channels or filters not divisible by groups, Ho / Wo not the output size, a plane of 2³¹ pixels.
template <class T>
void conv2d_forward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y);

//! gx += ∂L/∂x for gy = ∂L/∂y (col2im through the padding map: a padded pixel's gradient goes to the
//! pixel it was read from).
template <class T>
void conv2d_backward_data(const Conv2dGeometry& g, const T* w, const T* gy, T* gx);

//! gw += ∂L/∂w = Σ over images and pixels of gy · x (padded through the map).
template <class T>
void conv2d_backward_filter(const Conv2dGeometry& g, const T* x, const T* gy, T* gw);

//! gb += ∂L/∂b: gb[k] += Σ over images and pixels of gy[n, k, ·, ·].
template <class T>
void conv2d_backward_bias(const Conv2dGeometry& g, const T* gy, T* gb);

#define SVERTKA_CONV2D_EXTERN(T)                                                                  \
  extern template void conv2d_forward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*); \
  extern template void conv2d_backward_data<T>(const Conv2dGeometry&, const T*, const T*, T*);     \
  extern template void conv2d_backward_filter<T>(const Conv2dGeometry&, const T*, const T*, T*);   \
  extern template void conv2d_backward_bias<T>(const Conv2dGeometry&, const T*, T*);
SVERTKA_CONV2D_EXTERN(float)
SVERTKA_CONV2D_EXTERN(double)
#undef SVERTKA_CONV2D_EXTERN

}  // namespace svertka::kernels

#endif  // SVERTKA_KERNELS_CONV2D_HPP
