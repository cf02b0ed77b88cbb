#include "compress/param_selection.h"

#include <algorithm>
#include <regex>

#include "core/errors.h"

namespace sparrow::compress {

std::vector<std::string> select_parameters(const models::Classifier& model, const std::vector<std::string>& patterns,
                                           const std::string& location) {
  std::vector<std::string> all;
  for (const auto& p : model.named_parameters()) all.push_back(p.key());
  const std::vector<std::string> prunable = model.prunable_parameters();
  std::vector<bool> selected(all.size(), false);
  for (const auto& pattern : patterns) {
    bool matched = false;
    for (size_t i = 0; i < all.size(); ++i) {
      bool hit;
      if (pattern == "__ALL__") {
        hit = true;
      } else if (pattern == "__ALL_PRUNABLE__") {
        hit = std::find(prunable.begin(), prunable.end(), all[i]) != prunable.end();
      } else if (pattern.rfind("re:", 0) == 0) {
        try {
          hit = std::regex_match(all[i], std::regex(pattern.substr(3)));
        } catch (const std::regex_error& e) {
          throw BadInput(location + ": params pattern '" + pattern + "' is not a valid regular expression: " + e.what());
        }
      } else {
        hit = all[i] == pattern;
      }
      matched = matched || hit;
      selected[i] = selected[i] || hit;
    }
    if (!matched) {
      std::string list;
      for (const auto& p : prunable) list += " " + p;
      throw BadInput(location + ": params pattern '" + pattern + "' matches no parameter of the model; prunable parameters:" + list);
    }
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < all.size(); ++i)
    if (selected[i]) out.push_back(all[i]);
  return out;
}

torch::Tensor parameter(models::Classifier& model, const std::string& name) {
  for (const auto& p : model.named_parameters())
    if (p.key() == name) return p.value();
  throw InternalError("no parameter named '" + name + "'");
}

double pruned_sparsity(models::Classifier& model, const std::vector<std::pair<std::string, std::string>>& pruned) {
  int64_t zeros = 0, total = 0;
  for (const auto& [name, kind] : pruned) {
    const auto w = parameter(model, name);
    zeros += (w == 0).sum().item<int64_t>();
    total += w.numel();
  }
  return total ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0;
}

}  // namespace sparrow::compress
