#include "svertka/optim/callbacks.hpp"

#include <cerrno>
#include <cmath>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <unistd.h>

#include "svertka/core/io_error.hpp"

namespace svertka::optim {
namespace {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<long long>(seconds + 0.5);
  return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

}  // namespace

void ProgressBar::begin() { active_ = opt_.force || ::isatty(::fileno(opt_.out)) == 1; }

void ProgressBar::draw(std::int64_t epoch, std::int64_t epochs, std::int64_t batch, std::int64_t batches, double loss,
                       bool done, const Metrics& test, double seconds) {
  if (!active_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!done && batch != batches && std::chrono::duration<double>(now - last_draw_).count() < opt_.interval) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(batch) / elapsed : 0.0;
  const int filled = batches > 0 ? static_cast<int>(opt_.width * batch / batches) : opt_.width;
  std::string bar(static_cast<std::size_t>(opt_.width), ' ');
  for (int i = 0; i < filled; ++i) bar[static_cast<std::size_t>(i)] = '=';
  if (filled < opt_.width) bar[static_cast<std::size_t>(filled)] = '>';
  std::string line = fmt::format("\repoch {}/{} [{}] {}/{}  loss {:.4f}", epoch, epochs, bar, batch, batches, loss);
  if (!done) {
    line += fmt::format("  {:.1f} it/s  ETA {}", rate, clock_text(rate > 0 ? static_cast<double>(batches - batch) / rate : NAN));
  } else {
    line += fmt::format("  {:.2f} s", seconds);
    if (!std::isnan(test.loss)) line += fmt::format("  test_loss {:.4f}", test.loss);
    if (!std::isnan(test.accuracy)) line += fmt::format("  test_acc {:.4f}", test.accuracy);
  }
  line += "\x1b[K";  // clear what a longer previous line left
  if (done) line += '\n';
  std::fputs(line.c_str(), opt_.out);
  std::fflush(opt_.out);
}

void CsvLog::open(bool append) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(path_, ec);
  file_.reset(std::fopen(path_.c_str(), append && exists ? "a" : "w"));
  if (!file_)
    throw io::IoError(fmt::format("CsvLog: {} cannot be opened for writing ({})", path_.string(),
                                  std::error_code(errno, std::generic_category()).message()));
  if (!(append && exists)) {
    std::fputs("epoch,step,train_loss,test_loss,test_accuracy,eta,seconds\n", file_.get());
    std::fflush(file_.get());
  }
}

void CsvLog::row(std::int64_t epoch, std::int64_t step, double train_loss, const Metrics& test, double eta,
                 double seconds) {
  if (!file_) return;
  const std::string line = fmt::format("{},{},{},{},{},{},{:.3f}\n", epoch, step, train_loss, test.loss, test.accuracy, eta, seconds);
  if (std::fputs(line.c_str(), file_.get()) < 0 || std::fflush(file_.get()) != 0)
    throw io::IoError(fmt::format("CsvLog: writing {} failed ({})", path_.string(),
                                  std::error_code(errno, std::generic_category()).message()));
}

}  // namespace svertka::optim
