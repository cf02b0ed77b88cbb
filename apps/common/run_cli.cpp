#include "apps/common/run_cli.h"

#include <spdlog/spdlog.h>

#include "core/errors.h"
#include "core/logging.h"
#include "engine/kernels/linear.h"

namespace sparrow::apps {

void add_console_flags(CLI::App& app, ConsoleFlags& flags) {
  app.add_flag("-q,--quiet", flags.quiet, "Only warnings and errors on the console");
  app.add_flag("-v,--verbose", flags.verbose, "Debug output on the console");
}

int run_cli(CLI::App& app, int argc, char** argv, const ConsoleFlags& console,
            const std::vector<std::pair<CLI::App*, Action>>& subcommands, const Action& fallback) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(ErrorKind::BadInput);
  }
  setup_logging(console.quiet ? Verbosity::Quiet : console.verbose ? Verbosity::Verbose : Verbosity::Normal);
  // Which micro-kernels run is a detail (sparrow bench reports it): shown with --verbose.
  kernels::set_kernel_log([](const char* message) { spdlog::debug("{}", message); });
  try {
    for (const auto& [sub, action] : subcommands)
      if (sub->parsed()) return action();
    return fallback ? fallback() : static_cast<int>(ErrorKind::BadInput);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code_for(e);
  }
}

}  // namespace sparrow::apps
