#pragma once
// Builds a zoo model by name from a recipe's model: section (or a saved config.json): checked by
// check_model_config (model_config.h), so unknown names and fields, wrong types and sizes out of range
// are BadInput naming them before anything is allocated.
#include <memory>

#include "models/classifier.h"

namespace sparrow::models {

// `config` holds "name" and the model's own fields; `context` prefixes errors
// (the recipe file or the checkpoint folder).
std::shared_ptr<Classifier> build_model(const nlohmann::json& config, const std::string& context);

}  // namespace sparrow::models
