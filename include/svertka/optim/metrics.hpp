#ifndef SVERTKA_OPTIM_METRICS_HPP
#define SVERTKA_OPTIM_METRICS_HPP
//! @file
//! `Metrics` (what an evaluation returns) and `Monitor` (which number a stopping rule or
//! `OnPlateau` watches).

#include <cmath>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include "svertka/core/error.hpp"

namespace svertka::optim {

//! The result of evaluating a model, e.g. on the test set. Either field may be left NaN.
struct Metrics {
  double loss = std::numeric_limits<double>::quiet_NaN();
  double accuracy = std::numeric_limits<double>::quiet_NaN();
  //! The error rate 1 − accuracy (the seed's "test error").
  double error() const { return 1 - accuracy; }
};

//! A number to be minimised, watched after every epoch.
enum class Monitor {
  automatic,   //!< test_error when the evaluation gives an accuracy, else test_loss
  test_error,  //!< 1 − accuracy of the evaluation
  test_loss,   //!< loss of the evaluation
  train_loss,  //!< mean training loss over the epoch
};

inline std::string_view to_string(Monitor m) {
  switch (m) {
    case Monitor::automatic: return "automatic";
    case Monitor::test_error: return "test_error";
    case Monitor::test_loss: return "test_loss";
    case Monitor::train_loss: return "train_loss";
  }
  return "?";
}

//! The monitored number; throws `OptionError` naming `who` when the evaluation did not provide it.
inline double monitored(Monitor m, double train_loss, const Metrics& test, std::string_view who) {
  if (m == Monitor::automatic) m = std::isnan(test.accuracy) ? Monitor::test_loss : Monitor::test_error;
  const double v = m == Monitor::test_error ? test.error() : m == Monitor::test_loss ? test.loss : train_loss;
  if (std::isnan(v) && m != Monitor::train_loss)
    throw OptionError(fmt::format("{}: monitors {} but the evaluation gave no {}", who, to_string(m),
                                  m == Monitor::test_error ? "accuracy" : "loss"));
  return v;
}

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_METRICS_HPP
