#pragma once
// Resolving a recipe's `params` (exact names, "re:<regex>", __ALL__,
// __ALL_PRUNABLE__) against a model.
#include <string>
#include <utility>
#include <vector>

#include "models/classifier.h"

namespace sparrow::compress {

// Names of the selected parameters, in the model's order. A pattern matching
// nothing is BadInput at `location`, listing the model's prunable parameters.
std::vector<std::string> select_parameters(const models::Classifier& model, const std::vector<std::string>& patterns,
                                           const std::string& location);

torch::Tensor parameter(models::Classifier& model, const std::string& name);

// Zeros over the elements of the named parameters (pairs of name and mask kind, as TrainResult::pruned).
double pruned_sparsity(models::Classifier& model, const std::vector<std::pair<std::string, std::string>>& pruned);

}  // namespace sparrow::compress
