#include "support.hpp"

#include <cmath>

using namespace svtest;
namespace tp = svertka::tape;

BOOST_AUTO_TEST_SUITE(ops_cross_entropy)

double naive_ce(const sv::Tensor<double>& x, const std::vector<std::int64_t>& labels) {
  double total = 0;
  for (std::int64_t n = 0; n < x.dim(0); ++n) {
    double z = 0;
    for (std::int64_t c = 0; c < x.dim(1); ++c) z += std::exp(x(n, c));
    total += std::log(z) - x(n, labels[static_cast<std::size_t>(n)]);
  }
  return total;
}

BOOST_AUTO_TEST_CASE(values_mean_and_sum) {
  auto x = random({5, 4}, 1, -2, 2);
  const std::vector<std::int64_t> labels = {0, 3, 2, 2, 1};
  auto v = tp::constant(x);
  BOOST_TEST(tp::cross_entropy(v, labels).value().item() == naive_ce(x, labels) / 5, boost::test_tools::tolerance(1e-13));
  BOOST_TEST(tp::cross_entropy(v, labels, sv::Reduction::sum).value().item() == naive_ce(x, labels),
             boost::test_tools::tolerance(1e-13));
  // labels as an integer tensor give the same loss
  auto lt = sv::Tensor<std::int64_t>::from({5}, {0, 3, 2, 2, 1});
  BOOST_TEST(tp::cross_entropy(v, lt).value().item() == tp::cross_entropy(v, labels).value().item());
  tp::clear();
}

BOOST_AUTO_TEST_CASE(uniform_logits_give_log_classes) {
  auto v = tp::constant(sv::Tensor<double>::zeros({3, 10}));
  BOOST_TEST(tp::cross_entropy(v, std::vector<std::int64_t>{1, 5, 9}).value().item() == std::log(10.0),
             boost::test_tools::tolerance(1e-15));
  tp::clear();
}

BOOST_AUTO_TEST_CASE(gradients) {
  auto x = random({4, 3}, 2, -2, 2);
  const std::vector<std::int64_t> labels = {2, 0, 1, 2};
  BOOST_TEST(gradcheck([&](auto& v) { return tp::cross_entropy(v[0], labels); }, {x}));
  BOOST_TEST(gradcheck([&](auto& v) { return tp::cross_entropy(v[0], labels, sv::Reduction::sum); }, {x}));
  // the closed form: (softmax − onehot)/N
  sv::Parameter<double> p(x.clone());
  tp::cross_entropy(tp::param(p), labels).backward();
  for (std::int64_t n = 0; n < 4; ++n) {
    double z = 0;
    for (std::int64_t c = 0; c < 3; ++c) z += std::exp(x(n, c));
    for (std::int64_t c = 0; c < 3; ++c) {
      const double expect = (std::exp(x(n, c)) / z - (c == labels[static_cast<std::size_t>(n)] ? 1.0 : 0.0)) / 4;
      BOOST_TEST(p.grad()(n, c) == expect, boost::test_tools::tolerance(1e-13));
    }
  }
  tp::clear();
}

BOOST_AUTO_TEST_CASE(a_probabilities_buffer_of_the_right_shape_is_written_in_place) {
  auto x = random({4, 3}, 3, -2, 2);
  const sv::ops::CrossEntropy op{sv::Tensor<std::int64_t>::from({4}, {2, 0, 1, 2}), sv::Reduction::mean};
  auto y = sv::Tensor<double>::empty({}), y_buf = sv::Tensor<double>::empty({});
  const auto plain = op.forward(x, y);
  auto buf = sv::Tensor<double>::full({4, 3}, 7.0);
  const double* storage = buf.data();
  const auto saved = op.forward(x, y_buf, buf);
  BOOST_TEST(saved.probs.data() == storage);  // the buffer itself, filled
  BOOST_TEST(buf.data() == storage);
  BOOST_TEST(y_buf.item() == y.item());
  for (std::int64_t i = 0; i < 12; ++i) BOOST_TEST(buf.data()[i] == plain.probs.data()[i]);
  // a buffer of another shape (or none) is replaced by a new tensor of the logits' shape
  sv::Tensor<double> other = sv::Tensor<double>::zeros({2, 3});
  op.forward(x, y_buf, other);
  BOOST_TEST((other.shape() == sv::Shape{4, 3}));
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_rejected) {
  auto v = tp::constant(sv::Tensor<double>::zeros({3, 4}));
  BOOST_CHECK_EXCEPTION(tp::cross_entropy(v, std::vector<std::int64_t>{0, 1}), sv::ShapeError,
                        message_has({"cross_entropy", "2 labels", "batch of 3"}));
  BOOST_CHECK_EXCEPTION(tp::cross_entropy(v, std::vector<std::int64_t>{0, 4, 1}), sv::OptionError,
                        message_has({"cross_entropy", "label 4", "position 1", "[0, 4)"}));
  BOOST_CHECK_EXCEPTION(tp::cross_entropy(v, std::vector<std::int64_t>{0, -1, 1}), sv::OptionError,
                        message_has({"cross_entropy", "label -1"}));
  auto v3 = tp::constant(sv::Tensor<double>::zeros({3, 4, 1}));
  BOOST_CHECK_EXCEPTION(tp::cross_entropy(v3, std::vector<std::int64_t>{0, 1, 2}), sv::ShapeError,
                        message_has({"cross_entropy", "[N, C]", "[3,4,1]"}));
  tp::clear();
}

BOOST_AUTO_TEST_SUITE_END()
