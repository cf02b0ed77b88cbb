#include "engine/ops/ops.h"

namespace sparrow::engine::ops {

namespace {
std::size_t product(const std::vector<std::size_t>& s) {
  std::size_t p = 1;
  for (const std::size_t d : s) p *= d;
  return p;
}
}  // namespace

std::size_t OpArgs::in_elements(std::size_t i) const { return product(*in_shape[i]); }
std::size_t OpArgs::out_elements() const { return product(*out_shape); }

}  // namespace sparrow::engine::ops
