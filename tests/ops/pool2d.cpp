// What max- and average-pooling share (ops/pool2d.hpp): the output-size rule and the options.
#include "support.hpp"

using namespace svtest;

namespace {

// the output size is constexpr: the compile-time graph uses it
static_assert(sv::ops::pool_output_size(28, 2, 2, 1, 0, 0, false) == 14);
static_assert(sv::ops::MaxPool2d{{.kernel = {3, 3}, .stride = {2, 2}}}.output_shape(sv::Shape{64, 32, 56, 56}) ==
              sv::Shape{64, 32, 27, 27});
static_assert(sv::ops::AvgPool2d{}.output_shape(sv::Shape{1, 6, 28, 28}) == sv::Shape{1, 6, 14, 14});

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_pool2d)

BOOST_AUTO_TEST_CASE(output_sizes_are_pytorchs) {
  // F.max_pool2d(torch.zeros(1, 1, n, n), k, s, p, d, ceil_mode=c).shape[-1], PyTorch 1.13
  struct Case {
    std::int64_t n, k, s, p, d;
    bool ceil;
    std::int64_t out;
  };
  for (const Case& c : {Case{7, 3, 2, 1, 1, true, 4}, Case{7, 3, 2, 1, 1, false, 4}, Case{6, 3, 3, 1, 1, true, 3},
                        Case{5, 3, 3, 1, 1, true, 2}, Case{5, 2, 2, 0, 1, true, 3}, Case{10, 2, 3, 1, 3, true, 4},
                        Case{11, 3, 2, 1, 2, false, 5}, Case{56, 3, 2, 0, 1, false, 27}, Case{56, 2, 2, 0, 1, false, 28},
                        Case{1, 1, 1, 0, 1, true, 1}, Case{4, 2, 1, 1, 5, false, 1}}) {
    BOOST_TEST(sv::ops::pool_output_size(c.n, c.k, c.s, c.d, c.p, c.p, c.ceil) == c.out,
               "n " << c.n << " k " << c.k << " s " << c.s << " p " << c.p << " d " << c.d << " ceil " << c.ceil);
  }
}

BOOST_AUTO_TEST_CASE(ceil_mode_drops_a_window_that_would_start_in_the_trailing_padding) {
  // 5 pixels, kernel 3, stride 3, padding 1: windows start at pixels −1 and 2; ceil mode would add
  // one at pixel 5, past the input (in padded coordinates 2·3 = 6 ≥ 5 + 1): dropped
  BOOST_TEST(sv::ops::pool_output_size(5, 3, 3, 1, 1, 1, false) == 2);
  BOOST_TEST(sv::ops::pool_output_size(5, 3, 3, 1, 1, 1, true) == 2);
  // 6 pixels: the extra window at 5 starts inside the input: kept
  BOOST_TEST(sv::ops::pool_output_size(6, 3, 3, 1, 1, 1, false) == 2);
  BOOST_TEST(sv::ops::pool_output_size(6, 3, 3, 1, 1, 1, true) == 3);
}

BOOST_AUTO_TEST_CASE(stride_zero_means_the_kernel_size) {
  const sv::ops::MaxPool2d op{{.kernel = {3, 2}}};
  BOOST_TEST(op.output_shape({1, 1, 9, 8}) == (sv::Shape{1, 1, 3, 4}));
  const sv::ops::MaxPool2d half{{.kernel = {3, 2}, .stride = {1, 0}}};
  BOOST_TEST(half.output_shape({1, 1, 9, 8}) == (sv::Shape{1, 1, 7, 4}));
}

BOOST_AUTO_TEST_CASE(padding_up_to_half_the_undilated_kernel_is_accepted) {
  // PyTorch checks padding against kernel / 2 whatever the dilation
  const sv::ops::MaxPool2d op{{.kernel = {3, 3}, .stride = {1, 1}, .padding = sv::Padding2d::all(1), .dilation = {3, 3}}};
  BOOST_TEST(op.output_shape({1, 1, 9, 9}) == (sv::Shape{1, 1, 5, 5}));
  const sv::ops::MaxPool2d too_much{{.kernel = {3, 3}, .padding = {0, 0, 2, 0}, .dilation = {3, 3}}};
  BOOST_CHECK_EXCEPTION(too_much.output_shape({1, 1, 9, 9}), sv::OptionError,
                        message_has({"max_pool2d", "half the kernel", "left 2"}));
}

BOOST_AUTO_TEST_SUITE_END()
