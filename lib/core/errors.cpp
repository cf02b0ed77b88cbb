#include "core/errors.h"

namespace sparrow {

int exit_code_for(const std::exception& e) {
  if (const auto* err = dynamic_cast<const Error*>(&e)) return err->exit_code();
  if (const auto* stop = dynamic_cast<const Interrupted*>(&e)) return 128 + stop->signal();
  return static_cast<int>(ErrorKind::Internal);
}

}  // namespace sparrow
