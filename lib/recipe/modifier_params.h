#pragma once
// Parameters of each recipe modifier, with SparseML's field names. No LibTorch
// here: lib/compress turns these into modifier objects.
#include <string>
#include <variant>
#include <vector>

namespace sparrow::recipe {

// Interpolation between init and final values over [start, end).
enum class InterFunc { Linear, Cubic, InverseCubic };

struct EpochRangeParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
};

struct SetLearningRateParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  double learning_rate = 0.0;
};

struct GMPruningParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  double update_frequency = -1.0;
  double init_sparsity = 0.0;
  double final_sparsity = 0.0;
  std::vector<std::string> params;  // exact names or "re:<regex>"
  InterFunc inter_func = InterFunc::Cubic;
  std::string mask_type = "unstructured";
  bool leave_enabled = true;
};

using ModifierParams = std::variant<EpochRangeParams, SetLearningRateParams, GMPruningParams>;

struct ModifierSpec {
  std::string tag;       // e.g. "GMPruningModifier" (without the '!')
  std::string location;  // file:line:column of the modifier in the recipe
  ModifierParams params;
};

}  // namespace sparrow::recipe
