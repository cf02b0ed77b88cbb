#include "core/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "core/errors.h"

namespace sparrow {

namespace {
std::shared_ptr<spdlog::sinks::sink> g_file_sink;
std::filesystem::path g_file_path;
}

void setup_logging(Verbosity verbosity) {
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  console->set_pattern("%^%l%$: %v");
  console->set_level(verbosity == Verbosity::Quiet     ? spdlog::level::warn
                     : verbosity == Verbosity::Verbose ? spdlog::level::debug
                                                       : spdlog::level::info);
  auto logger = std::make_shared<spdlog::logger>("sparrow", console);
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  g_file_sink.reset();
}

void log_to_file(const std::filesystem::path& path) {
  close_log_file();
  std::shared_ptr<spdlog::sinks::basic_file_sink_mt> sink;
  try {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path.string(), /*truncate=*/false);
  } catch (const spdlog::spdlog_ex& e) {
    throw BadInput(path.string() + ": cannot open the log file: " + e.what());
  }
  sink->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
  sink->set_level(spdlog::level::debug);
  spdlog::default_logger()->sinks().push_back(sink);
  g_file_sink = sink;
  g_file_path = path;
}

void close_log_file() {
  if (!g_file_sink) return;
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), g_file_sink), sinks.end());
  auto sink = std::move(g_file_sink);
  try {
    sink->flush();
  } catch (const spdlog::spdlog_ex& e) {  // a full disk is the user's to fix, like any other output's
    throw BadInput(g_file_path.string() + ": write failed (disk full?): " + e.what());
  }
}

}  // namespace sparrow
