// An optimizer step allocates nothing once its state exists, gives the same bits at 1 and 2 threads,
// and step_and_zero_grad is step followed by zero_grad.
#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

using namespace svtest;
namespace opt = svertka::optim;

namespace {

//! Two float parameters, one large enough to be split into several chunks, with fixed gradients.
std::vector<sv::Parameter<float>> make_params() {
  sv::Rng rng(3);
  std::vector<sv::Parameter<float>> ps{sv::Parameter<float>(sv::Tensor<float>::randn({300, 700}, rng)),
                                       sv::Parameter<float>(sv::Tensor<float>::randn({13}, rng))};
  for (auto& p : ps)
    for (std::int64_t i = 0; i < p.numel(); ++i) p.grad().data()[i] = static_cast<float>(std::sin(0.001 * static_cast<double>(i)));
  return ps;
}

template <class O>
std::pair<std::vector<float>, double> run_at(int threads, O o) {
  const int before = sv::num_threads();
  sv::set_num_threads(threads);
  auto ps = make_params();
  for (int s = 0; s < 5; ++s) o.step(ps);
  sv::set_num_threads(before);
  return {std::vector<float>(ps[0].value().begin(), ps[0].value().end()), o.last_step_norm()};
}

template <class O>
void check_steps_allocate_nothing(O o) {
  auto ps = make_params();
  o.step(ps);  // the first step allocates the state
  const auto heap = heap_allocations();
  const auto pool = sv::memory::stats().system_allocations;
  for (int s = 0; s < 10; ++s) o.step(ps);
  BOOST_TEST(heap_allocations() - heap == 0u, o.name());
  BOOST_TEST(sv::memory::stats().system_allocations - pool == 0u, o.name());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(optim_steps)

BOOST_AUTO_TEST_CASE(a_step_allocates_nothing_after_the_first) {
  check_steps_allocate_nothing(opt::SGD{opt::InversePower{}});
  check_steps_allocate_nothing(opt::GD{opt::Constant{0.1}, opt::StopWhenStepBelow{1e-9}});
  check_steps_allocate_nothing(opt::Momentum{0.1});
  check_steps_allocate_nothing(opt::Nesterov{opt::Cosine{.eta_max = 0.1, .period = 5}});
  check_steps_allocate_nothing(opt::Adam{opt::Warmup{.warmup_steps = 3, .after = opt::Constant{1e-3}}});
  check_steps_allocate_nothing(opt::AdamW{opt::OnPlateau(1e-3)});
}

BOOST_AUTO_TEST_CASE(same_bits_at_one_and_two_threads) {
  const auto [adam1, norm1] = run_at(1, opt::Adam{1e-2, {.weight_decay = 0.01}});
  const auto [adam2, norm2] = run_at(2, opt::Adam{1e-2, {.weight_decay = 0.01}});
  BOOST_TEST(std::memcmp(adam1.data(), adam2.data(), adam1.size() * sizeof(float)) == 0);
  BOOST_TEST(std::memcmp(&norm1, &norm2, sizeof(double)) == 0);  // the step norm is summed in chunk order
  const auto [m1, n1] = run_at(1, opt::Nesterov{0.05});
  const auto [m2, n2] = run_at(2, opt::Nesterov{0.05});
  BOOST_TEST(std::memcmp(m1.data(), m2.data(), m1.size() * sizeof(float)) == 0);
  BOOST_TEST(std::memcmp(&n1, &n2, sizeof(double)) == 0);
}

// Two steps each: `step` then zero_grad then fresh gradients, against the fused call. Weights, state
// (through a third step's result) and step norms must be identical; the gradients zero after the call.
template <class O>
void check_fused_zero_grad(O o) {
  O fused = o;
  auto a = make_params(), b = make_params();
  const auto refill = [](std::vector<sv::Parameter<float>>& ps, int s) {
    for (auto& p : ps)
      for (std::int64_t i = 0; i < p.numel(); ++i) p.grad().data()[i] += static_cast<float>(std::cos(0.003 * static_cast<double>(i + s)));
  };
  for (int s = 0; s < 3; ++s) {
    o.step(a);
    for (auto& p : a) p.zero_grad();
    fused.step_and_zero_grad(b);
    for (std::size_t i = 0; i < a.size(); ++i) {
      BOOST_TEST(std::memcmp(a[i].value().data(), b[i].value().data(), static_cast<std::size_t>(a[i].numel()) * sizeof(float)) == 0,
                 o.name() << " step " << s << " parameter " << i);
      const auto nonzero = std::count_if(b[i].grad().begin(), b[i].grad().end(), [](float g) { return g != 0.0f; });
      BOOST_TEST(nonzero == 0, o.name() << " step " << s << " parameter " << i);
    }
    const double norm = o.last_step_norm(), fused_norm = fused.last_step_norm();
    BOOST_TEST(std::memcmp(&norm, &fused_norm, sizeof(double)) == 0);
    BOOST_TEST(norm > 0.0);
    BOOST_TEST(o.steps() == fused.steps());
    refill(a, s);
    refill(b, s);
  }
}

BOOST_AUTO_TEST_CASE(step_and_zero_grad_is_step_then_zero_grad) {
  check_fused_zero_grad(opt::SGD{0.05, {.weight_decay = 0.01}});
  check_fused_zero_grad(opt::Momentum{0.05});
  check_fused_zero_grad(opt::Adam{1e-2});
}

BOOST_AUTO_TEST_SUITE_END()
