#ifndef SVERTKA_CORE_RECEPTIVE_FIELD_HPP
#define SVERTKA_CORE_RECEPTIVE_FIELD_HPP
//! @file
//! Receptive-field arithmetic of a chain of conv / pool / pad layers, all constexpr, so the
//! compile-time graph (and any `static_assert`) can use it. The formulas are those of Araujo, Norris
//! and Sim, "Computing receptive fields of convolutional neural networks" (distill.pub, 2019), one
//! axis at a time. For a layer with kernel k, stride s, dilation d and leading padding p, after
//! layers whose field has size r, jump j (the input distance between neighbouring outputs) and
//! start c (the centre of the first output's field):
//!
//!   k_eff = d(k − 1) + 1,   r' = r + (k_eff − 1)·j,   j' = j·s,   c' = c + ((k_eff − 1)/2 − p)·j.
//!
//! Before any layer r = 1, j = 1, c = 0. Coordinates are input pixel indices (pixel i is centred at
//! i), so the first output's field covers input pixels [c − (r − 1)/2, c + (r − 1)/2] (partly in the
//! padding when that starts below 0). Trailing padding (bottom, right) changes only how many outputs
//! there are, not their fields. An elementwise layer (activation, batch norm) leaves the field as is.
//!
//! Example, the seed lecture's table: three 3×3 convolutions see 3, 5, 7 pixels, three 5×5 ones 5,
//! 9, 13; `static_assert(sv::receptive_field({c3, c3, c3}).size == 7)`.

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/ops/padding.hpp"

namespace svertka {

//! The geometry of one conv or pool layer: what the receptive field depends on.
struct LayerGeometry {
  Size2d kernel{1, 1};
  Size2d stride{1, 1};
  Size2d dilation{1, 1};
  Padding2d padding{};
  friend constexpr bool operator==(const LayerGeometry&, const LayerGeometry&) = default;

  //! A convolution (stride 1 by default).
  static constexpr LayerGeometry conv(Size2d kernel, Size2d stride = {1, 1}, Padding2d padding = {},
                                      Size2d dilation = {1, 1}) {
    return {kernel, stride, dilation, padding};
  }
  //! A pooling layer (stride = kernel by default, as in PyTorch; {0, 0} means the same).
  static constexpr LayerGeometry pool(Size2d kernel, Size2d stride = {0, 0}, Padding2d padding = {},
                                      Size2d dilation = {1, 1}) {
    return {kernel, {stride.h ? stride.h : kernel.h, stride.w ? stride.w : kernel.w}, dilation, padding};
  }
  //! A padding layer (pad2d): shifts the start only.
  static constexpr LayerGeometry pad(Padding2d padding) { return {{1, 1}, {1, 1}, {1, 1}, padding}; }
};

//! A value per axis (h, w). Compares equal to a single number when both axes have it, so a square
//! field reads `field.size == 7`.
template <class V>
struct PerAxis {
  V h{}, w{};
  friend constexpr bool operator==(const PerAxis&, const PerAxis&) = default;
  friend constexpr bool operator==(const PerAxis& a, V v) { return a.h == v && a.w == v; }
};

//! The receptive field of the outputs of a chain of layers, per axis.
struct ReceptiveField {
  PerAxis<std::int64_t> size{1, 1};  //!< r: input pixels one output sees (with the padding it overlaps)
  PerAxis<std::int64_t> jump{1, 1};  //!< j: input distance between neighbouring outputs
  PerAxis<double> start{0.0, 0.0};   //!< c: centre of the first output's field, in input pixel indices
  friend constexpr bool operator==(const ReceptiveField&, const ReceptiveField&) = default;

  //! The field after one more layer (`index`: its position, for messages). OptionError for a kernel,
  //! stride or dilation ≤ 0 or a negative padding (a compile error in a constant expression).
  constexpr ReceptiveField then(const LayerGeometry& l, std::size_t index = 0) const {
    const Size2d k = l.kernel, s = l.stride, d = l.dilation;
    if (k.h <= 0 || k.w <= 0 || s.h <= 0 || s.w <= 0 || d.h <= 0 || d.w <= 0)
      throw OptionError(fmt::format("receptive_field: layer {}: kernel, stride and dilation must be > 0 but are {}×{}, "
                                    "{}×{}, {}×{}",
                                    index, k.h, k.w, s.h, s.w, d.h, d.w));
    const Padding2d& p = l.padding;
    if (p.top < 0 || p.bottom < 0 || p.left < 0 || p.right < 0)
      throw OptionError(fmt::format("receptive_field: layer {}: padding must be ≥ 0 on every side but is (top {}, "
                                    "bottom {}, left {}, right {})",
                                    index, p.top, p.bottom, p.left, p.right));
    const std::int64_t eh = d.h * (k.h - 1) + 1, ew = d.w * (k.w - 1) + 1;  // effective kernel
    ReceptiveField f;
    f.size = {size.h + (eh - 1) * jump.h, size.w + (ew - 1) * jump.w};
    f.jump = {jump.h * s.h, jump.w * s.w};
    f.start = {start.h + (static_cast<double>(eh - 1) / 2 - static_cast<double>(p.top)) * static_cast<double>(jump.h),
               start.w + (static_cast<double>(ew - 1) / 2 - static_cast<double>(p.left)) * static_cast<double>(jump.w)};
    return f;
  }
};

//! The receptive field of the last layer's outputs (the identity field for no layers).
constexpr ReceptiveField receptive_field(std::span<const LayerGeometry> layers) {
  ReceptiveField f;
  for (std::size_t i = 0; i < layers.size(); ++i) f = f.then(layers[i], i);
  return f;
}
constexpr ReceptiveField receptive_field(std::initializer_list<LayerGeometry> layers) {
  return receptive_field(std::span<const LayerGeometry>(layers.begin(), layers.size()));
}

//! The field after each layer: element i is that of layer i's outputs.
template <std::size_t N>
constexpr std::array<ReceptiveField, N> receptive_fields(const std::array<LayerGeometry, N>& layers) {
  std::array<ReceptiveField, N> out{};
  ReceptiveField f;
  for (std::size_t i = 0; i < N; ++i) out[i] = f = f.then(layers[i], i);
  return out;
}
constexpr std::vector<ReceptiveField> receptive_fields(std::span<const LayerGeometry> layers) {
  std::vector<ReceptiveField> out;
  ReceptiveField f;
  for (std::size_t i = 0; i < layers.size(); ++i) out.push_back(f = f.then(layers[i], i));
  return out;
}

}  // namespace svertka

#endif  // SVERTKA_CORE_RECEPTIVE_FIELD_HPP
