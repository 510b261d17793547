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

#include <algorithm>
#include <cstdint>
#include <memory>
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
  //!
  //! A batch of at least 2 × `samples_per_task` samples is cut into tasks of about `samples_per_task`
  //! samples (the cut depends on the batch size only). Each task runs forward and backward on one
  //! thread, on a replica of the model that shares the parameters' values and has gradients of its
  //! own; the replicas' gradients are then added into the parameters' gradients in task order, and
  //! the loss is the tasks' losses combined in task order (weighted n_task / N for the mean). One
  //! parallel region per step instead of one per kernel; the result does not depend on the thread
  //! count. It differs from the one-pass computation (and the tape's) only by the order of the sums
  //! over the batch. Smaller batches run in one pass with the kernels' own threads.
  template <class Target>
  T value_and_grad(const Tensor<T>& x, const Target& target, CrossEntropyLoss loss) {
    prepare(x.shape());
    const Tensor<std::int64_t> labels = labels_of(target);
    const ops::CrossEntropy whole{labels, loss.reduction};
    whole.output_shape(batched(output_shape, x.dim(0)));  // labels against the batch
    whole.check_labels(batched(output_shape, x.dim(0)));  // before any task runs: positions in the batch
    const auto run = [&](Chain& chain, const Tensor<T>& xs, std::int64_t begin, std::int64_t n, Tensor<T>& value,
                         const Tensor<T>& seed, Tensor<T>& scratch) {
      const ops::CrossEntropy op{n == x.dim(0) ? labels : labels.rows(begin, n), loss.reduction};
      const Tensor<T>& out = chain.forward(xs);
      auto saved = op.forward(out, value, scratch);
      Tensor<T>& g = chain.grad_output();
      g.fill(T(0));
      op.backward(saved, out, value, seed, &g);
      chain.backward(xs, nullptr);
    };
    return step(x, loss.reduction == ops::Reduction::mean, run);
  }
  T value_and_grad(const Tensor<T>& x, const Tensor<T>& target, MseLoss loss) {
    prepare(x.shape());
    ops::MseLoss{loss.reduction}.output_shape(batched(output_shape, x.dim(0)), target.shape());
    const auto run = [&](Chain& chain, const Tensor<T>& xs, std::int64_t begin, std::int64_t n, Tensor<T>& value,
                         const Tensor<T>& seed, Tensor<T>&) {
      const ops::MseLoss op{loss.reduction};
      const Tensor<T> ts = n == x.dim(0) ? target : target.rows(begin, n);
      const Tensor<T>& out = chain.forward(xs);
      auto saved = op.forward(out, ts, value);
      Tensor<T>& g = chain.grad_output();
      g.fill(T(0));
      op.backward(saved, out, ts, value, seed, &g, static_cast<Tensor<T>*>(nullptr));
      chain.backward(xs, nullptr);
    };
    return step(x, loss.reduction == ops::Reduction::mean, run);
  }
  //! Batches of this many samples or more per thread-task (see `value_and_grad`): 2 × this is the
  //! smallest batch that is cut.
  static constexpr std::int64_t samples_per_task = 32;
  //! How many tasks `value_and_grad` cuts a batch of n samples into (1: one pass).
  static constexpr std::int64_t tasks_for(std::int64_t n) { return n >= 2 * samples_per_task ? n / samples_per_task : 1; }
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

  // One task's model: the chain's buffers, the parameters' values shared, gradients of its own.
  struct Replica {
    Chain chain;
    std::vector<Parameter<T>> params;
    Tensor<T> loss = Tensor<T>::empty({}), seed = Tensor<T>::empty({});
    Tensor<T> scratch;  // the loss's state (cross-entropy's probabilities), kept between steps
  };

  // Forward and backward of batch x through `run(chain, x_rows, begin, n, loss, seed, scratch)`, in one
  // pass or in tasks on replicas (see value_and_grad). `mean`: the loss averages over the batch.
  template <class Run>
  T step(const Tensor<T>& x, bool mean, const Run& run) {
    const std::int64_t N = x.dim(0), tasks = tasks_for(N);
    if (tasks == 1) {
      run(chain_, x, 0, N, loss_, seed_, scratch_);
      return loss_.item();
    }
    while (static_cast<std::int64_t>(replicas_.size()) < tasks) {
      auto r = std::make_unique<Replica>();
      SharedValues<T> shared{params_};
      r->chain.create_parameters(shared, r->params);
      replicas_.push_back(std::move(r));
    }
    const auto begin_of = [&](std::int64_t t) { return t * (N / tasks) + std::min(t, N % tasks); };
    for (std::int64_t t = 0; t < tasks; ++t) {  // buffers sized here, outside the parallel region
      Replica& r = *replicas_[static_cast<std::size_t>(t)];
      const std::int64_t n = begin_of(t + 1) - begin_of(t);
      r.chain.resize(n);
      r.seed.fill(mean ? static_cast<T>(n) / static_cast<T>(N) : T(1));
    }
    parallel_tasks(tasks, [&](std::int64_t t) {
      Replica& r = *replicas_[static_cast<std::size_t>(t)];
      const std::int64_t b = begin_of(t), n = begin_of(t + 1) - b;
      for (Parameter<T>& p : r.params) p.zero_grad();
      run(r.chain, x.rows(b, n), b, n, r.loss, r.seed, r.scratch);
    });
    T total = T(0);
    for (std::int64_t t = 0; t < tasks; ++t) {
      const Replica& r = *replicas_[static_cast<std::size_t>(t)];
      const std::int64_t n = begin_of(t + 1) - begin_of(t);
      total += mean ? static_cast<T>(n) / static_cast<T>(N) * r.loss.item() : r.loss.item();
    }
    for (std::size_t i = 0; i < params_.size(); ++i) {
      T* g = params_[i].grad().data();
      parallel_for(0, params_[i].numel(), ops::elementwise_grain, [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t t = 0; t < tasks; ++t) {
          const T* rg = replicas_[static_cast<std::size_t>(t)]->params[i].grad().data();
          for (std::int64_t k = b; k < e; ++k) g[k] += rg[k];
        }
      });
    }
    return total;
  }

  Chain chain_;
  std::vector<Parameter<T>> params_;
  Tensor<T> loss_, seed_, scratch_;
  std::vector<std::unique_ptr<Replica>> replicas_;
};

//! A model of `graph` owning freshly initialised parameters (PyTorch's default initialisation,
//! drawn from `rng` layer by layer).
template <class T, class... Ls>
Model<T, Sequential<Ls...>> instantiate(const Sequential<Ls...>&, Rng& rng) {
  return Model<T, Sequential<Ls...>>(rng);
}

}  // namespace svertka::graph

#endif  // SVERTKA_GRAPH_MODEL_HPP
