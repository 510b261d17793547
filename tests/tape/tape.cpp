#include "support.hpp"

#include <thread>

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(tape_semantics)

BOOST_AUTO_TEST_CASE(gradients_accumulate_until_zeroed) {
  sv::Parameter<double> p(sv::Tensor<double>::from({2}, {1.0, 2.0}));
  for (int step = 1; step <= 3; ++step) {
    tp::sum(tp::param(p) * 3.0).backward();
    tp::clear();
    BOOST_TEST(p.grad()(0) == 3.0 * step);
  }
  p.zero_grad();
  BOOST_TEST(p.grad()(1) == 0.0);
}

BOOST_AUTO_TEST_CASE(reuse_in_two_branches_adds_gradients) {
  sv::Parameter<double> p(sv::Tensor<double>::from({1}, {3.0}));
  auto x = tp::param(p);
  auto y = x * x + tp::exp(x);  // dy/dx = 2x + eˣ
  tp::sum(y).backward();
  BOOST_TEST(p.grad()(0) == 6.0 + std::exp(3.0), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(x.grad()(0) == p.grad()(0));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(interior_gradients_are_readable) {
  sv::Parameter<double> p(sv::Tensor<double>::from({2}, {1.0, -2.0}));
  auto h = tp::param(p) * 2.0;
  auto l = tp::sum(tp::square(h));  // dl/dh = 2h
  l.backward();
  BOOST_TEST(h.grad()(0) == 4.0);
  BOOST_TEST(h.grad()(1) == -8.0);
  BOOST_TEST(l.value().item() == 20.0);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(explicit_seed) {
  sv::Parameter<double> p(sv::Tensor<double>::from({3}, {1.0, 2.0, 3.0}));
  auto y = tp::param(p) * tp::param(p);  // dy_i/dp_i = 2 p_i
  y.backward(sv::Tensor<double>::from({3}, {1.0, 0.0, -1.0}));
  BOOST_TEST(p.grad()(0) == 2.0);
  BOOST_TEST(p.grad()(1) == 0.0);
  BOOST_TEST(p.grad()(2) == -6.0);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(a_seed_is_copied_into_an_op_and_added_into_a_parameter) {
  // an op output: its gradient starts as a copy of the seed, so the caller's seed is left alone and
  // a second backward (retain_graph) starts again from the seed
  sv::Parameter<double> p(sv::Tensor<double>::from({2}, {1.0, 2.0}));
  auto seed = sv::Tensor<double>::from({2}, {1.0, 10.0});
  auto y = tp::param(p) * 3.0;
  y.backward(seed, {.retain_graph = true});
  y.backward(seed);
  BOOST_TEST(seed(0) == 1.0);
  BOOST_TEST(seed(1) == 10.0);
  BOOST_TEST(p.grad()(0) == 6.0);
  BOOST_TEST(p.grad()(1) == 60.0);
  tp::clear();
  // a parameter itself: the seed adds into its gradient, which already holds 6 and 60
  tp::param(p).backward(seed);
  BOOST_TEST(p.grad()(0) == 7.0);
  BOOST_TEST(p.grad()(1) == 70.0);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(no_grad_records_nothing) {
  sv::Parameter<double> p(sv::Tensor<double>::from({2}, {1.0, 2.0}));
  const auto before = tp::Tape::current().size();
  {
    tp::NoGrad guard;
    auto y = tp::sum(tp::param(p) * 2.0);
    BOOST_TEST(!y.requires_grad());
    BOOST_TEST(y.value().item() == 6.0);
    y.backward();  // nothing needs a gradient: a no-op
  }
  BOOST_TEST(p.grad()(0) == 0.0);
  BOOST_TEST(tp::Tape::current().grad_enabled());
  auto z = tp::sum(tp::param(p));
  BOOST_TEST(z.requires_grad());
  BOOST_TEST(tp::Tape::current().size() > before);
  tp::clear();
}

BOOST_AUTO_TEST_CASE(backward_twice_on_a_freed_graph) {
  sv::Parameter<double> p(sv::Tensor<double>::from({2}, {1.0, 2.0}));
  auto l = tp::sum(tp::exp(tp::param(p)));
  l.backward();
  BOOST_CHECK_EXCEPTION(l.backward(), sv::OptionError, message_has({"backward", "freed", "retain_graph"}));
  tp::clear();
  // with retain_graph the second pass adds the same gradient again
  p.zero_grad();
  auto l2 = tp::sum(tp::exp(tp::param(p)));
  l2.backward({.retain_graph = true});
  l2.backward();
  BOOST_TEST(p.grad()(0) == 2 * std::exp(1.0), boost::test_tools::tolerance(1e-15));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(var_after_clear) {
  sv::Parameter<double> p(sv::Tensor<double>::from({2}, {1.0, 2.0}));
  auto y = tp::param(p) * 2.0;
  auto l = tp::sum(y);
  tp::clear();
  BOOST_TEST(y.value()(1) == 4.0);  // values stay readable
  BOOST_CHECK_EXCEPTION(l.backward(), sv::OptionError, message_has({"backward", "cleared"}));
  BOOST_CHECK_EXCEPTION(tp::exp(y), sv::OptionError, message_has({"exp", "cleared"}));
  BOOST_CHECK_EXCEPTION(y.grad(), sv::OptionError, message_has({"grad", "cleared"}));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(non_scalar_backward_needs_a_seed) {
  sv::Parameter<double> p(sv::Tensor<double>::zeros({2, 3}));
  auto y = tp::param(p) + 1.0;
  BOOST_CHECK_EXCEPTION(y.backward(), sv::OptionError, message_has({"backward", "[2,3]", "seed"}));
  BOOST_CHECK_EXCEPTION(y.backward(sv::Tensor<double>::zeros({3, 2})), sv::ShapeError,
                        message_has({"backward", "seed", "[3,2]", "[2,3]"}));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(vars_of_another_thread_are_refused) {
  tp::Var<double> foreign;
  std::thread([&] { foreign = tp::constant(sv::Tensor<double>::ones({2})); }).join();
  auto mine = tp::constant(sv::Tensor<double>::ones({2}));
  BOOST_CHECK_EXCEPTION(mine + foreign, sv::OptionError, message_has({"add", "another thread"}));
  BOOST_CHECK_EXCEPTION(tp::Var<double>{}.backward(), sv::OptionError, message_has({"empty"}));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(each_thread_records_on_its_own_tape) {
  sv::Parameter<double> p1(sv::Tensor<double>::from({1}, {2.0}));
  sv::Parameter<double> p2(sv::Tensor<double>::from({1}, {5.0}));
  auto work = [](sv::Parameter<double>& p) {
    for (int i = 0; i < 100; ++i) {
      tp::sum(tp::square(tp::param(p))).backward();
      tp::clear();
    }
  };
  std::thread t1(work, std::ref(p1)), t2(work, std::ref(p2));
  t1.join();
  t2.join();
  BOOST_TEST(p1.grad()(0) == 400.0);
  BOOST_TEST(p2.grad()(0) == 1000.0);
}

BOOST_AUTO_TEST_SUITE_END()
