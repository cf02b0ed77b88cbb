#include "recipe/limits.h"

#include <algorithm>
#include <string>

#include "recipe/expression.h"

namespace sparrow::recipe {

namespace {

enum class Size { within, too_deep, too_many };

// Counts every value it reaches, an alias each time it is used, keys included.
Size measure(const YAML::Node& node, int levels, int64_t& values) {
  if (++values > kMaxValues) return Size::too_many;
  if (!node.IsSequence() && !node.IsMap()) return Size::within;
  if (levels == 0) return Size::too_deep;
  for (const auto& item : node) {
    const Size key = node.IsMap() ? measure(item.first, levels - 1, values) : Size::within;
    if (key != Size::within) return key;
    const Size value = measure(node.IsMap() ? item.second : static_cast<const YAML::Node&>(item), levels - 1, values);
    if (value != Size::within) return value;
  }
  return Size::within;
}

bool deeper_than(const nlohmann::json& j, int levels) {
  if (!j.is_structured()) return false;
  if (levels == 0) return true;
  for (const auto& item : j)
    if (deeper_than(item, levels - 1)) return true;
  return false;
}

}  // namespace

std::string oversized(const YAML::Node& node) {
  int64_t values = 0;
  switch (measure(node, kMaxNesting, values)) {
    case Size::within: return "";
    case Size::too_deep: return "is " + too_deep_message();
    case Size::too_many: break;
  }
  return "expands to more than " + std::to_string(kMaxValues) +
         " values, each alias counted where it is used (the most a recipe or a flag may hold)";
}
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
