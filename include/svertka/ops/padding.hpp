#ifndef SVERTKA_OPS_PADDING_HPP
#define SVERTKA_OPS_PADDING_HPP
//! @file
//! Padding of 2-D images: the modes, per-side widths, and the index map every padded op folds into
//! its kernel (nothing is ever copied into a padded buffer except by `pad2d` itself).
//!
//! For a row of n pixels and a padded coordinate i (i < 0 or i ≥ n lies in the padding), the source
//! pixel is
//! - zeros:     none (the value is 0);
//! - reflect:   mirror without repeating the edge, period 2(n − 1): `[3 2 | 1 2 3 | 2 1]`;
//! - symmetric: mirror repeating the edge, period 2n: `[2 1 | 1 2 3 | 3 2]`;
//! - replicate: the nearest edge pixel: `[1 1 | 1 2 3 | 3 3]`;
//! - circular:  wrap around, period n: `[2 3 | 1 2 3 | 1 2]`.
//! Widths beyond the input repeat the pattern periodically, exactly as `numpy.pad` does (PyTorch
//! refuses reflect padding ≥ n; svertka follows numpy there).

#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "svertka/core/error.hpp"

namespace svertka {

enum class PadMode { zeros, reflect, replicate, circular, symmetric };

constexpr std::string_view to_string(PadMode m) {
  switch (m) {
    case PadMode::zeros: return "zeros";
    case PadMode::reflect: return "reflect";
    case PadMode::replicate: return "replicate";
    case PadMode::circular: return "circular";
    case PadMode::symmetric: return "symmetric";
  }
  return "?";
}

//! A pair of sizes (height, width): kernel, stride, dilation.
struct Size2d {
  std::int64_t h = 1, w = 1;
  friend constexpr bool operator==(const Size2d&, const Size2d&) = default;
};

//! Padding widths per side.
struct Padding2d {
  std::int64_t top = 0, bottom = 0, left = 0, right = 0;
  friend constexpr bool operator==(const Padding2d&, const Padding2d&) = default;

  //! The same width on every side.
  static constexpr Padding2d all(std::int64_t p) { return {p, p, p, p}; }
  //! `p_h` above and below, `p_w` left and right (PyTorch's `padding=(p_h, p_w)`).
  static constexpr Padding2d symmetric(std::int64_t p_h, std::int64_t p_w) { return {p_h, p_h, p_w, p_w}; }
  //! TensorFlow's "SAME": the output has ceil(in / stride) pixels per axis; when the total padding
  //! is odd, the extra pixel goes to the bottom / right.
  static constexpr Padding2d same(Size2d input, Size2d kernel, Size2d stride = {1, 1}, Size2d dilation = {1, 1}) {
    auto total = [](std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t d) {
      const std::int64_t out = (in + s - 1) / s;
      const std::int64_t need = (out - 1) * s + (k - 1) * d + 1 - in;
      return need > 0 ? need : 0;
    };
    const std::int64_t th = total(input.h, kernel.h, stride.h, dilation.h);
    const std::int64_t tw = total(input.w, kernel.w, stride.w, dilation.w);
    return {th / 2, th - th / 2, tw / 2, tw - tw / 2};
  }
  constexpr bool any() const { return top || bottom || left || right; }
};

//! Source index in [0, n) of padded coordinate i, or -1 when the value is zero (zeros mode, or an
//! empty row). Valid for any i, however far outside.
constexpr std::int64_t pad_source(std::int64_t i, std::int64_t n, PadMode mode) {
  if (i >= 0 && i < n) return i;
  if (n <= 0) return -1;
  auto mod = [](std::int64_t a, std::int64_t p) { return ((a % p) + p) % p; };
  switch (mode) {
    case PadMode::zeros: return -1;
    case PadMode::replicate: return i < 0 ? 0 : n - 1;
    case PadMode::circular: return mod(i, n);
    case PadMode::reflect: {
      if (n == 1) return 0;
      const std::int64_t p = 2 * (n - 1), r = mod(i, p);
      return r < n ? r : p - r;
    }
    case PadMode::symmetric: {
      const std::int64_t p = 2 * n, r = mod(i, p);
      return r < n ? r : p - 1 - r;
    }
  }
  return -1;
}

}  // namespace svertka

template <>
struct fmt::formatter<svertka::PadMode> : fmt::formatter<std::string_view> {
  auto format(svertka::PadMode m, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(svertka::to_string(m), ctx);
  }
};

#endif  // SVERTKA_OPS_PADDING_HPP
