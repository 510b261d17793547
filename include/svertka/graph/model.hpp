#ifndef SVERTKA_GRAPH_MODEL_HPP
#define SVERTKA_GRAPH_MODEL_HPP
//! @file
//! `instantiate<T>(graph, rng)`: a model that owns the graph's parameters and runs it, on its own
//! compile-time executors or on the tape.
//!
//! ```cpp
//! auto model = sv::graph::instantiate<float>(lenet, rng);
//! auto logits = model.forward(x);                                  // x: [N, 1, 28, 28]
//! float loss = model.value_and_grad(x, labels, sv::graph::cross_entropy);   // grads accumulate
//! for (sv::Parameter<float>& p : model.parameters()) ...           // layer order: w, b, w, b, ...
//! model.zero_grad();
//! auto out = model.forward(sv::tape::constant(x));                 // the same model on the tape
//! ```

#include <cstdint>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "svertka/graph/exec.hpp"
#include "svertka/ops/cross_entropy.hpp"
#include "svertka/ops/mse_loss.hpp"

namespace svertka::graph {

//! Softmax cross-entropy against integer labels (ops/cross_entropy.hpp).
struct CrossEntropyLoss {
  ops::Reduction reduction = ops::Reduction::mean;
};
inline constexpr CrossEntropyLoss cross_entropy{};
//! Mean squared error against a target tensor of the output's shape (ops/mse_loss.hpp).
struct MseLoss {
  ops::Reduction reduction = ops::Reduction::mean;
};
inline constexpr MseLoss mse_loss{};

template <class T, class Graph>
class Model;

//! A model of a complete graph `sequential(input<...>, layers...)`.
template <class T, class In, class... Ls>
class Model<T, Sequential<In, Ls...>> {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "svertka::graph::instantiate<T>: T must be float or double");
  static_assert(is_input<In>::value,
                "svertka::graph::instantiate: the graph must start with input<...> (it fixes the input shape)");

 public:
  using Chain = graph::Chain<T, 1, In::shape, Ls...>;
  //! Per-sample input and output shapes (the batch size is a run-time value).
  static constexpr Shape input_shape = In::shape;
  static constexpr Shape output_shape = Chain::out;

  explicit Model(Rng& rng) {
    chain_.create_parameters(rng, params_);
    loss_ = Tensor<T>::empty({});
    seed_ = Tensor<T>::ones({});
  }
  Model(Model&&) noexcept = default;
  Model& operator=(Model&&) noexcept = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  //! The output for a batch x: [N, input_shape...] → [N, output_shape...] (a new tensor).
  Tensor<T> forward(const Tensor<T>& x) {
    prepare(x.shape());
    return chain_.forward(x).clone();
  }
  //! Forward and backward for a batch: returns the loss, *adds* its gradient into every parameter's
  //! gradient. `target`: labels (`std::vector<std::int64_t>` or an int64 tensor) for
  //! `cross_entropy`, a tensor of the output's shape for `mse_loss`.
  template <class Target>
  T value_and_grad(const Tensor<T>& x, const Target& target, CrossEntropyLoss loss) {
    prepare(x.shape());
    const ops::CrossEntropy op{labels_of(target), loss.reduction};
    const Tensor<T>& out = chain_.forward(x);
    op.output_shape(out.shape());  // labels against the batch
    auto saved = op.forward(out, loss_);
    Tensor<T>& g = chain_.grad_output();
    g.fill(T(0));
    op.backward(saved, out, loss_, seed_, &g);
    chain_.backward(x, nullptr);
    return loss_.item();
  }
  T value_and_grad(const Tensor<T>& x, const Tensor<T>& target, MseLoss loss) {
    prepare(x.shape());
    const ops::MseLoss op{loss.reduction};
    const Tensor<T>& out = chain_.forward(x);
    op.output_shape(out.shape(), target.shape());
    auto saved = op.forward(out, target, loss_);
    Tensor<T>& g = chain_.grad_output();
    g.fill(T(0));
    op.backward(saved, out, target, loss_, seed_, &g, static_cast<Tensor<T>*>(nullptr));
    chain_.backward(x, nullptr);
    return loss_.item();
  }
  //! The model recorded on the calling thread's tape, its parameters as leaves: backward() fills the
  //! same `parameters()` gradients.
  tape::Var<T> forward(const tape::Var<T>& x) {
    check_input(x.shape());
    return chain_.forward(x);
  }

  //! Every parameter in layer order (weight, then bias, layer by layer). Handles: they share storage
  //! with the model.
  std::vector<Parameter<T>>& parameters() { return params_; }
  const std::vector<Parameter<T>>& parameters() const { return params_; }
  void zero_grad() {
    for (auto& p : params_) p.zero_grad();
  }
  //! Executors, for inspection (e.g. `model.chain().layer<0>().y` after a forward).
  Chain& chain() { return chain_; }

 private:
  static constexpr Shape batched_input(std::int64_t n) { return batched(input_shape, n); }
  void check_input(const Shape& s) const {
    bool ok = s.rank() == input_shape.rank() + 1 && s[0] > 0;
    for (int i = 0; ok && i < input_shape.rank(); ++i) ok = s[i + 1] == input_shape[i];
    if (!ok)
      throw ShapeError(fmt::format("graph: input has shape {} but the model expects [N,{}] with N ≥ 1", s,
                                   input_shape.str().substr(1, input_shape.str().size() - 2)));
  }
  void prepare(const Shape& s) {
    check_input(s);
    chain_.resize(s[0]);
  }
  static Tensor<std::int64_t> labels_of(const Tensor<std::int64_t>& t) { return t; }
  static Tensor<std::int64_t> labels_of(std::span<const std::int64_t> v) {
    return Tensor<std::int64_t>::from(Shape{static_cast<std::int64_t>(v.size())}, v);
  }
  static Tensor<std::int64_t> labels_of(const std::vector<std::int64_t>& v) {
    return labels_of(std::span<const std::int64_t>(v));
  }

  Chain chain_;
  std::vector<Parameter<T>> params_;
  Tensor<T> loss_, seed_;
};

//! A model of `graph` owning freshly initialised parameters (PyTorch's default initialisation,
//! drawn from `rng` layer by layer).
template <class T, class... Ls>
Model<T, Sequential<Ls...>> instantiate(const Sequential<Ls...>&, Rng& rng) {
  return Model<T, Sequential<Ls...>>(rng);
}

}  // namespace svertka::graph

#endif  // SVERTKA_GRAPH_MODEL_HPP
