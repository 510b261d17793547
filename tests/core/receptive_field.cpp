#include "support.hpp"

#include <array>
#include <vector>

using namespace svtest;
using sv::LayerGeometry;

namespace {

constexpr LayerGeometry conv3 = LayerGeometry::conv({3, 3});
constexpr LayerGeometry conv5 = LayerGeometry::conv({5, 5});

// The lecture's tables, at compile time: three 3×3 convolutions see 3, 5, 7 pixels; three 5×5 ones
// 5, 9, 13.
constexpr auto threes = sv::receptive_fields(std::array{conv3, conv3, conv3});
static_assert(threes[0].size == 3 && threes[1].size == 5 && threes[2].size == 7);
constexpr auto fives = sv::receptive_fields(std::array{conv5, conv5, conv5});
static_assert(fives[0].size == 5 && fives[1].size == 9 && fives[2].size == 13);
static_assert(sv::receptive_field({conv3, conv3, conv3}).size == 7);
static_assert(sv::receptive_field({}).size == 1 && sv::receptive_field({}).jump == 1);

// LeNet-5's features: conv 5×5 pad 2, max-pool 2, conv 5×5, max-pool 2. By hand, one axis:
//   conv5 pad 2:  r = 1 + 4·1 = 5,   j = 1,  c = 0 + (2 − 2)·1 = 0    (output i sees i−2..i+2)
//   pool 2:       r = 5 + 1·1 = 6,   j = 2,  c = 0 + (0.5 − 0)·1 = 0.5
//   conv5:        r = 6 + 4·2 = 14,  j = 2,  c = 0.5 + 2·2 = 4.5
//   pool 2:       r = 14 + 1·2 = 16, j = 4,  c = 4.5 + 0.5·2 = 5.5
// So the first feature sees input pixels −2..13 (16 of them, 2 in the padding), centred at 5.5, and
// neighbouring features are 4 pixels apart: the 5×5 output of 28×28 strides over it in steps of 4.
constexpr std::array lenet{LayerGeometry::conv({5, 5}, {1, 1}, sv::Padding2d::all(2)), LayerGeometry::pool({2, 2}),
                           LayerGeometry::conv({5, 5}), LayerGeometry::pool({2, 2})};
static_assert(sv::receptive_field(lenet).size == 16);
static_assert(sv::receptive_field(lenet).jump == 4);
static_assert(sv::receptive_field(lenet).start == 5.5);

// Independent check: push the field of outputs 0 and 1 back through the layers as input intervals.
struct Interval {
  std::int64_t lo, hi;
};
Interval input_interval(const std::vector<LayerGeometry>& layers, std::int64_t out, bool h) {
  Interval v{out, out};
  for (auto l = layers.rbegin(); l != layers.rend(); ++l) {
    const std::int64_t k = h ? l->kernel.h : l->kernel.w, s = h ? l->stride.h : l->stride.w;
    const std::int64_t d = h ? l->dilation.h : l->dilation.w, p = h ? l->padding.top : l->padding.left;
    v = {v.lo * s - p, v.hi * s - p + (k - 1) * d};
  }
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(core_receptive_field)

BOOST_AUTO_TEST_CASE(the_lectures_tables) {
  const std::array<std::int64_t, 3> three{3, 5, 7}, five{5, 9, 13};
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(threes[i].size.h == three[i]);
    BOOST_TEST(threes[i].size.w == three[i]);
    BOOST_TEST(fives[i].size.h == five[i]);
    BOOST_TEST(threes[i].jump.h == 1);
  }
}

BOOST_AUTO_TEST_CASE(a_strided_convolution_widens_what_later_layers_see) {
  // the lecture's stride slide: after a 3×3 convolution with stride 2, a 3×3 convolution sees 7×7
  constexpr auto f = sv::receptive_field({LayerGeometry::conv({3, 3}, {2, 2}), conv3});
  static_assert(f.size == 7 && f.jump == 2);
  // without the stride it would see 5×5
  static_assert(sv::receptive_field({conv3, conv3}).size == 5);
  BOOST_TEST(f.size.h == 7);
}

BOOST_AUTO_TEST_CASE(dilation_and_pooling) {
  // a 3×3 kernel with dilation 2 spans 5 pixels; dilations 1, 2, 4 stacked see 1 + 2·(1 + 2 + 4) = 15
  static_assert(sv::receptive_field({LayerGeometry::conv({3, 3}, {1, 1}, {}, {2, 2})}).size == 5);
  constexpr auto dil = sv::receptive_fields(std::array{LayerGeometry::conv({3, 3}, {1, 1}, {}, {1, 1}),
                                                       LayerGeometry::conv({3, 3}, {1, 1}, {}, {2, 2}),
                                                       LayerGeometry::conv({3, 3}, {1, 1}, {}, {4, 4})});
  static_assert(dil[0].size == 3 && dil[1].size == 7 && dil[2].size == 15);
  // conv 3, pool 2, conv 3: 3, 4, 8 with jumps 1, 2, 2
  constexpr auto cpc = sv::receptive_fields(std::array{conv3, LayerGeometry::pool({2, 2}), conv3});
  static_assert(cpc[0].size == 3 && cpc[1].size == 4 && cpc[2].size == 8);
  static_assert(cpc[0].jump == 1 && cpc[1].jump == 2 && cpc[2].jump == 2);
  BOOST_TEST(cpc[2].size.w == 8);
}

BOOST_AUTO_TEST_CASE(start_is_the_centre_of_the_first_outputs_field) {
  static_assert(sv::receptive_field({conv3}).start == 1.0);  // output 0 sees pixels 0..2
  static_assert(sv::receptive_field({LayerGeometry::conv({3, 3}, {1, 1}, sv::Padding2d::all(1))}).start == 0.0);
  static_assert(sv::receptive_field({LayerGeometry::pool({2, 2})}).start == 0.5);
  static_assert(sv::receptive_field({LayerGeometry::pad(sv::Padding2d::all(3)), conv3}).start == -2.0);
  // the axes are independent: a 3×1 kernel, padding on top only
  constexpr auto f = sv::receptive_field({LayerGeometry::conv({3, 1}, {2, 1}, {1, 0, 0, 0})});
  static_assert(f.size.h == 3 && f.size.w == 1 && f.jump.h == 2 && f.jump.w == 1);
  static_assert(f.start.h == 0.0 && f.start.w == 0.0);
  BOOST_TEST(f.start.h == 0.0);
}

BOOST_AUTO_TEST_CASE(matches_intervals_pushed_back_through_the_layers) {
  sv::Rng rng(41);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<LayerGeometry> layers;
    const int depth = 1 + static_cast<int>(rng.uniform(0, 5));
    auto pick = [&](int lo, int hi) { return static_cast<std::int64_t>(rng.uniform(lo, hi + 1 - 1e-9)); };
    for (int i = 0; i < depth; ++i)
      layers.push_back(LayerGeometry{.kernel = {pick(1, 5), pick(1, 5)},
                                     .stride = {pick(1, 3), pick(1, 3)},
                                     .dilation = {pick(1, 3), pick(1, 2)},
                                     .padding = {pick(0, 2), pick(0, 2), pick(0, 2), pick(0, 2)}});
    const auto fields = sv::receptive_fields(std::span<const LayerGeometry>(layers));
    BOOST_REQUIRE(fields.size() == layers.size());
    const sv::ReceptiveField f = fields.back();
    BOOST_TEST((f == sv::receptive_field(layers)));
    for (bool h : {true, false}) {
      const Interval first = input_interval(layers, 0, h), second = input_interval(layers, 1, h);
      BOOST_TEST((h ? f.size.h : f.size.w) == first.hi - first.lo + 1);
      BOOST_TEST((h ? f.jump.h : f.jump.w) == second.lo - first.lo);
      BOOST_TEST((h ? f.start.h : f.start.w) == static_cast<double>(first.lo + first.hi) / 2);
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_layers_are_rejected) {
  BOOST_CHECK_EXCEPTION(sv::receptive_field({conv3, LayerGeometry::conv({3, 3}, {0, 1})}), sv::OptionError,
                        message_has({"receptive_field", "layer 1", "stride", "> 0", "0×1"}));
  BOOST_CHECK_EXCEPTION(sv::receptive_field({LayerGeometry::conv({3, 3}, {1, 1}, {0, -1, 0, 0})}), sv::OptionError,
                        message_has({"receptive_field", "layer 0", "padding", "bottom -1"}));
  BOOST_CHECK_EXCEPTION(sv::receptive_field({LayerGeometry::conv({3, -3})}), sv::OptionError,
                        message_has({"receptive_field", "kernel", "3×-3"}));
}

BOOST_AUTO_TEST_SUITE_END()
