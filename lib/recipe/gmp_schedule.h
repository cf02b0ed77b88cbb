#pragma once
// The sparsity a gradual magnitude pruning modifier asks for at a fractional
// epoch: init before start, final from end on, interpolated in between.
#include "recipe/modifier_params.h"

namespace sparrow::recipe {

// Maps progress p in [0, 1] through the interpolation curve (SparseML's shapes:
// cubic = 1 - (1 - p)^3, inverse_cubic = 1 - (1 - p)^(1/3)).
double interpolate(double progress, InterFunc f);

double target_sparsity(const GMPruningParams& p, double epoch);

InterFunc parse_inter_func(const std::string& name);  // throws BadInput-free std::invalid_argument
const char* to_string(InterFunc f);

}  // namespace sparrow::recipe
