// After the first training step, a step allocates nothing from the heap: tensors come from the
// memory pool's cache and nodes from the tape's arena. The counting operator new of
// tests/alloc_counter.cpp proves it, together with the pool's own count of system allocations.
#include "support.hpp"


using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(tape_memory)

BOOST_AUTO_TEST_CASE(a_repeated_training_step_makes_no_heap_allocation) {
  sv::Rng rng(1);
  sv::Parameter<float> w1(sv::Tensor<float>::randn({32, 20}, rng, 0, 0.1)), b1(sv::Tensor<float>::zeros({32}));
  sv::Parameter<float> w2(sv::Tensor<float>::randn({5, 32}, rng, 0, 0.1)), b2(sv::Tensor<float>::zeros({5}));
  const auto x = sv::Tensor<float>::randn({16, 20}, rng);
  const auto labels = sv::Tensor<std::int64_t>::from({16}, {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0});
  sv::Parameter<float>* params[] = {&w1, &b1, &w2, &b2};

  auto step = [&] {
    auto h = tp::relu(tp::linear(tp::constant(x), tp::param(w1), tp::param(b1)));
    auto loss = tp::cross_entropy(tp::linear(h, tp::param(w2), tp::param(b2)), labels);
    loss.backward();
    for (auto* p : params) {  // plain SGD, in place
      float* v = p->value().data();
      const float* g = p->grad().data();
      for (std::int64_t i = 0; i < p->numel(); ++i) v[i] -= 0.1f * g[i];
      p->zero_grad();
    }
    const float l = loss.value().item();
    tp::clear();
    return l;
  };

  const float first = step();
  step();
  const auto heap_before = heap_allocations();
  const auto pool_before = sv::memory::stats().system_allocations;
  float last = 0;
  for (int i = 0; i < 20; ++i) last = step();
  BOOST_TEST(heap_allocations() - heap_before == 0u);
  BOOST_TEST(sv::memory::stats().system_allocations - pool_before == 0u);
  BOOST_TEST(last < first);  // and the steps did train

  // the hook itself works: a vector allocates
  const auto probe = heap_allocations();
  std::vector<int> v(100);
  BOOST_TEST(heap_allocations() > probe);
}

BOOST_AUTO_TEST_SUITE_END()
