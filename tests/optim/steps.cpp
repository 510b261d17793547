// An optimizer step allocates nothing once its state exists, and gives the same bits at 1 and 2 threads.
#include "support.hpp"

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

BOOST_AUTO_TEST_SUITE_END()
