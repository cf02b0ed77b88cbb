#include "pipeline/recipe_copy.h"

namespace sparrow::pipeline {

namespace fs = std::filesystem;

namespace {

std::string rebased(const std::string& path, const fs::path& base_dir, const fs::path& out_dir) {
  if (fs::path(path).is_absolute()) return path;
  const fs::path target = fs::absolute(base_dir / path).lexically_normal();
  return target.lexically_relative(fs::absolute(out_dir).lexically_normal()).generic_string();
}

}  // namespace

void rebase_recipe_paths(recipe::Recipe& r, const fs::path& out_dir) {
  const fs::path base_dir = r.file.parent_path();
  if (r.model.options.contains("from") && r.model.options["from"].is_string())
    r.model.options["from"] = rebased(r.model.options["from"].get<std::string>(), base_dir, out_dir);
  if (!r.teacher.checkpoint.empty()) r.teacher.checkpoint = rebased(r.teacher.checkpoint, base_dir, out_dir);
}

}  // namespace sparrow::pipeline
