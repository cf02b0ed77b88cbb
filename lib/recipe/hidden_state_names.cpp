#include "recipe/hidden_state_names.h"

namespace sparrow::recipe {

namespace {

struct Family {
  const char* name;
  const char* embeddings;
  const char* layer_prefix;
};

constexpr Family kFamilies[] = {{"bert", "bert.embeddings", "bert.encoder.layer."}, {"llama", "model.embed_tokens", "model.layers."}};

}  // namespace

std::optional<int64_t> hidden_state_index(const std::string& name) {
  for (const auto& f : kFamilies) {
    if (name == f.embeddings) return 0;
    const std::string prefix = f.layer_prefix;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    // Digits only, no leading zero, and few enough that the number cannot overflow.
    if (digits.empty() || digits.size() > 6 || (digits.size() > 1 && digits[0] == '0') ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return std::stoll(digits) + 1;
  }
  return std::nullopt;
}

std::vector<std::string> hidden_state_names(const std::string& family, int64_t num_layers) {
  for (const auto& f : kFamilies) {
    if (family != f.name) continue;
    std::vector<std::string> names{f.embeddings};
    for (int64_t i = 0; i < num_layers; ++i) names.push_back(f.layer_prefix + std::to_string(i));
    return names;
  }
  return {};
}

}  // namespace sparrow::recipe
