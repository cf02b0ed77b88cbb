#include "apps/compress/list_flags.h"

#include <algorithm>
#include <stdexcept>

#include "recipe/diagnostics.h"

namespace sparrow::apps {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items(1);
  int depth = 0;
  for (const char c : text) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) items.emplace_back();
    else if (c != ' ') items.back() += c;
  }
  return items;
}

std::vector<double> parse_sparsities(const std::string& text, const std::string& flag, std::vector<std::string>& errors) {
  std::vector<double> out;
  for (const auto& item : split_list(text)) {
    double v = -1;
    size_t used = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || !(v > 0 && v < 1))
      errors.push_back(flag + ": expected sparsities in (0, 1) separated by commas (e.g. 0.8,0.9), got '" +
                       recipe::excerpt(item) + "'");
    else if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

std::vector<recipe::MaskKind> parse_masks(const std::string& text, const std::string& flag, std::vector<std::string>& errors) {
  std::vector<recipe::MaskKind> out;
  for (const auto& item : split_list(text)) {
    try {
      const auto kind = recipe::MaskKind::parse(item);
      if (std::none_of(out.begin(), out.end(), [&](const auto& k) { return k.name() == kind.name(); })) out.push_back(kind);
    } catch (const std::invalid_argument& e) {
      errors.push_back(flag + ": " + e.what());
    }
  }
  return out;
}

}  // namespace sparrow::apps
