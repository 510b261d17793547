// Checkpoints: round trip, refusal of damaged or mismatched files (leaving everything untouched), and a
// resumed fit whose loss curve is bit-identical to an uninterrupted run.
#include "support.hpp"
#include "temp_dir.hpp"

#include <cstring>
#include <filesystem>
#include <vector>

using namespace svtest;
namespace opt = svertka::optim;
namespace tp = svertka::tape;
using sv::io::IoError;

namespace {

//! A two-layer tape model on synthetic data: 40 objects, 6 features, 3 classes.
struct Mlp {
  std::vector<sv::Parameter<double>> params;
  explicit Mlp(std::uint64_t seed) {
    sv::Rng rng(seed);
    params = {sv::Parameter<double>(sv::Tensor<double>::uniform({8, 6}, rng, -0.4, 0.4)),
              sv::Parameter<double>(sv::Tensor<double>::uniform({8}, rng, -0.1, 0.1)),
              sv::Parameter<double>(sv::Tensor<double>::uniform({3, 8}, rng, -0.4, 0.4)),
              sv::Parameter<double>(sv::Tensor<double>::zeros({3}))};
  }
  double step(const sv::data::Batch<double>& b) const {
    auto h = tp::tanh(tp::linear(tp::constant(b.images.reshape({b.size(), 6})), tp::param(params[0]), tp::param(params[1])));
    auto loss = tp::cross_entropy(tp::linear(h, tp::param(params[2]), tp::param(params[3])), b.labels);
    loss.backward();
    const double v = loss.value().item();
    tp::clear();
    return v;
  }
  std::vector<double> flat() const {
    std::vector<double> out;
    for (const auto& p : params) out.insert(out.end(), p.value().begin(), p.value().end());
    return out;
  }
};

sv::data::Dataset synthetic() {
  sv::Rng rng(77);
  sv::data::Dataset d{sv::Tensor<float>::uniform({40, 1, 2, 3}, rng, -1, 1), sv::Tensor<std::int64_t>::empty({40})};
  for (std::int64_t i = 0; i < 40; ++i) {
    const float* x = d.images.data() + 6 * i;
    d.labels(i) = x[0] + x[1] > 0.3f ? 0 : x[2] - x[3] > 0 ? 1 : 2;
  }
  return d;
}

using Optimizer = opt::Adam<opt::StepDecay>;
Optimizer make_optimizer() { return Optimizer{opt::StepDecay{.eta0 = 0.05, .step_size = 2, .gamma = 0.5}, {.unit = opt::ScheduleUnit::epoch}}; }
sv::data::Batcher<double> make_batches() { return {synthetic(), {.batch_size = 7, .seed = 9}}; }  // 6 batches, the last of 5

//! Records every step's loss.
struct LossLog {
  std::vector<double>* out;
  void on_step_end(auto& ctx) { out->push_back(ctx.loss); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(io_checkpoint)

BOOST_AUTO_TEST_CASE(round_trip_restores_parameters_optimizer_and_sampler) {
  TempDir dir;
  Mlp model(1);
  auto adam = make_optimizer();
  auto batches = make_batches();
  for (int s = 0; s < 8; ++s) {
    for (auto& p : model.params) p.zero_grad();
    model.step(batches.next());
    adam.step(model.params);
  }
  sv::io::save_checkpoint(dir / "c.npz", model.params, adam, batches, {.names = {"w1", "b1", "w2", "b2"}});
  BOOST_TEST(!std::filesystem::exists(dir / "c.npz.tmp"));

  Mlp other(2);
  auto adam2 = make_optimizer();
  auto batches2 = make_batches();
  sv::io::load_checkpoint(dir / "c.npz", other.params, adam2, batches2, {.names = {"w1", "b1", "w2", "b2"}});
  BOOST_TEST(other.flat() == model.flat());
  BOOST_TEST(adam2.steps() == 8);
  BOOST_TEST(batches2.epoch() == 2);
  BOOST_TEST(batches2.position() == 2);
  // both continue identically
  for (int s = 0; s < 10; ++s) {
    const auto b1 = batches.next(), b2 = batches2.next();
    BOOST_TEST_REQUIRE(std::vector<std::int64_t>(b1.indices.begin(), b1.indices.end()) ==
                       std::vector<std::int64_t>(b2.indices.begin(), b2.indices.end()));
    for (auto& p : model.params) p.zero_grad();
    for (auto& p : other.params) p.zero_grad();
    BOOST_TEST_REQUIRE(model.step(b1) == other.step(b2));
    adam.step(model.params);
    adam2.step(other.params);
  }
  BOOST_TEST(other.flat() == model.flat());
  // numpy's keys
  const auto d = sv::io::load_npz(dir / "c.npz");
  for (const char* key : {"svertka_checkpoint", "params/w1", "params/b2", "optimizer/step", "optimizer/exp_avg/3",
                          "optimizer/exp_avg_sq/0", "sampler/seed", "sampler/epoch", "sampler/position"})
    BOOST_TEST(d.contains(key), key);
}

BOOST_AUTO_TEST_CASE(damaged_or_mismatched_checkpoints_change_nothing) {
  TempDir dir;
  Mlp model(1);
  auto adam = make_optimizer();
  auto batches = make_batches();
  for (auto& p : model.params) p.zero_grad();
  model.step(batches.next());
  adam.step(model.params);
  sv::io::save_checkpoint(dir / "c.npz", model.params, adam, batches);
  const std::string good = read_bytes(dir / "c.npz");

  Mlp target(5);
  auto adam_t = make_optimizer();
  auto batches_t = make_batches();
  const auto before = target.flat();
  auto untouched = [&] {
    BOOST_TEST(target.flat() == before);
    BOOST_TEST(adam_t.steps() == 0);
    BOOST_TEST(batches_t.epoch() == 0);
  };

  write_bytes(dir / "cut.npz", good.substr(0, good.size() * 2 / 3));
  BOOST_CHECK_EXCEPTION(sv::io::load_checkpoint(dir / "cut.npz", target.params, adam_t, batches_t), IoError,
                        message_has({"cut.npz", "truncated"}));
  untouched();

  std::string crc = good;
  crc[good.size() / 3] ^= 1;
  write_bytes(dir / "crc.npz", crc);
  BOOST_CHECK_THROW(sv::io::load_checkpoint(dir / "crc.npz", target.params, adam_t, batches_t), IoError);
  untouched();

  BOOST_CHECK_EXCEPTION(sv::io::load_checkpoint(dir / "c.npz", target.params, adam_t, batches_t,
                                                {.names = {"w1", "b1", "w2", "b2"}}),
                        IoError, message_has({"c.npz", "entry 'params/w1' is missing"}));
  untouched();

  std::vector<sv::Parameter<double>> wrong = target.params;
  wrong[2] = sv::Parameter<double>(sv::Tensor<double>::zeros({4, 8}));
  BOOST_CHECK_EXCEPTION(sv::io::load_checkpoint(dir / "c.npz", wrong, adam_t, batches_t), IoError,
                        message_has({"c.npz", "params/2", "shape [3,8]", "[4,8]"}));
  untouched();

  std::vector<sv::Parameter<double>> fewer(target.params.begin(), target.params.begin() + 3);
  BOOST_CHECK_EXCEPTION(sv::io::load_checkpoint(dir / "c.npz", fewer, adam_t, batches_t), IoError,
                        message_has({"holds 4 parameters but 3 were given"}));
  untouched();

  std::vector<sv::Parameter<float>> floats;
  for (const auto& p : target.params) floats.emplace_back(sv::Tensor<float>::zeros(p.shape()));
  opt::Adam<opt::StepDecay> adam_f = make_optimizer();
  BOOST_CHECK_EXCEPTION(sv::io::load_checkpoint(dir / "c.npz", floats, adam_f, batches_t), IoError,
                        message_has({"params/0", "holds float64 but float32"}));

  opt::Momentum<opt::StepDecay> momentum{opt::StepDecay{.eta0 = 0.1, .step_size = 1}};
  BOOST_CHECK_EXCEPTION(sv::io::load_checkpoint(dir / "c.npz", target.params, momentum, batches_t), IoError,
                        message_has({"c.npz", "saved by Adam, not Momentum"}));
  untouched();

  sv::data::Batcher<double> other_batches{synthetic(), {.batch_size = 8, .seed = 9}};
  BOOST_CHECK_EXCEPTION(sv::io::load_checkpoint(dir / "c.npz", target.params, adam_t, other_batches), IoError,
                        message_has({"BatchSampler", "batches of 7", "batches of 8"}));
  untouched();
  BOOST_CHECK_EXCEPTION(sv::io::load_checkpoint(dir / "none.npz", target.params, adam_t, batches_t), IoError,
                        message_has({"none.npz", "cannot be opened"}));
  untouched();
}

BOOST_AUTO_TEST_CASE(resumed_fit_is_bit_identical_to_an_uninterrupted_run) {
  TempDir dir;
  auto run = [&](Mlp& model, Optimizer& adam, sv::data::Batcher<double>& batches, std::int64_t epochs,
                 std::vector<double>& losses, opt::Checkpoint ckpt) {
    return opt::fit(model.params, adam, batches, [&](const sv::data::Batch<double>& b) { return model.step(b); },
                    opt::no_evaluation, {.epochs = epochs}, LossLog{&losses}, ckpt);
  };
  // uninterrupted: 5 epochs
  std::vector<double> full;
  Mlp a(1);
  auto adam_a = make_optimizer();
  auto batches_a = make_batches();
  run(a, adam_a, batches_a, 5, full, {.path = dir / "unused.npz", .every = 100});
  BOOST_REQUIRE(full.size() == 30u);

  // interrupted after epoch 2 (the process "dies"), then resumed by brand-new objects
  std::vector<double> part;
  {
    Mlp b(1);
    auto adam_b = make_optimizer();
    auto batches_b = make_batches();
    run(b, adam_b, batches_b, 2, part, {.path = dir / "ckpt.npz", .every = 1});
  }
  Mlp c(12345);  // another initialisation: the checkpoint overwrites it
  auto adam_c = make_optimizer();
  auto batches_c = make_batches();
  const auto r = run(c, adam_c, batches_c, 5, part, {.path = dir / "ckpt.npz", .every = 1, .resume = true});
  BOOST_TEST(r.history.front().epoch == 3);
  BOOST_TEST(r.steps == 30);
  BOOST_REQUIRE(part.size() == full.size());
  for (std::size_t i = 0; i < full.size(); ++i)
    BOOST_TEST_REQUIRE(std::memcmp(&part[i], &full[i], sizeof(double)) == 0, "step " << i << ": " << part[i] << " vs " << full[i]);
  BOOST_TEST(c.flat() == a.flat());
  BOOST_TEST(adam_c.last_eta() == adam_a.last_eta());

  // resuming a finished run does nothing
  std::vector<double> none;
  const auto again = run(c, adam_c, batches_c, 5, none, {.path = dir / "ckpt.npz", .resume = true});
  BOOST_TEST(none.empty());
  BOOST_TEST(again.epochs == 5);
}

BOOST_AUTO_TEST_SUITE_END()
