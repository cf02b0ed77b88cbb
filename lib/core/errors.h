// The three kinds of failure Sparrow reports. Apps map them to exit codes:
// gate failed -> 1, bad input -> 2, internal -> 3 (see exit_code()); an
// interrupted run exits with 128 + the signal.
//
// Installed as <sparrow/errors.h> for the public API; the classic guard (not #pragma once) lets a file see
// both paths of this one header.
#ifndef SPARROW_CORE_ERRORS_H
#define SPARROW_CORE_ERRORS_H
#include <stdexcept>
#include <string>

namespace sparrow {

enum class ErrorKind { GateFailed = 1, BadInput = 2, Internal = 3 };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return static_cast<int>(kind_); }

 private:
  ErrorKind kind_;
};

// A recipe, data file, model, flag or .sparrow file is wrong. The message names
// the file, the field or line, and what was expected.
class BadInput : public Error {
 public:
  explicit BadInput(const std::string& message) : Error(ErrorKind::BadInput, message) {}
};

// A run finished but a recipe gate (accuracy, sparsity, speed) was not met.
class GateFailed : public Error {
 public:
  explicit GateFailed(const std::string& message) : Error(ErrorKind::GateFailed, message) {}
};

// A broken invariant inside Sparrow: a bug, not the user's fault.
class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message) : Error(ErrorKind::Internal, message) {}
};

// SIGINT, SIGTERM or SIGHUP asked a long run to stop (core/interrupt.h). Not an
// error: the process exits with 128 + the signal number, as a shell expects.
class Interrupted : public std::runtime_error {
 public:
  Interrupted(int signal, const std::string& message) : std::runtime_error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Exit code for any exception escaping an app: Sparrow's own kinds map as above,
// anything else is internal.
int exit_code_for(const std::exception& e);

}  // namespace sparrow

#endif  // SPARROW_CORE_ERRORS_H
