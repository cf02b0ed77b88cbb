#include "core/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace sparrow {

Progress::Progress(std::string label, int64_t total, double interval_seconds)
    : label_(std::move(label)),
      total_(total > 0 ? total : 1),
      interval_(interval_seconds),
      tty_(::isatty(STDERR_FILENO) != 0 && spdlog::default_logger()->should_log(spdlog::level::info)),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() { finish(); }

void Progress::update(int64_t done, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_print_).count();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = static_cast<double>(done) / static_cast<double>(total_);
  if (tty_) {
    if (since_last < 0.1 && done < total_) return;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::fprintf(stderr, "\r%s [%s%s] %3d%% %.0fs %s\033[K", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), static_cast<int>(fraction * 100), elapsed, status.c_str());
    std::fflush(stderr);
  } else {
    if (since_last < interval_ && done < total_) return;
    spdlog::info("{} {}/{} ({:.0f}%) {:.0f}s {}", label_, done, total_, fraction * 100, elapsed, status);
  }
  last_print_ = now;
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (tty_) std::fprintf(stderr, "\r\033[K");
}

}  // namespace sparrow
