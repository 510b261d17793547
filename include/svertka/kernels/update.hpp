#ifndef SVERTKA_KERNELS_UPDATE_HPP
#define SVERTKA_KERNELS_UPDATE_HPP
//! @file
//! Parameter updates of the optimizers, as compiled kernels: header code is built for whatever
//! instruction set the user's translation unit targets (often plain SSE2), these run AVX2 when the
//! CPU has it (chosen at run time).

#include <cstdint>

namespace svertka::kernels {

//! The SGD step on n values: w ← w − η·(g + λ·w) (λ = weight_decay; with λ = 0 the gradient alone),
//! each element rounded as `old - eta * d` in T (no fused multiply-add), so every instruction set gives
//! the same weights. Returns Σ (w_new − w_old)², accumulated in double; with AVX-512 and float, the
//! squares are summed in float within blocks of 1024 elements and the block sums in double (about 2e-6
//! relative). Its rounding may differ between instruction sets; the weights never do.
template <class T>
double sgd_update(std::int64_t n, T eta, T weight_decay, T* w, const T* g);

//! The coefficients of one momentum step (PyTorch's SGD with momentum μ, dampening τ, Nesterov).
template <class T>
struct MomentumStep {
  T eta, weight_decay, momentum, keep;  //!< keep = 1 − τ
  bool nesterov, first;                 //!< first: the buffer starts as the gradient
};

//! The momentum step on n values, with d = g + λ·w (λ = weight_decay):
//! b ← d on the first step, else b ← μ·b + (1 − τ)·d; w ← w − η·(Nesterov ? d + μ·b : b). Each
//! operation rounded in T in that order (no fused multiply-add), so every instruction set gives the
//! same weights and buffer. Returns Σ (w_new − w_old)², summed as `sgd_update` sums it.
template <class T>
double momentum_update(std::int64_t n, const MomentumStep<T>& step, T* w, const T* g, T* buffer);

extern template double sgd_update<float>(std::int64_t, float, float, float*, const float*);
extern template double momentum_update<float>(std::int64_t, const MomentumStep<float>&, float*, const float*, float*);
extern template double momentum_update<double>(std::int64_t, const MomentumStep<double>&, double*, const double*,
                                               double*);
extern template double sgd_update<double>(std::int64_t, double, double, double*, const double*);

}  // namespace svertka::kernels

#endif  // SVERTKA_KERNELS_UPDATE_HPP
