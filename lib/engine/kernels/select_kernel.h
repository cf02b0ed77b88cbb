// Run-time choice of a micro-kernel from its table (.inc order, best first), logged once per table.
#pragma once

#include <string>
#include <vector>

#include "engine/kernels/isa.h"

namespace sparrow::kernels {

// One row of a table whose kernels need no tile sizes.
template <class Fn>
struct IsaKernel {
  const char* name;
  Isa isa;
  Fn fn;
};

// Sends one line to the log set with set_kernel_log (linear.h), if any.
void log_kernel_choice(const std::string& message);

// The first entry this CPU may use; every table ends with a scalar entry, so one always exists.
template <class K>
const K& select_kernel(const std::vector<K>& table, const char* what) {
  std::string skipped;
  for (const K& k : table) {
    if (mayiuse(k.isa)) {
      std::string msg = std::string("using ") + what + " kernel '" + k.name + "' (max ISA " + isa_name(max_isa()) + ")";
      if (!skipped.empty()) msg += "; skipped" + skipped;
      log_kernel_choice(msg);
      return k;
    }
    skipped += std::string(" ") + k.name;
  }
  return table.back();
}

}  // namespace sparrow::kernels
