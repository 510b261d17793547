#pragma once
// Shared by the tests: error-message predicates, random inputs, a gradcheck that prints its report.

#include <boost/test/unit_test.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "svertka/svertka.hpp"

namespace svtest {

//! Calls of the global operator new so far (tests/alloc_counter.cpp replaces it with a counting one).
std::uint64_t heap_allocations();

namespace sv = svertka;

//! A predicate for BOOST_CHECK_EXCEPTION: the message contains every one of `parts`.
inline auto message_has(std::initializer_list<std::string_view> parts) {
  std::vector<std::string> p(parts.begin(), parts.end());
  return [p](const std::exception& e) {
    const std::string what = e.what();
    for (const auto& s : p)
      if (what.find(s) == std::string::npos) {
        BOOST_TEST_MESSAGE("message '" << what << "' lacks '" << s << "'");
        return false;
      }
    return true;
  };
}

template <class T = double>
sv::Tensor<T> random(const sv::Shape& s, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  sv::Rng rng(seed);
  return sv::Tensor<T>::uniform(s, rng, lo, hi);
}

//! gradcheck, with the report printed when it fails.
template <class F>
bool gradcheck(F&& f, const std::vector<sv::Tensor<double>>& inputs, sv::check::GradcheckOptions o = {}) {
  const sv::check::Report r = sv::check::gradcheck(std::forward<F>(f), inputs, o);
  if (!r.passed) BOOST_TEST_MESSAGE(fmt::format("{}", r));
  return r.passed;
}

//! Largest |a − b| over two tensors of the same shape (checked).
template <class T, class U>
double max_abs_diff(const sv::Tensor<T>& a, const sv::Tensor<U>& b) {
  BOOST_REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::abs(static_cast<double>(a.data()[i]) - static_cast<double>(b.data()[i])));
  return m;
}

}  // namespace svtest
