// What a resumed run must share with the run that started it (compress --resume, docs/resume.md): the recipe
// as resolved, the binary, the data and the teacher, each by a SHA-256 stored in every resume checkpoint.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>

#include "data/dataset.h"
#include "models/classifier.h"
#include "recipe/recipe.h"

namespace sparrow::pipeline {

// The recipe (resolved: overrides and seed applied), the running executable and the number of ranks: known
// before any data is read.
nlohmann::json recipe_and_binary_identity(const recipe::Recipe& r);

// Adds the data (every train and test item and label) and the teacher's weights (null when there is none).
void add_data_and_teacher(nlohmann::json& identity, const data::Dataset& train, const data::Dataset& test,
                          models::Classifier* teacher);

// BadInput naming `partial` and each part that differs, when `saved` (a checkpoint's identity) and `now`
// disagree on a part `now` has.
void check_same_run(const nlohmann::json& saved, const nlohmann::json& now, const std::filesystem::path& partial);

}  // namespace sparrow::pipeline
