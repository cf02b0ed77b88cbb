#pragma once
// Progress of a long loop. On a terminal: one bar redrawn in place on stderr.
// Otherwise (CI, pipes): a plain log line at most every `interval_seconds`.
#include <chrono>
#include <cstdint>
#include <string>

namespace sparrow {

class Progress {
 public:
  Progress(std::string label, int64_t total, double interval_seconds = 10.0);
  ~Progress();
  // `status` is appended to the line, e.g. "loss 0.312".
  void update(int64_t done, const std::string& status = {});
  void finish();

 private:
  std::string label_;
  int64_t total_;
  double interval_;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

}  // namespace sparrow
