#ifndef SVERTKA_OPTIM_CALLBACKS_HPP
#define SVERTKA_OPTIM_CALLBACKS_HPP
//! @file
//! `fit` callbacks that report: `ProgressBar` (a terminal bar on stderr) and `CsvLog` (one CSV row
//! per epoch). The stopping rules are in stopping.hpp, `Checkpoint` in io/checkpoint_callback.hpp.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "svertka/optim/metrics.hpp"

namespace svertka::optim {

//! Options of `ProgressBar`.
struct ProgressOptions {
  std::FILE* out = stderr;  //!< where to draw
  bool force = false;       //!< draw even when `out` is not a terminal (tests, logs)
  double interval = 0.1;    //!< seconds between redraws
  int width = 30;           //!< characters of the bar
};

//! A one-line progress bar per epoch, redrawn in place:
//! `epoch 3/10 [===========>        ] 512/938  loss 0.4123  812.4 it/s  ETA 0:00:01`,
//! finished at the end of the epoch with its time and the evaluation. Draws nothing unless `out` is
//! a terminal (or `force`), so logs and pipes stay clean.
class ProgressBar {
 public:
  explicit ProgressBar(ProgressOptions o = {}) : opt_(o) {}

  template <class Ctx>
  void on_fit_begin(Ctx&) {
    begin();
  }
  template <class Ctx>
  void on_epoch_begin(Ctx&) {
    epoch_start_ = last_draw_ = std::chrono::steady_clock::now();
  }
  template <class Ctx>
  void on_step_end(Ctx& c) {
    draw(c.epoch, c.epochs, c.batch, c.batches_per_epoch, c.train_loss, false, {}, 0);
  }
  template <class Ctx>
  void on_epoch_end(Ctx& c) {
    draw(c.epoch, c.epochs, c.batch, c.batches_per_epoch, c.train_loss, true, c.test, c.epoch_seconds);
  }
  //! True when it draws (after `fit` started).
  bool active() const { return active_; }

 private:
  void begin();
  void draw(std::int64_t epoch, std::int64_t epochs, std::int64_t batch, std::int64_t batches, double loss, bool done,
            const Metrics& test, double seconds);

  ProgressOptions opt_;
  bool active_ = false;
  std::chrono::steady_clock::time_point epoch_start_{}, last_draw_{};
};

//! Appends one row per epoch to a CSV file, flushed at once:
//! `epoch,step,train_loss,test_loss,test_accuracy,eta,seconds` (NaN for what the evaluation did not
//! give). The file is created with its header, or appended to when `fit` resumes (first epoch > 1)
//! and it exists.
//! @throws io::IoError if the file cannot be opened or written.
class CsvLog {
 public:
  explicit CsvLog(std::filesystem::path path) : path_(std::move(path)) {}

  template <class Ctx>
  void on_fit_begin(Ctx& c) {
    open(c.first_epoch > 1);
  }
  template <class Ctx>
  void on_epoch_end(Ctx& c) {
    row(c.epoch, c.step, c.train_loss, c.test, c.eta, c.epoch_seconds);
  }
  template <class Ctx>
  void on_fit_end(Ctx&) {
    file_.reset();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  void open(bool append);
  void row(std::int64_t epoch, std::int64_t step, double train_loss, const Metrics& test, double eta, double seconds);

  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::filesystem::path path_;
  std::unique_ptr<std::FILE, Closer> file_;
};

}  // namespace svertka::optim

#endif  // SVERTKA_OPTIM_CALLBACKS_HPP
