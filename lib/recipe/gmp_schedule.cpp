#include "recipe/gmp_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace sparrow::recipe {

double interpolate(double progress, InterFunc f) {
  const double p = std::clamp(progress, 0.0, 1.0);
  switch (f) {
    case InterFunc::Linear: return p;
    case InterFunc::Cubic: return 1.0 - std::pow(1.0 - p, 3.0);
    case InterFunc::InverseCubic: return 1.0 - std::cbrt(1.0 - p);
  }
  return p;
}

double target_sparsity(const GMPruningParams& p, double epoch) {
  if (epoch < p.start_epoch) return p.init_sparsity;
  if (p.end_epoch < 0 || epoch >= p.end_epoch) return p.final_sparsity;
  const double progress = (epoch - p.start_epoch) / (p.end_epoch - p.start_epoch);
  return p.init_sparsity + (p.final_sparsity - p.init_sparsity) * interpolate(progress, p.inter_func);
}

InterFunc parse_inter_func(const std::string& name) {
  if (name == "linear") return InterFunc::Linear;
  if (name == "cubic") return InterFunc::Cubic;
  if (name == "inverse_cubic") return InterFunc::InverseCubic;
  throw std::invalid_argument(name);
}

const char* to_string(InterFunc f) {
  switch (f) {
    case InterFunc::Linear: return "linear";
    case InterFunc::Cubic: return "cubic";
    case InterFunc::InverseCubic: return "inverse_cubic";
  }
  return "cubic";
}

}  // namespace sparrow::recipe
