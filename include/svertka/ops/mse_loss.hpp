#ifndef SVERTKA_OPS_MSE_LOSS_HPP
#define SVERTKA_OPS_MSE_LOSS_HPP
//! @file
//! `mse_loss`: mean squared error (PyTorch's `F.mse_loss`, `reduction='mean'` by default).
//!
//! L = (1/n) Σᵢ (pᵢ − tᵢ)²;  ∂L/∂pᵢ = 2(pᵢ − tᵢ)/n,  ∂L/∂tᵢ = −2(pᵢ − tᵢ)/n.

#include "svertka/ops/cross_entropy.hpp"
#include "svertka/ops/op.hpp"

namespace svertka::ops {

struct MseLoss {
  static constexpr std::string_view name = "mse_loss";
  using Saved = NoSaved;
  Reduction reduction = Reduction::mean;

  constexpr Shape output_shape(const Shape& p, const Shape& t) const {
    if (!(p == t))
      throw ShapeError(fmt::format("mse_loss: prediction and target shapes differ (prediction: {}, target: {})", p, t));
    return Shape{};
  }

  template <class T>
  Saved forward(const Tensor<T>& p, const Tensor<T>& t, Tensor<T>& y) const {
    require_defined(name, "prediction", p);
    require_defined(name, "target", t);
    const T *pp = p.data(), *tp = t.data();
    const T total = chunked_sum<T>(p.numel(), elementwise_grain, [&](std::int64_t b, std::int64_t e) {
      T s{0};
      for (std::int64_t i = b; i < e; ++i) s += (pp[i] - tp[i]) * (pp[i] - tp[i]);
      return s;
    });
    y.data()[0] = reduction == Reduction::mean ? total / static_cast<T>(p.numel()) : total;
    return {};
  }

  template <class T>
  void backward(const Saved&, const Tensor<T>& p, const Tensor<T>& t, const Tensor<T>&, const Tensor<T>& gy,
                Tensor<T>* gp, Tensor<T>* gt) const {
    const T scale = T(2) * gy.data()[0] / (reduction == Reduction::mean ? static_cast<T>(p.numel()) : T(1));
    const T *pp = p.data(), *tp = t.data();
    T* gpp = gp ? gp->data() : nullptr;
    T* gtp = gt ? gt->data() : nullptr;
    parallel_for(0, p.numel(), elementwise_grain, [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t i = b; i < e; ++i) {
        const T d = scale * (pp[i] - tp[i]);
        if (gpp) gpp[i] += d;
        if (gtp) gtp[i] -= d;
      }
    });
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_MSE_LOSS_HPP
