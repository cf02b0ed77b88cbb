// A recipe written somewhere else than its own folder (analyze's written recipe, a sweep's per-method recipes):
// the paths it gives relative to its own folder must be made relative to the new one.
#pragma once

#include <filesystem>

#include "recipe/recipe.h"

namespace sparrow::pipeline {

// model.from and teacher.checkpoint, given relative to r.file's folder, made relative to `out_dir` (absolute
// ones are kept).
void rebase_recipe_paths(recipe::Recipe& r, const std::filesystem::path& out_dir);

}  // namespace sparrow::pipeline
