// BatchSampler, Batcher and normalisation.
#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

using namespace svtest;
namespace data = svertka::data;

namespace {

std::vector<std::int64_t> epoch_of(data::BatchSampler& s) {
  std::vector<std::int64_t> all;
  for (std::int64_t b = 0; b < s.batches_per_epoch(); ++b) {
    const auto idx = s.next();
    all.insert(all.end(), idx.begin(), idx.end());
  }
  return all;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(data_batching)

BOOST_AUTO_TEST_CASE(without_replacement_each_epoch_is_a_permutation) {
  data::BatchSampler s(10, {.batch_size = 4, .seed = 3});
  BOOST_TEST(s.batches_per_epoch() == 3);
  std::vector<std::int64_t> identity(10);
  std::iota(identity.begin(), identity.end(), 0);
  std::set<std::vector<std::int64_t>> orders;
  std::vector<std::int64_t> first_epoch;
  for (int e = 1; e <= 5; ++e) {
    auto all = epoch_of(s);
    if (e == 1) first_epoch = all;
    BOOST_TEST(s.epoch() == e);
    BOOST_TEST(s.position() == 3);
    orders.insert(all);
    std::sort(all.begin(), all.end());
    BOOST_TEST(all == identity);
  }
  BOOST_TEST(orders.size() == 5u);  // reshuffled every epoch
  // the same seed gives the same batches, another seed others
  data::BatchSampler same(10, {.batch_size = 4, .seed = 3}), other(10, {.batch_size = 4, .seed = 4});
  BOOST_TEST(epoch_of(same) == first_epoch);
  BOOST_TEST(epoch_of(other) != first_epoch);
}

BOOST_AUTO_TEST_CASE(batch_sizes_drop_last_and_no_shuffle) {
  data::BatchSampler ordered(10, {.batch_size = 4, .shuffle = false});
  BOOST_TEST(ordered.next().size() == 4u);
  BOOST_TEST(ordered.next()[0] == 4);
  const auto last = ordered.next();
  BOOST_TEST(last.size() == 2u);
  BOOST_TEST((last[0] == 8 && last[1] == 9));
  BOOST_TEST(ordered.next()[0] == 0);  // next epoch, same order
  data::BatchSampler drop(10, {.batch_size = 4, .drop_last = true});
  BOOST_TEST(drop.batches_per_epoch() == 2);
  for (int i = 0; i < 6; ++i) BOOST_TEST(drop.next().size() == 4u);
}

BOOST_AUTO_TEST_CASE(one_random_object_with_replacement) {
  // the seed's i_t: uniform draws, repeats allowed
  data::BatchSampler s(10, {.batch_size = 1, .replacement = true, .seed = 11});
  std::vector<int> count(10, 0);
  bool repeat_in_epoch = false;
  for (int e = 0; e < 1000; ++e) {
    std::set<std::int64_t> seen;
    for (int k = 0; k < 10; ++k) {
      const auto idx = s.next();
      BOOST_TEST_REQUIRE(idx.size() == 1u);
      BOOST_TEST_REQUIRE((idx[0] >= 0 && idx[0] < 10));
      ++count[idx[0]];
      repeat_in_epoch |= !seen.insert(idx[0]).second;
    }
  }
  BOOST_TEST(repeat_in_epoch);
  for (int c : count) BOOST_TEST(std::abs(c - 1000) < 150, "count " << c);  // 10000 draws; sd ≈ 30
}

BOOST_AUTO_TEST_CASE(state_dict_resumes_mid_epoch) {
  data::BatchSampler a(23, {.batch_size = 5, .seed = 8});
  for (int i = 0; i < 7; ++i) a.next();  // epoch 2, position 2
  data::BatchSampler b(23, {.batch_size = 5, .seed = 999});
  b.load_state_dict(a.state_dict());
  BOOST_TEST(b.epoch() == 2);
  BOOST_TEST(b.position() == 2);
  BOOST_TEST(b.options().seed == 8u);
  for (int i = 0; i < 20; ++i) {
    const auto x = a.next(), y = b.next();
    BOOST_TEST_REQUIRE(std::equal(x.begin(), x.end(), y.begin(), y.end()));
  }
  data::BatchSampler c(24, {.batch_size = 5});
  BOOST_CHECK_EXCEPTION(c.load_state_dict(a.state_dict()), sv::OptionError,
                        message_has({"BatchSampler::load_state_dict", "23 objects", "has 24"}));
}

BOOST_AUTO_TEST_CASE(batcher_gathers_images_and_labels) {
  data::Dataset d{sv::Tensor<float>::empty({6, 1, 2, 2}), sv::Tensor<std::int64_t>::empty({6})};
  for (std::int64_t i = 0; i < 6; ++i) {
    for (std::int64_t j = 0; j < 4; ++j) d.images.data()[4 * i + j] = static_cast<float>(10 * i + j);
    d.labels(i) = 100 + i;
  }
  data::Batcher<double> b{d, {.batch_size = 4, .seed = 2}};
  for (int k = 0; k < 5; ++k) {
    const auto batch = b.next();
    BOOST_TEST(batch.images.shape() == (sv::Shape{batch.size(), 1, 2, 2}));
    for (std::int64_t n = 0; n < batch.size(); ++n) {
      const std::int64_t i = batch.indices[static_cast<std::size_t>(n)];
      BOOST_TEST(batch.labels(n) == 100 + i);
      BOOST_TEST(batch.images(n, 0, 1, 1) == 10.0 * i + 3);
    }
  }
  BOOST_TEST(b.epoch() == 3);
  data::Dataset bad{sv::Tensor<float>::zeros({6, 4}), sv::Tensor<std::int64_t>::zeros({5})};
  BOOST_CHECK_EXCEPTION((data::Batcher<float>{bad, {}}), sv::ShapeError, message_has({"Batcher", "6 images", "[5]"}));
  BOOST_CHECK_EXCEPTION((data::Batcher<float>{data::Dataset{}, {}}), sv::OptionError, message_has({"Batcher", "empty"}));
}

BOOST_AUTO_TEST_CASE(bad_options_are_rejected) {
  BOOST_CHECK_EXCEPTION(data::BatchSampler(0, {}), sv::OptionError, message_has({"BatchSampler", "empty", "size 0"}));
  BOOST_CHECK_EXCEPTION(data::BatchSampler(5, {.batch_size = 0}), sv::OptionError, message_has({"batch_size", "got 0"}));
  BOOST_CHECK_EXCEPTION(data::BatchSampler(5, {.batch_size = 6, .drop_last = true}), sv::OptionError,
                        message_has({"batch_size 6", "drop_last", "5 objects"}));
}

BOOST_AUTO_TEST_CASE(normalisation) {
  auto x = sv::Tensor<float>::from({2, 2}, {1.0f, 2.0f, 3.0f, 6.0f});  // mean 3, variance (4+1+0+9)/4 = 3.5
  const auto s = data::mean_std(x);
  BOOST_TEST(s.mean == 3.0);
  BOOST_TEST(s.std == std::sqrt(3.5), boost::test_tools::tolerance(1e-15));
  data::normalize(x, s);
  const auto t = data::mean_std(x);
  BOOST_TEST(std::abs(t.mean) < 1e-7);
  BOOST_TEST(t.std == 1.0, boost::test_tools::tolerance(1e-6));
  BOOST_CHECK_EXCEPTION(data::normalize(x, {0.0, 0.0}), sv::OptionError, message_has({"normalize", "std", "got mean 0, std 0"}));
  BOOST_CHECK_EXCEPTION(data::mean_std(sv::Tensor<float>::zeros({0})), sv::OptionError, message_has({"mean_std", "no elements"}));
}

BOOST_AUTO_TEST_SUITE_END()
