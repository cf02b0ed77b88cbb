#include "compress/modifiers/output_distillation_modifier.h"

#include <algorithm>
#include <regex>

#include "compress/modifiers/distillation_hidden_states.h"
#include "compress/modifiers/distillation_modifier.h"
#include "core/errors.h"
#include "recipe/hidden_state_names.h"

namespace sparrow::compress {

OutputDistillationModifier::OutputDistillationModifier(const recipe::OutputDistillationParams& p, std::string location)
    : Modifier("OutputDistillationModifier", p.start_epoch, p.end_epoch, -1.0), params_(p), location_(std::move(location)) {}

std::vector<int64_t> OutputDistillationModifier::target_indices(const std::string& family, int64_t layers) const {
  const auto names = recipe::hidden_state_names(family, layers);
  if (names.empty())
    throw BadInput(location_ + ": !OutputDistillationModifier: a " + family + " model has no layer outputs to compare; BERT and Llama have");
  std::vector<int64_t> out;
  for (const auto& target : params_.targets) {
    const auto before = out.size();
    if (target == "__ALL__") {
      for (int64_t i = 1; i <= layers; ++i) out.push_back(i);
    } else if (target.rfind("re:", 0) == 0) {
      const std::regex re(target.substr(3));
      for (size_t i = 0; i < names.size(); ++i)
        if (std::regex_match(names[i], re)) out.push_back(static_cast<int64_t>(i));
    } else if (const auto i = recipe::hidden_state_index(target); i && *i < static_cast<int64_t>(names.size()) &&
                                                                  names[static_cast<size_t>(*i)] == target) {
      out.push_back(*i);
    }
    if (out.size() == before)
      throw BadInput(location_ + ": !OutputDistillationModifier: target '" + target + "' names no layer output of this " +
                     family + " model (" + names.front() + ", then " + names[1] + " to " + names.back() + ")");
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void OutputDistillationModifier::on_initialize(TrainState& state) {
  if (!state.teacher)
    throw BadInput(location_ + ": !OutputDistillationModifier needs a teacher: section (teacher: {checkpoint: DIR})");
  for (const auto& [who, model] : {std::pair<const char*, models::Classifier*>{"student", &state.model}, {"teacher", state.teacher}})
    if (!model->has_hidden_states())
      throw BadInput(location_ + ": !OutputDistillationModifier: the " + who + " (" + model->config().value("name", std::string("?")) +
                     ") has no layer outputs to compare; BERT and Llama have");
  const auto family = state.model.config().value("name", std::string());
  const auto layers = state.model.config().value("num_hidden_layers", int64_t{0});
  const auto teacher_layers = state.teacher->config().value("num_hidden_layers", int64_t{0});
  if (state.teacher->config().value("name", std::string()) != family || teacher_layers != layers)
    throw BadInput(location_ + ": !OutputDistillationModifier compares each target with the same layer of the teacher, but the "
                   "student is a " + std::to_string(layers) + "-layer " + family + " and the teacher a " + std::to_string(teacher_layers) +
                   "-layer " + state.teacher->config().value("name", std::string("?")) +
                   "; distil a smaller student with !DistillationModifier's hidden_state_gain and layer maps");
  targets_ = target_indices(family, layers);
  state.wants_hidden_states = true;
}

void OutputDistillationModifier::on_step(TrainState& state, const Event& event) {
  if (event.type != EventType::LossCalculated) return;
  std::vector<torch::Tensor> teacher_hidden;
  torch::Tensor teacher_logits;
  {
    torch::NoGradGuard no_grad;
    teacher_logits = state.teacher->logits(*state.batch, teacher_hidden);
  }
  if (state.hidden_states.front().sizes() != teacher_hidden.front().sizes())
    throw BadInput(location_ + ": !OutputDistillationModifier: the student's layer outputs " + c10::str(state.hidden_states.front().sizes()) +
                   " and the teacher's " + c10::str(teacher_hidden.front().sizes()) + " differ in shape (hidden_size must match)");
  const auto comparison = params_.comparison == recipe::OutputComparison::SquareHead ? HiddenStateComparison::SquareHead
                                                                                      : HiddenStateComparison::Mse;
  LayerMap pairs;
  for (const auto i : targets_) pairs.emplace_back(i, i);
  auto loss = params_.orig_scale * state.loss +
              params_.distill_scale * compare_hidden_states(state.hidden_states, teacher_hidden, pairs,
                                                            state.batch->attention_mask, comparison);
  if (params_.logits_scale > 0)
    loss = loss + params_.logits_scale * DistillationModifier::kd_loss(state.logits, teacher_logits, params_.temperature,
                                                                                state.batch->attention_mask);
  state.loss = loss;
}

}  // namespace sparrow::compress
