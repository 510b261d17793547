#include "support.hpp"

#include "svertka/graph/graph.hpp"

using namespace svtest;
namespace tp = svertka::tape;
namespace gr = svertka::graph;

BOOST_AUTO_TEST_SUITE(graph_model)

namespace {
// every kind of composition: chain, residual, concat (a DAG), nested sequential, activations
constexpr auto dag = gr::sequential(gr::input<6>, gr::linear<8>, gr::relu,
                                    gr::residual(gr::linear<8>, gr::tanh),
                                    gr::concat(gr::linear<3>, gr::sequential(gr::linear<4>, gr::sigmoid)),
                                    gr::linear<3>);
static_assert(gr::output_shape(dag) == sv::shape_c<3>);

template <class Model>
std::vector<sv::Tensor<double>> grads_of(Model& m) {
  std::vector<sv::Tensor<double>> g;
  for (auto& p : m.parameters()) g.push_back(p.grad().clone());
  return g;
}
}  // namespace

BOOST_AUTO_TEST_CASE(parameters_in_layer_order_with_pytorch_init) {
  sv::Rng rng(3);
  auto m = gr::instantiate<double>(dag, rng);
  auto& ps = m.parameters();
  // linear<8> (w, b), residual's linear<8> (w, b), concat: linear<3>, linear<4>, then linear<3>
  const std::vector<sv::Shape> expect = {{8, 6}, {8}, {8, 8}, {8}, {3, 8}, {3}, {4, 8}, {4}, {3, 7}, {3}};
  BOOST_REQUIRE_EQUAL(ps.size(), expect.size());
  for (std::size_t i = 0; i < ps.size(); ++i) {
    BOOST_TEST(ps[i].shape() == expect[i]);
    const double bound = 1 / std::sqrt(static_cast<double>(expect[i & ~std::size_t{1}][1]));  // fan_in of the layer
    double lo = 1, hi = -1;
    for (double v : ps[i].value()) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    BOOST_TEST(lo >= -bound);
    BOOST_TEST(hi <= bound);
    if (ps[i].numel() >= 24) BOOST_TEST(hi - lo > bound);  // actually spread over the interval
  }
  // seeded: the same seed gives the same parameters
  sv::Rng rng2(3);
  auto m2 = gr::instantiate<double>(dag, rng2);
  for (std::size_t i = 0; i < ps.size(); ++i) BOOST_TEST(max_abs_diff(ps[i].value(), m2.parameters()[i].value()) == 0.0);
}

BOOST_AUTO_TEST_CASE(graph_and_tape_give_the_same_gradients) {
  sv::Rng rng(1);
  auto m = gr::instantiate<double>(dag, rng);
  auto x = sv::Tensor<double>::randn({5, 6}, rng);
  const std::vector<std::int64_t> labels = {0, 1, 2, 1, 0};
  const double loss = m.value_and_grad(x, labels, gr::cross_entropy);
  const auto g_graph = grads_of(m);
  m.zero_grad();
  auto lt = tp::cross_entropy(m.forward(tp::constant(x)), labels);
  lt.backward();
  tp::clear();
  BOOST_TEST(loss == lt.value().item());
  for (std::size_t i = 0; i < g_graph.size(); ++i) {
    // the same ops in the same order: identical to the last bit
    BOOST_TEST(max_abs_diff(g_graph[i], m.parameters()[i].grad()) == 0.0);
    double norm = 0;
    for (double v : g_graph[i]) norm += v * v;
    BOOST_TEST(norm > 0.0);  // and not trivially zero
  }
}

BOOST_AUTO_TEST_CASE(graph_gradients_pass_gradcheck) {
  // the model's parameters, perturbed through the tape version of the same model
  sv::Rng rng(2);
  auto m = gr::instantiate<double>(dag, rng);
  auto x = sv::Tensor<double>::randn({4, 6}, rng);
  const std::vector<std::int64_t> labels = {2, 0, 1, 1};
  std::vector<sv::Tensor<double>> inputs;
  for (auto& p : m.parameters()) inputs.push_back(p.value().clone());
  auto f = [&](const std::vector<tp::Var<double>>& v) {
    // the analytic side: parameters of the graph replaced by gradcheck's Vars
    auto h = tp::relu(tp::linear(tp::constant(x), v[0], v[1]));
    h = h + tp::tanh(tp::linear(h, v[2], v[3]));
    h = tp::concat(tp::linear(h, v[4], v[5]), tp::sigmoid(tp::linear(h, v[6], v[7])));
    return tp::cross_entropy(tp::linear(h, v[8], v[9]), labels);
  };
  BOOST_TEST(gradcheck(f, inputs));
  // and the graph's own gradient equals that function's tape gradient at the model's parameters
  m.value_and_grad(x, labels, gr::cross_entropy);
  std::vector<sv::Parameter<double>> ps;
  std::vector<tp::Var<double>> vars;
  for (auto& t : inputs) {
    ps.emplace_back(t.clone());
    vars.push_back(tp::param(ps.back()));
  }
  f(vars).backward();
  tp::clear();
  // (the same ops, but the two paths into h may add in another order: agreement to rounding)
  for (std::size_t i = 0; i < ps.size(); ++i) BOOST_TEST(max_abs_diff(ps[i].grad(), m.parameters()[i].grad()) < 1e-13);
}

BOOST_AUTO_TEST_CASE(mse_loss_and_batch_size_changes) {
  constexpr auto reg = gr::sequential(gr::input<3>, gr::linear<2>);
  sv::Rng rng(4);
  auto m = gr::instantiate<double>(reg, rng);
  for (std::int64_t n : {4, 7, 4}) {
    auto x = sv::Tensor<double>::randn({n, 3}, rng);
    auto y = sv::Tensor<double>::randn({n, 2}, rng);
    m.zero_grad();
    const double l = m.value_and_grad(x, y, gr::mse_loss);
    const auto g = grads_of(m);
    m.zero_grad();
    auto lt = tp::mse_loss(m.forward(tp::constant(x)), tp::constant(y));
    lt.backward();
    tp::clear();
    BOOST_TEST(l == lt.value().item());
    for (std::size_t i = 0; i < g.size(); ++i) BOOST_TEST(max_abs_diff(g[i], m.parameters()[i].grad()) == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(forward_returns_a_fresh_tensor) {
  sv::Rng rng(5);
  auto m = gr::instantiate<float>(dag, rng);
  auto x1 = sv::Tensor<float>::randn({2, 6}, rng), x2 = sv::Tensor<float>::randn({2, 6}, rng);
  auto y1 = m.forward(x1);
  auto y1_copy = y1.clone();
  m.forward(x2);
  BOOST_TEST(max_abs_diff(y1, y1_copy) == 0.0);
  BOOST_TEST(y1.shape() == (sv::Shape{2, 3}));
}

BOOST_AUTO_TEST_CASE(a_repeated_step_makes_no_heap_allocation) {
  sv::Rng rng(7);
  auto m = gr::instantiate<float>(dag, rng);
  auto x = sv::Tensor<float>::randn({16, 6}, rng);
  const auto labels = sv::Tensor<std::int64_t>::from({16}, {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0});
  auto step = [&] {
    const float l = m.value_and_grad(x, labels, gr::cross_entropy);
    for (auto& p : m.parameters()) {
      for (std::int64_t i = 0; i < p.numel(); ++i) p.value().data()[i] -= 0.1f * p.grad().data()[i];
      p.zero_grad();
    }
    return l;
  };
  const float first = step();
  step();
  const auto heap = heap_allocations();
  const auto pool = sv::memory::stats().system_allocations;
  float last = 0;
  for (int i = 0; i < 20; ++i) last = step();
  BOOST_TEST(heap_allocations() - heap == 0u);
  BOOST_TEST(sv::memory::stats().system_allocations - pool == 0u);
  BOOST_TEST(last < first);
}

BOOST_AUTO_TEST_CASE(wrong_input_shape_is_rejected) {
  sv::Rng rng(6);
  auto m = gr::instantiate<float>(dag, rng);
  BOOST_CHECK_EXCEPTION(m.forward(sv::Tensor<float>::zeros({2, 5})), sv::ShapeError,
                        message_has({"graph: input has shape [2,5]", "[N,6]"}));
  BOOST_CHECK_EXCEPTION(m.forward(sv::Tensor<float>::zeros({6})), sv::ShapeError, message_has({"[6]"}));
  BOOST_CHECK_EXCEPTION(m.value_and_grad(sv::Tensor<float>::zeros({2, 6}), std::vector<std::int64_t>{0}, gr::cross_entropy),
                        sv::ShapeError, message_has({"cross_entropy", "1 labels", "batch of 2"}));
}

// ---- batches cut into thread tasks (Model::value_and_grad on N >= 2 x samples_per_task) -----------

namespace {
constexpr auto conv_net = gr::sequential(gr::input<1, 8, 8>, gr::conv2d<3, 3>(gr::pad<1>), gr::relu, gr::max_pool2d<2>,
                                         gr::flatten, gr::linear<5>);
using ConvModel = decltype(gr::instantiate<double>(conv_net, std::declval<sv::Rng&>()));

std::vector<std::int64_t> labels_for(std::int64_t n) {
  std::vector<std::int64_t> l;
  for (std::int64_t i = 0; i < n; ++i) l.push_back((i * 7 + 3) % 5);
  return l;
}
}  // namespace

BOOST_AUTO_TEST_CASE(task_cut_depends_on_the_batch_size_only) {
  static_assert(ConvModel::samples_per_task == 32);
  BOOST_TEST(ConvModel::tasks_for(1) == 1);
  BOOST_TEST(ConvModel::tasks_for(63) == 1);
  BOOST_TEST(ConvModel::tasks_for(64) == 2);
  BOOST_TEST(ConvModel::tasks_for(143) == 4);  // 36, 36, 36, 35
  BOOST_TEST(ConvModel::tasks_for(1000) == 31);
}

// With the sum reduction each task's gradient is what a model with the same values computes for the
// task's rows alone (one pass, from zero gradients); the model adds them in task order. The test
// rebuilds that sum by hand: it must match bit for bit, loss included.
BOOST_AUTO_TEST_CASE(tasks_add_up_to_the_per_task_gradients_bit_for_bit) {
  sv::Rng rng(21);
  auto m = gr::instantiate<double>(conv_net, rng);
  const std::int64_t N = 143;  // 4 tasks of 36, 36, 36, 35 rows
  auto x = sv::Tensor<double>::randn({N, 1, 8, 8}, rng);
  const auto labels = labels_for(N);
  const double loss = m.value_and_grad(x, labels, gr::CrossEntropyLoss{sv::ops::Reduction::sum});
  sv::Rng rng2(21);
  auto single = gr::instantiate<double>(conv_net, rng2);  // the same values
  std::vector<sv::Tensor<double>> sum;
  for (auto& p : single.parameters()) sum.push_back(sv::Tensor<double>::zeros(p.shape()));
  double loss_sum = 0;
  const std::int64_t sizes[] = {36, 36, 36, 35};
  std::int64_t begin = 0;
  for (const std::int64_t n : sizes) {
    single.zero_grad();
    const std::vector<std::int64_t> part(labels.begin() + begin, labels.begin() + begin + n);
    loss_sum += single.value_and_grad(x.rows(begin, n).clone(), part, gr::CrossEntropyLoss{sv::ops::Reduction::sum});
    for (std::size_t i = 0; i < sum.size(); ++i)
      for (std::int64_t k = 0; k < sum[i].numel(); ++k) sum[i].data()[k] += single.parameters()[i].grad().data()[k];
    begin += n;
  }
  BOOST_TEST(std::memcmp(&loss, &loss_sum, sizeof(double)) == 0);
  for (std::size_t i = 0; i < sum.size(); ++i) {
    BOOST_TEST(max_abs_diff(sum[i], m.parameters()[i].grad()) == 0.0, "parameter " << i);
    BOOST_TEST(max_abs_diff(sum[i], sv::Tensor<double>::zeros(sum[i].shape())) > 0.0);
  }
}

// The mean: the same as the tape's one-pass gradient up to the order of the sums over the batch. In
// double those orders differ by a few units of 1e-16 relative to the sums' terms; 1e-12 of the
// largest gradient leaves room for cancellation, while a task counted twice, left out or weighted
// wrongly would be off by a whole task's share (~50% with 2 tasks).
BOOST_AUTO_TEST_CASE(tasks_match_the_tape_and_do_not_depend_on_the_thread_count) {
  const int before = sv::num_threads();
  std::vector<std::vector<sv::Tensor<double>>> runs;
  std::vector<double> losses;
  for (const int threads : {1, 2}) {
    sv::set_num_threads(threads);
    sv::Rng rng(22);
    auto m = gr::instantiate<double>(conv_net, rng);
    auto x = sv::Tensor<double>::randn({64, 1, 8, 8}, rng);
    const auto labels = labels_for(64);
    losses.push_back(m.value_and_grad(x, labels, gr::cross_entropy));
    runs.push_back(grads_of(m));
    m.zero_grad();
    auto lt = tp::cross_entropy(m.forward(tp::constant(x)), labels);
    lt.backward();
    tp::clear();
    BOOST_TEST(std::abs(losses.back() - lt.value().item()) <= 1e-14 * std::abs(lt.value().item()));
    for (std::size_t i = 0; i < runs.back().size(); ++i) {
      const double scale = max_abs_diff(m.parameters()[i].grad(), sv::Tensor<double>::zeros(m.parameters()[i].shape()));
      BOOST_TEST(scale > 0.0);
      BOOST_TEST(max_abs_diff(runs.back()[i], m.parameters()[i].grad()) <= 1e-12 * scale, "parameter " << i);
    }
  }
  sv::set_num_threads(before);
  BOOST_TEST(std::memcmp(&losses[0], &losses[1], sizeof(double)) == 0);
  for (std::size_t i = 0; i < runs[0].size(); ++i) BOOST_TEST(max_abs_diff(runs[0][i], runs[1][i]) == 0.0);
}

BOOST_AUTO_TEST_CASE(tasks_with_the_mse_loss_match_the_tape) {
  constexpr auto reg = gr::sequential(gr::input<3>, gr::linear<4>, gr::tanh, gr::linear<2>);
  sv::Rng rng(23);
  auto m = gr::instantiate<double>(reg, rng);
  auto x = sv::Tensor<double>::randn({70, 3}, rng);  // 2 tasks of 35
  auto y = sv::Tensor<double>::randn({70, 2}, rng);
  const double l = m.value_and_grad(x, y, gr::mse_loss);
  const auto g = grads_of(m);
  m.zero_grad();
  auto lt = tp::mse_loss(m.forward(tp::constant(x)), tp::constant(y));
  lt.backward();
  tp::clear();
  BOOST_TEST(std::abs(l - lt.value().item()) <= 1e-14 * lt.value().item());
  for (std::size_t i = 0; i < g.size(); ++i) {
    const double scale = max_abs_diff(g[i], sv::Tensor<double>::zeros(g[i].shape()));
    BOOST_TEST(scale > 0.0);
    BOOST_TEST(max_abs_diff(g[i], m.parameters()[i].grad()) <= 1e-12 * scale, "parameter " << i);
  }
}

BOOST_AUTO_TEST_CASE(tasks_accumulate_allocate_nothing_and_report_batch_positions) {
  sv::Rng rng(24);
  auto m = gr::instantiate<float>(conv_net, rng);
  auto x = sv::Tensor<float>::randn({64, 1, 8, 8}, rng);
  auto labels = labels_for(64);
  m.value_and_grad(x, labels, gr::cross_entropy);  // two steps size every buffer and saved slot
  m.value_and_grad(x, labels, gr::cross_entropy);
  m.zero_grad();
  m.value_and_grad(x, labels, gr::cross_entropy);
  std::vector<sv::Tensor<float>> once;
  for (auto& p : m.parameters()) once.push_back(p.grad().clone());
  const auto heap = heap_allocations();
  const auto pool = sv::memory::stats().system_allocations;
  m.value_and_grad(x, labels, gr::cross_entropy);  // gradients accumulate: about twice the first
  BOOST_TEST(heap_allocations() - heap == 0u);
  BOOST_TEST(sv::memory::stats().system_allocations - pool == 0u);
  // (once + g0) + g1 against 2 (g0 + g1): float sums of 4 terms in two orders
  for (std::size_t i = 0; i < once.size(); ++i) {
    const double scale = max_abs_diff(once[i], sv::Tensor<float>::zeros(once[i].shape()));
    BOOST_TEST(scale > 0.0);
    BOOST_TEST(max_abs_diff(m.parameters()[i].grad(), sv::Tensor<float>::from(once[i].shape(), [&] {
                              std::vector<float> twice(once[i].begin(), once[i].end());
                              for (float& v : twice) v *= 2.0f;
                              return twice;
                            }())) <= 1e-5 * scale);
  }
  labels[50] = 9;
  BOOST_CHECK_EXCEPTION(m.value_and_grad(x, labels, gr::cross_entropy), sv::OptionError,
                        message_has({"label 9 at position 50", "[64,5]"}));
  BOOST_CHECK_EXCEPTION(m.value_and_grad(x, std::vector<std::int64_t>(40, 0), gr::cross_entropy), sv::ShapeError,
                        message_has({"40 labels for a batch of 64"}));
}

BOOST_AUTO_TEST_SUITE_END()
