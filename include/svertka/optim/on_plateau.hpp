#ifndef SVERTKA_OPTIM_ON_PLATEAU_HPP
#define SVERTKA_OPTIM_ON_PLATEAU_HPP
//! @file
//! `OnPlateau`: a step size driven by a metric (PyTorch's ReduceLROnPlateau, mode 'min').

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "svertka/core/error.hpp"
#include "svertka/core/tensor_dict.hpp"
#include "svertka/optim/schedules.hpp"

namespace svertka::optim {

//! How `OnPlateau` decides that a metric improved on the best so far.
enum class Threshold {
  rel,  //!< improved when metric < best · (1 − threshold)
  abs,  //!< improved when metric < best − threshold
};

//! Options of `OnPlateau`; the defaults are PyTorch's.
struct PlateauOptions {
  double factor = 0.1;          //!< η ← max(η · factor, min_eta) on a plateau; in (0, 1)
  std::int64_t patience = 10;   //!< reports without improvement tolerated; >= 0
  double threshold = 1e-4;      //!< how much better counts as better; >= 0
  Threshold threshold_mode = Threshold::rel;
  std::int64_t cooldown = 0;    //!< reports ignored after a reduction; >= 0
  double min_eta = 0;           //!< lower bound of η; >= 0
  double eps = 1e-8;            //!< a reduction smaller than this is skipped; >= 0
};

//! A schedule whose η only changes when `report(metric)` says the metric (to be minimised: a
//! validation loss or error) stopped falling. After each report (PyTorch's `scheduler.step(metric)`):
//!
//! - if the metric is better than the best so far (see `Threshold`), it becomes the best and the
//!   count of bad reports is reset, otherwise the count grows by one;
//! - during a cooldown the count stays 0;
//! - when the count exceeds `patience`: η_new = max(η · factor, min_eta), applied if
//!   η − η_new > eps; the cooldown starts and the count is reset.
//!
//! `s(t)` returns the current η whatever t is. `fit` reports the metric it monitors after each epoch;
//! in a hand-written loop call `opt.schedule().report(metric)`.
class OnPlateau {
 public:
  explicit OnPlateau(double eta, PlateauOptions o = {}) : opt_(o), eta_(eta) { validate(); }

  double operator()(std::int64_t) const { return eta_; }

  void report(double metric) {
    ++reports_;
    if (better(metric)) {
      best_ = metric;
      bad_ = 0;
    } else {
      ++bad_;
    }
    if (cooldown_left_ > 0) {
      --cooldown_left_;
      bad_ = 0;
    }
    if (bad_ > opt_.patience) {
      const double reduced = std::max(eta_ * opt_.factor, opt_.min_eta);
      if (eta_ - reduced > opt_.eps) eta_ = reduced;
      cooldown_left_ = opt_.cooldown;
      bad_ = 0;
    }
  }

  double eta() const { return eta_; }
  double best() const { return best_; }
  std::int64_t bad_reports() const { return bad_; }
  std::int64_t reports() const { return reports_; }
  const PlateauOptions& options() const { return opt_; }

  void validate() const {
    detail::require(eta_ > 0, "OnPlateau", "eta must be > 0", eta_);
    detail::require(opt_.factor > 0 && opt_.factor < 1, "OnPlateau", "factor must be in (0, 1)", opt_.factor);
    detail::require(opt_.patience >= 0, "OnPlateau", "patience must be >= 0", static_cast<double>(opt_.patience));
    detail::require(opt_.threshold >= 0, "OnPlateau", "threshold must be >= 0", opt_.threshold);
    detail::require(opt_.cooldown >= 0, "OnPlateau", "cooldown must be >= 0", static_cast<double>(opt_.cooldown));
    detail::require(opt_.min_eta >= 0, "OnPlateau", "min_eta must be >= 0", opt_.min_eta);
    detail::require(opt_.eps >= 0, "OnPlateau", "eps must be >= 0", opt_.eps);
  }

  //! The state that changes with reports: eta, best, bad, cooldown, reports.
  TensorDict state_dict() const {
    TensorDict d;
    d.set_double("eta", eta_);
    d.set_double("best", best_);
    d.set_int("bad", bad_);
    d.set_int("cooldown", cooldown_left_);
    d.set_int("reports", reports_);
    return d;
  }
  //! Restores what `state_dict` saved; throws `OptionError` (and changes nothing) on a bad dict.
  void load_state_dict(const TensorDict& d) {
    constexpr std::string_view who = "OnPlateau::load_state_dict";
    const double eta = d.get_double("eta", who), best = d.get_double("best", who);
    const std::int64_t bad = d.get_int("bad", who), cooldown = d.get_int("cooldown", who),
                       reports = d.get_int("reports", who);
    if (!(eta > 0) || bad < 0 || cooldown < 0 || reports < 0)
      throw OptionError(fmt::format("{}: inconsistent state (eta {}, bad {}, cooldown {}, reports {})", who, eta, bad,
                                    cooldown, reports));
    eta_ = eta;
    best_ = best;
    bad_ = bad;
    cooldown_left_ = cooldown;
    reports_ = reports;
  }

 private:
  bool better(double metric) const {
    if (opt_.threshold_mode == Threshold::rel) return metric < best_ * (1 - opt_.threshold);
    return metric < best_ - opt_.threshold;
  }

  PlateauOptions opt_;
  double eta_;
  double best_ = std::numeric_limits<double>::infinity();
  std::int64_t bad_ = 0;
  std::int64_t cooldown_left_ = 0;
  std::int64_t reports_ = 0;
};

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_ON_PLATEAU_HPP
