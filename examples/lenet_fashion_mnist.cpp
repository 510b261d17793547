// LeNet-5 on Fashion-MNIST: the project's main job.
//
//   conv 6@5×5 pad 2 → ReLU → max-pool 2 → conv 16@5×5 → ReLU → max-pool 2 → flatten
//   → linear 120 → ReLU → linear 84 → ReLU → linear 10, softmax cross-entropy
//
// On the compile-time graph by default (`--engine tape` records the same model on the tape). Reads
// Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), a folder given with --data, or
// else the 1000 + 1000 image subset shipped in tests/data. Prints one line per epoch:
//   epoch 3 train_s=1.23 test_acc=0.8712 loss=0.3511 lr=0.0719
//
// Options: --epochs N --batch B --lr η --schedule constant|invpower|cosine|step --optimizer
// sgd|momentum|nesterov|adam|adamw --threads T --data DIR --seed S --checkpoint FILE --engine graph|tape
// --limit N (train on the first N images only). The PyTorch reference script's settings are
// `--optimizer sgd --lr 0.1 --schedule invpower --batch 64` (η = 0.1 / epoch^0.3).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "svertka/svertka.hpp"

namespace sv = svertka;
namespace gr = svertka::graph;
namespace tp = svertka::tape;

namespace {

constexpr auto lenet = gr::sequential(gr::input<1, 28, 28>, gr::conv2d<6, 5>(gr::pad<2>), gr::relu, gr::max_pool2d<2>,
                                      gr::conv2d<16, 5>(), gr::relu, gr::max_pool2d<2>, gr::flatten, gr::linear<120>,
                                      gr::relu, gr::linear<84>, gr::relu, gr::linear<10>);
static_assert(gr::output_shape(lenet) == sv::shape_c<10>);
static_assert(gr::receptive_field(gr::sequential(gr::input<1, 28, 28>, gr::conv2d<6, 5>(gr::pad<2>), gr::max_pool2d<2>,
                                                 gr::conv2d<16, 5>(), gr::max_pool2d<2>))
                  .size == 16);

struct Options {
  int epochs = 10;
  std::int64_t batch = 64;
  double lr = -1;  // default per optimizer
  std::string schedule = "cosine";
  std::string optimizer = "nesterov";
  int threads = 2;
  std::string data;
  std::uint64_t seed = 1;
  std::string checkpoint;
  std::string engine = "graph";
  std::int64_t limit = 0;
};

constexpr const char* help_text =
    "usage: lenet_fashion_mnist [options]\n"
    "  --epochs N          epochs to train (default 10)\n"
    "  --batch B           minibatch size (default 64)\n"
    "  --lr ETA            base step size (default: 0.05 for nesterov/momentum, 0.1 sgd, 1e-3 adam/adamw)\n"
    "  --schedule S        constant | invpower (eta/epoch^0.3) | cosine | step (default cosine)\n"
    "  --optimizer O       sgd | momentum | nesterov | adam | adamw (default nesterov)\n"
    "  --threads T         OpenMP threads (default 2)\n"
    "  --data DIR          folder with the four Fashion-MNIST IDX files (.gz or plain)\n"
    "  --seed S            seed of initialisation and shuffling (default 1)\n"
    "  --checkpoint FILE   save a checkpoint after every epoch; resume from it when it exists\n"
    "  --engine E          graph (compile-time graph, default) | tape\n"
    "  --limit N           train on the first N images only\n"
    "  --help              this text\n";

[[noreturn]] void usage(const std::string& why) {
  fmt::print(stderr, "lenet_fashion_mnist: {}\n{}", why, help_text);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(fmt::format("{} needs a value", a));
      return argv[++i];
    };
    try {
      if (a == "--help" || a == "-h") {
        fmt::print("{}", help_text);
        std::exit(0);
      }
      if (a == "--epochs") o.epochs = std::stoi(value());
      else if (a == "--batch") o.batch = std::stoll(value());
      else if (a == "--lr") o.lr = std::stod(value());
      else if (a == "--schedule") o.schedule = value();
      else if (a == "--optimizer") o.optimizer = value();
      else if (a == "--threads") o.threads = std::stoi(value());
      else if (a == "--data") o.data = value();
      else if (a == "--seed") o.seed = std::stoull(value());
      else if (a == "--checkpoint") o.checkpoint = value();
      else if (a == "--engine") o.engine = value();
      else if (a == "--limit") o.limit = std::stoll(value());
      else usage(fmt::format("unknown option {}", a));
    } catch (const std::logic_error&) {
      usage(fmt::format("bad value for {}", a));
    }
  }
  if (o.epochs < 1 || o.batch < 1 || o.threads < 1) usage("--epochs, --batch and --threads must be >= 1");
  if (o.engine != "graph" && o.engine != "tape") usage("--engine is graph or tape");
  return o;
}

// A schedule chosen at run time (satisfies sv::optim::Schedule).
struct AnySchedule {
  std::function<double(std::int64_t)> f;
  double operator()(std::int64_t t) const { return f(t); }
};

AnySchedule make_schedule(const Options& o, double lr) {
  if (o.schedule == "constant") return {sv::optim::Constant{lr}};
  if (o.schedule == "invpower") return {sv::optim::InversePower{.eta0 = lr, .power = 0.3}};
  if (o.schedule == "cosine") return {sv::optim::Cosine{.eta_max = lr, .period = o.epochs, .eta_min = lr / 100}};
  if (o.schedule == "step") return {sv::optim::StepDecay{.eta0 = lr, .step_size = std::max(1, o.epochs / 3), .gamma = 0.1}};
  usage(fmt::format("unknown schedule '{}' (constant, invpower, cosine, step)", o.schedule));
}

std::filesystem::path find_data(const Options& o) {
  if (!o.data.empty()) return o.data;
  if (sv::data::has_fashion_mnist()) return sv::data::default_fashion_mnist_dir();
  for (const char* candidate : {SVERTKA_SOURCE_DIR "/tests/data/fashion-mnist-subset", "tests/data/fashion-mnist-subset"})
    if (sv::data::has_fashion_mnist(candidate)) return candidate;
  usage("no Fashion-MNIST found: install dataset-fashion-mnist or pass --data DIR");
}

template <class Model>
sv::optim::Metrics evaluate(Model& model, const sv::data::Dataset& test) {
  const std::int64_t n = test.size(), chunk = 1000;
  std::int64_t correct = 0;
  double loss = 0;
  for (std::int64_t b = 0; b < n; b += chunk) {
    const std::int64_t m = std::min(chunk, n - b);
    std::vector<std::int64_t> idx(static_cast<std::size_t>(m));
    for (std::int64_t i = 0; i < m; ++i) idx[static_cast<std::size_t>(i)] = b + i;
    const auto batch = sv::data::gather<float>(test, idx);
    const auto logits = model.forward(batch.images);
    {
      sv::tape::NoGrad no_grad;
      loss += tp::cross_entropy(tp::constant(logits), batch.labels, sv::Reduction::sum).value().item();
      tp::clear();
    }
    for (std::int64_t i = 0; i < m; ++i) {
      std::int64_t best = 0;
      for (std::int64_t c = 1; c < 10; ++c)
        if (logits(i, c) > logits(i, best)) best = c;
      correct += best == batch.labels(i);
    }
  }
  return {.loss = loss / static_cast<double>(n), .accuracy = static_cast<double>(correct) / static_cast<double>(n)};
}

// One line per epoch, in the reference script's form.
struct EpochLine {
  template <class Ctx>
  bool on_epoch_end(Ctx& ctx) {
    fmt::print("epoch {} train_s={:.2f} test_acc={:.4f} loss={:.4f} lr={:.4f}\n", ctx.epoch, ctx.epoch_seconds,
               ctx.test.accuracy, ctx.train_loss, ctx.eta);
    std::fflush(stdout);
    return false;
  }
};

template <class Opt>
int train(const Options& o, Opt opt) {
  const auto dir = find_data(o);
  auto data = sv::data::fashion_mnist(dir);
  if (o.limit > 0 && o.limit < data.train.size()) {
    std::vector<std::int64_t> idx(static_cast<std::size_t>(o.limit));
    for (std::int64_t i = 0; i < o.limit; ++i) idx[static_cast<std::size_t>(i)] = i;
    auto sub = sv::data::gather<float>(data.train, idx);
    data.train.images = sub.images;
    data.train.labels = sub.labels;
  }
  fmt::print("data: {} ({} train, {} test images), engine: {}, threads: {}\n", dir.string(), data.train.size(),
             data.test.size(), o.engine, o.threads);
  sv::Rng rng(o.seed);
  auto model = gr::instantiate<float>(lenet, rng);
  sv::data::Batcher<float> train_batches{data.train, {.batch_size = o.batch, .seed = o.seed}};

  std::function<double(const sv::data::Batch<float>&)> step;
  if (o.engine == "graph") {
    step = [&](const sv::data::Batch<float>& b) { return static_cast<double>(model.value_and_grad(b.images, b.labels, gr::cross_entropy)); };
  } else {
    step = [&](const sv::data::Batch<float>& b) {
      auto loss = tp::cross_entropy(model.forward(tp::constant(b.images)), b.labels);
      loss.backward();
      const double l = loss.value().item();
      tp::clear();
      return l;
    };
  }
  auto eval = [&] { return evaluate(model, data.test); };
  sv::optim::FitResult result;
  if (o.checkpoint.empty()) {
    result = sv::optim::fit(model.parameters(), opt, train_batches, step, eval, {.epochs = o.epochs}, EpochLine{});
  } else {
    result = sv::optim::fit(model.parameters(), opt, train_batches, step, eval, {.epochs = o.epochs}, EpochLine{},
                            sv::optim::Checkpoint{.path = o.checkpoint, .every = 1, .resume = true});
  }
  fmt::print("stopped: {}\n", result.stop_reason);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  sv::set_num_threads(o.threads);
  try {
    const auto unit = sv::optim::ScheduleUnit::epoch;
    if (o.optimizer == "sgd") return train(o, sv::optim::SGD{make_schedule(o, o.lr > 0 ? o.lr : 0.1), {.unit = unit}});
    if (o.optimizer == "momentum")
      return train(o, sv::optim::Momentum{make_schedule(o, o.lr > 0 ? o.lr : 0.05), {.momentum = 0.9, .unit = unit}});
    if (o.optimizer == "nesterov")
      return train(o, sv::optim::Nesterov{make_schedule(o, o.lr > 0 ? o.lr : 0.05), {.momentum = 0.9, .unit = unit}});
    if (o.optimizer == "adam") return train(o, sv::optim::Adam{make_schedule(o, o.lr > 0 ? o.lr : 1e-3), {.unit = unit}});
    if (o.optimizer == "adamw") return train(o, sv::optim::AdamW{make_schedule(o, o.lr > 0 ? o.lr : 1e-3), {.unit = unit}});
    usage(fmt::format("unknown optimizer '{}' (sgd, momentum, nesterov, adam, adamw)", o.optimizer));
  } catch (const std::exception& e) {
    fmt::print(stderr, "lenet_fashion_mnist: {}\n", e.what());
    return 1;
  }
}
