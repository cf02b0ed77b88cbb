#pragma once
// Stopping a long run cleanly on SIGINT, SIGTERM or SIGHUP. The handler only
// records the signal; the run checks at safe points (between training steps,
// between stages) and unwinds with Interrupted, so staged outputs are removed
// and the user is told what is left. A second signal kills at once, as usual.
#include <string>

namespace sparrow {

// Installs the handlers (idempotent).
void catch_interrupts();

// The signal received since catch_interrupts(), or 0.
int interrupt_signal();

// Throws Interrupted ("interrupted by SIGINT <while>") if a signal was received.
void throw_if_interrupted(const std::string& while_doing);

}  // namespace sparrow
