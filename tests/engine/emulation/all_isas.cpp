// The test-side replacement of mayiuse declared through all_isas.h: every kernel is runnable here.
#include "engine/kernels/isa.h"

namespace sparrow::kernels {
bool mayiuse_all_isas(Isa) { return true; }
}  // namespace sparrow::kernels
