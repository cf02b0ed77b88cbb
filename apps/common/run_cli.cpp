#include "apps/common/run_cli.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "core/errors.h"
#include "core/logging.h"
#include "engine/engine.h"
#include "engine/kernels/linear.h"

namespace sparrow::apps {

namespace {

constexpr const char* kThreadsVariable = "SPARROW_THREADS";

int parse_and_run(CLI::App& app, int argc, char** argv, const ConsoleFlags& console,
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

// std::cout's buffer in both apps: passes everything to stdio's stdout and keeps the errno of the first
// write that failed. Once the stream is bad, later flushes do nothing, so errno at the end would say nothing.
class StandardOutput : public std::streambuf {
 public:
  int error() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    return std::fputc(c, stdout) == EOF ? failed() : c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const std::size_t written = std::fwrite(s, 1, static_cast<std::size_t>(n), stdout);
    if (written < static_cast<std::size_t>(n)) failed();
    return static_cast<std::streamsize>(written);
  }
  int sync() override { return std::fflush(stdout) == 0 ? 0 : (failed(), -1); }

 private:
  int_type failed() {
    if (error_ == 0) error_ = errno != 0 ? errno : EIO;
    return traits_type::eof();
  }
  int error_ = 0;
};

// Predictions or a report that never reached standard output (a full disk, a closed descriptor) must not
// end in exit 0.
int check_standard_output(int code, StandardOutput& out) {
  out.pubsync();
  if (out.error() == 0 && !std::ferror(stdout)) return code;
  spdlog::error("standard output: cannot write: {}", std::strerror(out.error() != 0 ? out.error() : EIO));
  return code == 0 ? static_cast<int>(ErrorKind::BadInput) : code;
}

}  // namespace

void add_console_flags(CLI::App& app, ConsoleFlags& flags) {
  app.add_flag("-q,--quiet", flags.quiet, "Only warnings and errors on the console");
  app.add_flag("-v,--verbose", flags.verbose, "Debug output on the console");
}

CLI::Option* add_threads_option(CLI::App& app, int& threads, const std::string& help, const std::string& default_text) {
  // Not CLI11's envname(): it reports a bad variable as a bad --threads. The callback is forced instead, so
  // it also runs when the flag is absent (with an empty value) and then reads the variable itself. CLI11
  // forces it in the subcommands that were not chosen too: those ignore it.
  const auto set = [&app, &threads](const std::string& text) {
    if (!app.parsed()) return;
    const char* variable = std::getenv(kThreadsVariable);
    try {
      if (!text.empty()) threads = static_cast<int>(engine::parse_thread_count(text, "--threads"));
      else if (variable && *variable) threads = static_cast<int>(engine::parse_thread_count(variable, kThreadsVariable));
    } catch (const BadInput& e) {
      throw CLI::ValidationError(e.what());
    }
  };
  return app
      .add_option_function<std::string>(
          "--threads", set,
          fmt::format("{}, 1 to {} (default: {}; environment: {})", help, engine::kMaxThreads, default_text, kThreadsVariable))
      ->type_name("N")
      ->force_callback();
}

int run_cli(CLI::App& app, int argc, char** argv, const ConsoleFlags& console,
            const std::vector<std::pair<CLI::App*, Action>>& subcommands, const Action& fallback) {
  // The log is on stderr from the start: standard output may be what fails, even for --help.
  setup_logging(Verbosity::Normal);
  StandardOutput out;
  std::streambuf* const previous = std::cout.rdbuf(&out);
  const int code = check_standard_output(parse_and_run(app, argc, argv, console, subcommands, fallback), out);
  std::cout.rdbuf(previous);
  return code;
}

}  // namespace sparrow::apps
