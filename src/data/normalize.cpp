#include "svertka/data/normalize.hpp"

#include <cmath>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/threads.hpp"

namespace svertka::data {
namespace {
constexpr std::int64_t chunk = std::int64_t{1} << 16;
}

MeanStd mean_std(const Tensor<float>& x) {
  const std::int64_t n = x.numel();
  if (n == 0) throw OptionError(fmt::format("mean_std: the tensor has no elements (shape {})", x.shape()));
  const float* p = x.data();
  const double sum = chunked_sum<double>(n, chunk, [&](std::int64_t b, std::int64_t e) {
    double s = 0;
    for (std::int64_t i = b; i < e; ++i) s += p[i];
    return s;
  });
  const double mean = sum / static_cast<double>(n);
  const double sq = chunked_sum<double>(n, chunk, [&](std::int64_t b, std::int64_t e) {
    double s = 0;
    for (std::int64_t i = b; i < e; ++i) s += (p[i] - mean) * (p[i] - mean);
    return s;
  });
  return {mean, std::sqrt(sq / static_cast<double>(n))};
}

void normalize(Tensor<float>& x, MeanStd s) {
  if (!(s.std > 0) || !std::isfinite(s.std) || !std::isfinite(s.mean))
    throw OptionError(fmt::format("normalize: std must be > 0 and finite, mean finite (got mean {}, std {})", s.mean, s.std));
  const auto mean = static_cast<float>(s.mean), sd = static_cast<float>(s.std);
  float* p = x.data();
  parallel_for(0, x.numel(), chunk, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) p[i] = (p[i] - mean) / sd;
  });
}

}  // namespace svertka::data
