#include "compress/modifiers/distillation_hidden_states.h"

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

torch::Tensor compare_hidden_states(const std::vector<torch::Tensor>& student, const std::vector<torch::Tensor>& teacher,
                                    const LayerMap& map, const torch::Tensor& attention_mask, HiddenStateComparison comparison) {
  torch::Tensor total = torch::zeros({}, torch::kFloat32);
  // [B, L, 1]: a weight per token, or none.
  const auto keep = attention_mask.defined() ? attention_mask.to(torch::kFloat32).unsqueeze(-1) : torch::Tensor();
  const auto masked_sum = [&](const torch::Tensor& x) { return keep.defined() ? (x * keep).sum() : x.sum(); };
  for (const auto& [s, t] : map) {
    const auto& target = teacher.at(static_cast<size_t>(t));
    const auto error = masked_sum((student.at(static_cast<size_t>(s)) - target).pow(2));
    if (comparison == HiddenStateComparison::SquareHead) {
      total = total + error / masked_sum(target.pow(2));
    } else {
      const auto tokens = keep.defined() ? keep.sum() : torch::tensor(static_cast<double>(target.numel() / target.size(-1)));
      total = total + error / (tokens * static_cast<double>(target.size(-1)));
    }
  }
  return total;
}

torch::Tensor hidden_state_loss(const std::vector<torch::Tensor>& student, const std::vector<torch::Tensor>& teacher,
                                const LayerMap& map, const torch::Tensor& attention_mask) {
  return compare_hidden_states(student, teacher, map, attention_mask, HiddenStateComparison::Mse) / static_cast<double>(map.size());
}

}  // namespace sparrow::compress
