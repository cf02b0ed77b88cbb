#include "core/interrupt.h"

#include <csignal>

#include "core/errors.h"

namespace sparrow {

namespace {

volatile std::sig_atomic_t g_signal = 0;

void on_signal(int signal) { g_signal = signal; }

}  // namespace

void catch_interrupts() {
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction action {};
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESETHAND;  // a second signal stops the process at once
    sigemptyset(&action.sa_mask);
    ::sigaction(s, &action, nullptr);
  }
}

int interrupt_signal() { return g_signal; }

void throw_if_interrupted(const std::string& while_doing) {
  const int s = g_signal;
  if (s == 0) return;
  const char* name = s == SIGINT ? "SIGINT" : s == SIGTERM ? "SIGTERM" : s == SIGHUP ? "SIGHUP" : "a signal";
  throw Interrupted(s, std::string("interrupted by ") + name + " " + while_doing);
}

}  // namespace sparrow
