#ifndef SVERTKA_OPS_CROSS_ENTROPY_HPP
#define SVERTKA_OPS_CROSS_ENTROPY_HPP
//! @file
//! `cross_entropy`: softmax cross-entropy of logits against integer class labels (PyTorch's
//! `F.cross_entropy` with `reduction='mean'` by default).
//!
//! L = (1/N) Σₙ ( log Σⱼ exp(xₙⱼ) − xₙ,ₗₙ );
//! ∂L/∂xₙⱼ = (softmax(xₙ)ⱼ − [j = lₙ]) / N.

#include <cmath>
#include <cstdint>

#include "svertka/ops/log_softmax.hpp"
#include "svertka/ops/op.hpp"

namespace svertka::ops {

//! How a loss combines its per-element terms.
enum class Reduction { mean, sum };

struct CrossEntropy {
  static constexpr std::string_view name = "cross_entropy";
  //! softmax(x), kept for backward
  template <class T>
  struct SavedT {
    Tensor<T> probs;
  };
  Tensor<std::int64_t> labels;  //!< [N], each in [0, C)
  Reduction reduction = Reduction::mean;

  Shape output_shape(const Shape& x) const {
    if (x.rank() != 2) throw ShapeError(fmt::format("cross_entropy: logits must be [N, C] but have shape {}", x));
    if (x[1] == 0) throw ShapeError(fmt::format("cross_entropy: logits have no classes (x: {})", x));
    if (labels.numel() != x[0])
      throw ShapeError(fmt::format("cross_entropy: {} labels for a batch of {} (logits: {}, labels: {})",
                                   labels.numel(), x[0], x, labels.shape()));
    return Shape{};
  }

  //! `OptionError` unless every label is in [0, C) for logits of shape x = [N, C].
  void check_labels(const Shape& x) const {
    const std::int64_t* lp = labels.data();
    for (std::int64_t n = 0; n < labels.numel(); ++n)
      if (lp[n] < 0 || lp[n] >= x[1])
        throw OptionError(fmt::format("cross_entropy: label {} at position {} is outside [0, {}) (logits: {})", lp[n],
                                      n, x[1], x));
  }

  template <class T>
  SavedT<T> forward(const Tensor<T>& x, Tensor<T>& y) const {
    Tensor<T> probs;
    return forward(x, y, probs);
  }
  //! As forward(x, y), the probabilities written into `probs` when it has x's shape (a buffer kept
  //! between steps: nothing allocated), else into a new tensor left in `probs`; the state shares it.
  template <class T>
  SavedT<T> forward(const Tensor<T>& x, Tensor<T>& y, Tensor<T>& probs) const {
    require_defined(name, "logits", x);
    const std::int64_t N = x.dim(0), C = x.dim(1);
    const std::int64_t* lp = labels.data();
    check_labels(x.shape());
    if (!probs.defined() || !(probs.shape() == x.shape())) probs = Tensor<T>::empty(x.shape());
    SavedT<T> saved{probs};
    const T* xp = x.data();
    T* pp = saved.probs.data();
    const T total = chunked_sum<T>(N, std::max<std::int64_t>(1, elementwise_grain / C), [&](std::int64_t b, std::int64_t e) {
      T s{0};
      for (std::int64_t n = b; n < e; ++n) {
        T* pr = pp + n * C;
        LogSoftmax::log_softmax_row(xp + n * C, pr, C);
        s -= pr[lp[n]];
        for (std::int64_t j = 0; j < C; ++j) pr[j] = std::exp(pr[j]);
      }
      return s;
    });
    y.data()[0] = reduction == Reduction::mean ? total / static_cast<T>(N) : total;
    return saved;
  }

  template <class T>
  void backward(const SavedT<T>& saved, const Tensor<T>& x, const Tensor<T>&, const Tensor<T>& gy, Tensor<T>* gx) const {
    if (!gx) return;
    const std::int64_t N = x.dim(0), C = x.dim(1);
    const T g = gy.data()[0] / (reduction == Reduction::mean ? static_cast<T>(N) : T(1));
    const std::int64_t* lp = labels.data();
    const T* pp = saved.probs.data();
    T* gxp = gx->data();
    parallel_for(0, N, std::max<std::int64_t>(1, elementwise_grain / C), [&](std::int64_t b, std::int64_t e) {
      for (std::int64_t n = b; n < e; ++n) {
        for (std::int64_t j = 0; j < C; ++j) gxp[n * C + j] += g * pp[n * C + j];
        gxp[n * C + lp[n]] -= g;
      }
    });
  }
};

}  // namespace svertka::ops

#endif  // SVERTKA_OPS_CROSS_ENTROPY_HPP
