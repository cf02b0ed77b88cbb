// Fuzz target for recipe parsing and validation, overrides included (tests/fuzz/CMakeLists.txt;
// docs/fuzzing.md). The input is a recipe's YAML; its comment lines "#set NAME=VALUE" and
// "#args {json}" become --set and --recipe-args, so every seed stays a valid recipe, and a first line
// "#md" makes it a Markdown recipe (YAML front matter). Any input must be
// rejected with BadInput or give a recipe whose resolved YAML parses back to the same resolved YAML.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/errors.h"
#include "recipe/recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sparrow::recipe;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Overrides overrides;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("#set ", 0) == 0) overrides.sets.push_back(line.substr(5));
    else if (line.rfind("#args ", 0) == 0) overrides.recipe_args_json = line.substr(6);
  }
  std::string resolved;
  try {
    const Recipe r = parse_recipe(text, text.rfind("#md\n", 0) == 0 ? "fuzz.md" : "fuzz.yaml", overrides);
    (void)planned_epochs(r);
    resolved = resolved_yaml(r);
  } catch (const sparrow::BadInput&) {
    return 0;
  }
  std::string again;
  try {
    again = resolved_yaml(parse_recipe(resolved, "resolved.yaml"));
  } catch (const sparrow::BadInput& e) {
    throw std::logic_error(std::string("the resolved recipe does not parse: ") + e.what() + "\n" + resolved);
  }
  if (again != resolved) throw std::logic_error("the resolved recipe changes when parsed again:\n" + resolved + "\n--- became ---\n" + again);
  return 0;
}
