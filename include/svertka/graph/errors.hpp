#ifndef SVERTKA_GRAPH_ERRORS_HPP
#define SVERTKA_GRAPH_ERRORS_HPP
//! @file
//! Compile-time wiring errors of the graph engine.
//!
//! Each error is a class template whose name says what is wrong and whose arguments are the numbers:
//! the layer's position in the flattened graph (1 = the first layer after the input), then the sizes.
//! It is instantiated only when its check fails, so the compiler's first lines read like
//!
//!     In instantiation of 'struct svertka::graph::errors::conv2d_kernel_larger_than_padded_input<3, 5, 4>':
//!     error: static assertion failed: conv2d: the kernel is larger than the padded input ...

#include <cstddef>
#include <cstdint>

namespace svertka::graph::errors {

template <auto...>
inline constexpr bool never = false;

//! Instantiates `Error` (whose body fails a static_assert) when `ok` is false.
template <bool ok, class Error>
consteval void require() {
  if constexpr (!ok) static_cast<void>(sizeof(Error));
}

#define SVERTKA_GRAPH_ERROR(name, params, args, text) \
  template <params>                                    \
  struct name {                                        \
    static_assert(never<args>, text);                  \
  }

// the macro only spells the three-line struct; the sentences are the content
#define SV_P2 std::size_t Layer, std::int64_t A
#define SV_P3 std::size_t Layer, std::int64_t A, std::int64_t B
#define SV_P4 std::size_t Layer, std::int64_t A, std::int64_t B, std::int64_t C

SVERTKA_GRAPH_ERROR(sequential_must_start_with_input, std::size_t Count, Count,
                    "sequential: the first element of a top-level graph must be input<...> (it fixes the input shape)");
SVERTKA_GRAPH_ERROR(linear_needs_flat_input, SV_P2, Layer,
                    "linear: the input of this layer (position, rank in the type above) must be a flat vector: put flatten before it");
SVERTKA_GRAPH_ERROR(conv2d_needs_chw_input, SV_P2, Layer,
                    "conv2d: the input of this layer (position, rank in the type above) must be [C, H, W]");
SVERTKA_GRAPH_ERROR(conv2d_channels_not_divisible_by_groups, SV_P3, Layer,
                    "conv2d: the input channels (position, channels, groups in the type above) are not divisible by groups");
SVERTKA_GRAPH_ERROR(conv2d_filters_not_divisible_by_groups, SV_P3, Layer,
                    "conv2d: the number of filters (position, filters, groups in the type above) is not divisible by groups");
SVERTKA_GRAPH_ERROR(conv2d_kernel_larger_than_padded_input, SV_P3, Layer,
                    "conv2d: the (dilated) kernel is larger than the padded input (position, kernel, padded input size in the type above)");
SVERTKA_GRAPH_ERROR(pool2d_needs_chw_input, SV_P2, Layer,
                    "pooling: the input of this layer (position, rank in the type above) must be [C, H, W]");
SVERTKA_GRAPH_ERROR(pool2d_window_larger_than_padded_input, SV_P3, Layer,
                    "pooling: the (dilated) window is larger than the padded input (position, window, padded input size in the type above)");
SVERTKA_GRAPH_ERROR(pool2d_padding_over_half_the_window, SV_P3, Layer,
                    "pooling: the padding must be at most half the window (position, padding, window in the type above)");
SVERTKA_GRAPH_ERROR(pad2d_needs_chw_input, SV_P2, Layer,
                    "pad2d: the input of this layer (position, rank in the type above) must be [C, H, W]");
SVERTKA_GRAPH_ERROR(flatten_of_a_scalar, SV_P2, Layer, "flatten: the input of this layer has rank 0");
SVERTKA_GRAPH_ERROR(residual_changes_the_shape, SV_P4, Layer,
                    "residual: the block's output must have the shape of its input (position, then the first differing dimension: index, input size, output size)");
SVERTKA_GRAPH_ERROR(concat_shapes_differ, SV_P4, Layer,
                    "concat: the two branches' outputs must agree in every dimension but channels (position, dimension, sizes in the type above)");
SVERTKA_GRAPH_ERROR(receptive_field_through_a_dense_layer, std::size_t Layer, Layer,
                    "receptive_field: this layer (position in the type above) mixes the whole input: receptive fields are defined for conv/pool/elementwise layers only");

#undef SV_P2
#undef SV_P3
#undef SV_P4
#undef SVERTKA_GRAPH_ERROR

}  // namespace svertka::graph::errors

#endif  // SVERTKA_GRAPH_ERRORS_HPP
