#include "compress/modifiers/distillation_hidden_states.h"

#include "core/errors.h"

namespace sparrow::compress {

LayerMap default_layer_map(int64_t student_layers, int64_t teacher_layers) {
  LayerMap map{{0, 0}};
  // round(a / b) for positive integers, halves up: (2a + b) / (2b).
  for (int64_t i = 0; i < student_layers; ++i) {
    const int64_t a = (i + 1) * teacher_layers;
    map.emplace_back(i + 1, (2 * a + student_layers) / (2 * student_layers));
  }
  return map;
}

int64_t hidden_state_index(const std::string& name) {
  static const std::string layer = "bert.encoder.layer.";
  if (name == "bert.embeddings") return 0;
  if (name.rfind(layer, 0) == 0) return std::stoll(name.substr(layer.size())) + 1;
  throw InternalError("distillation: '" + name + "' is not a hidden state (the recipe parser checks the names)");
}

torch::Tensor hidden_state_loss(const std::vector<torch::Tensor>& student, const std::vector<torch::Tensor>& teacher,
                                const LayerMap& map, const torch::Tensor& attention_mask) {
  torch::Tensor total = torch::zeros({}, torch::kFloat32);
  for (const auto& [s, t] : map) {
    const auto diff2 = (student.at(static_cast<size_t>(s)) - teacher.at(static_cast<size_t>(t))).pow(2);
    if (!attention_mask.defined()) {
      total = total + diff2.mean();
    } else {
      const auto keep = attention_mask.to(torch::kFloat32).unsqueeze(-1);  // [B, L, 1]
      total = total + (diff2 * keep).sum() / (keep.sum() * static_cast<double>(diff2.size(-1)));
    }
  }
  return total / static_cast<double>(map.size());
}

}  // namespace sparrow::compress
