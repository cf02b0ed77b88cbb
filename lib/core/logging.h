#pragma once
// One spdlog set-up for every app: console on stderr (warnings only with
// --quiet, debug with --verbose) and, once an output folder exists, a full log
// file beside the outputs.
#include <filesystem>

namespace sparrow {

enum class Verbosity { Quiet, Normal, Verbose };

void setup_logging(Verbosity verbosity);
// Adds a debug-level file sink; call again with another path to move it.
void log_to_file(const std::filesystem::path& path);
// Flushes and detaches the file sink (before its folder is renamed).
void close_log_file();

}  // namespace sparrow
