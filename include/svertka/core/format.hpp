#ifndef SVERTKA_CORE_FORMAT_HPP
#define SVERTKA_CORE_FORMAT_HPP
//! @file
//! `fmt::formatter` for `Tensor<T>`: values as nested brackets, then shape and dtype. Beyond 1000
//! elements the middle of each long dimension is summarised with `...`, as numpy does.

#include <string>

#include <fmt/format.h>

#include "svertka/core/tensor.hpp"

namespace svertka::detail {

template <class T>
void format_values(std::string& out, const Tensor<T>& t, int dim, std::int64_t offset, bool summarise, int indent) {
  constexpr std::int64_t edge = 3;
  const std::int64_t n = t.shape()[dim];
  std::int64_t stride = 1;
  for (int d = dim + 1; d < t.rank(); ++d) stride *= t.shape()[d];
  out += '[';
  for (std::int64_t i = 0; i < n; ++i) {
    if (summarise && n > 2 * edge && i == edge) {
      out += dim + 1 == t.rank() ? "..., " : fmt::format("...,\n{:{}}", "", indent + 1);
      i = n - edge - 1;
      continue;
    }
    if (dim + 1 == t.rank()) {
      if constexpr (std::is_floating_point_v<T>) fmt::format_to(std::back_inserter(out), "{:.6g}", t.data()[offset + i]);
      else fmt::format_to(std::back_inserter(out), "{}", t.data()[offset + i]);
    } else {
      format_values(out, t, dim + 1, offset + i * stride, summarise, indent + 1);
    }
    if (i + 1 < n) out += dim + 1 == t.rank() ? ", " : fmt::format(",\n{:{}}", "", indent + 1);
  }
  out += ']';
}

}  // namespace svertka::detail

template <class T>
struct fmt::formatter<svertka::Tensor<T>> {
  constexpr auto parse(fmt::format_parse_context& ctx) { return ctx.begin(); }
  auto format(const svertka::Tensor<T>& t, fmt::format_context& ctx) const {
    std::string out = "tensor(";
    if (!t.defined()) {
      out += "undefined";
    } else if (t.rank() == 0) {
      fmt::format_to(std::back_inserter(out), "{}", t.data()[0]);
    } else if (t.numel() == 0) {
      out += "[]";
    } else {
      svertka::detail::format_values(out, t, 0, 0, t.numel() > 1000, 7);
    }
    fmt::format_to(std::back_inserter(out), ", shape={}, dtype={})", t.shape(), svertka::dtype_name<T>());
    return fmt::format_to(ctx.out(), "{}", out);
  }
};

#endif  // SVERTKA_CORE_FORMAT_HPP
