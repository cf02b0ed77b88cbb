#include "recipe/limits.h"

#include <algorithm>
#include <string>

#include "recipe/expression.h"

namespace sparrow::recipe {

namespace {

bool deeper_than(const YAML::Node& node, int levels) {
  if (!node.IsSequence() && !node.IsMap()) return false;
  if (levels == 0) return true;
  for (const auto& item : node)
    if (deeper_than(node.IsMap() ? item.second : static_cast<const YAML::Node&>(item), levels - 1)) return true;
  return false;
}

bool deeper_than(const nlohmann::json& j, int levels) {
  if (!j.is_structured()) return false;
  if (levels == 0) return true;
  for (const auto& item : j)
    if (deeper_than(item, levels - 1)) return true;
  return false;
}

}  // namespace

bool too_deep(const YAML::Node& node) { return deeper_than(node, kMaxNesting); }
bool too_deep(const nlohmann::json& j) { return deeper_than(j, kMaxNesting); }

int64_t bounded_count(const std::string& digits) {
  constexpr int64_t kSaturated = 1000000000;
  int64_t v = 0;
  for (const char c : digits) v = std::min(kSaturated, v * 10 + (c - '0'));
  return v;
}

std::string above_max_epochs(const std::string& what, double value) {
  return what + " must be at most " + format_number(kMaxEpochs) + " (epochs: the longest run a recipe may plan), got " +
         format_number(value);
}

std::string too_deep_message() {
  return "nested more than " + std::to_string(kMaxNesting) + " levels deep (the most a recipe or a flag may nest)";
}

}  // namespace sparrow::recipe
