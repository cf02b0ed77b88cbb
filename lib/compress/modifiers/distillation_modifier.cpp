#include "compress/modifiers/distillation_modifier.h"

#include <tuple>

#include "core/errors.h"
#include "recipe/hidden_state_names.h"

namespace sparrow::compress {

DistillationModifier::DistillationModifier(const recipe::DistillationParams& p, std::string location)
    : Modifier("DistillationModifier", p.start_epoch, p.end_epoch, -1.0), params_(p), location_(std::move(location)) {
  for (const auto& key : p.distill_output_keys)
    if (key != "logits" && key != "0")
      throw BadInput(location_ + ": distill_output_keys: Sparrow's models give one output, 'logits' (or 0); got '" + key + "'");
}

torch::Tensor DistillationModifier::kd_loss(const torch::Tensor& student, const torch::Tensor& teacher,
                                            double temperature, const torch::Tensor& attention_mask) {
  namespace F = torch::nn::functional;
  // Over the classes, the last dimension: [B, C] for a classifier, [B, T, V] for a causal LM's next tokens.
  const auto log_p_student = F::log_softmax(student / temperature, F::LogSoftmaxFuncOptions(-1));
  const auto log_p_teacher = F::log_softmax(teacher / temperature, F::LogSoftmaxFuncOptions(-1));
  // KL(teacher || student), averaged over the items (and a causal LM's positions), scaled by T^2 so its
  // gradients keep their size as T changes (Hinton et al.).
  const auto per_item = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1);
  // A causal LM's padding positions predict nothing: they are left out of the mean.
  if (attention_mask.defined() && per_item.dim() == 2 && attention_mask.sizes() == per_item.sizes()) {
    const auto keep = attention_mask.to(per_item.scalar_type());
    return (per_item * keep).sum() / keep.sum().clamp_min(1.0) * (temperature * temperature);
  }
  return per_item.mean() * (temperature * temperature);
}

void DistillationModifier::on_initialize(TrainState& state) {
  if (!state.teacher)
    throw BadInput(location_ + ": !DistillationModifier needs a teacher: section (teacher: {checkpoint: DIR} or teacher: self)");
  if (params_.hidden_state_gain <= 0) return;
  for (const auto& [who, model] : {std::pair<const char*, models::Classifier*>{"student", &state.model}, {"teacher", state.teacher}})
    if (!model->has_hidden_states())
      throw BadInput(location_ + ": hidden_state_gain: the " + who + " (" + model->config().value("name", std::string("?")) +
                     ") has no hidden states to distil; BERT and Llama have");
  state.wants_hidden_states = true;
}

LayerMap DistillationModifier::layer_map(const std::vector<torch::Tensor>& student,
                                         const std::vector<torch::Tensor>& teacher) const {
  const auto count = static_cast<int64_t>(student.size()), teacher_count = static_cast<int64_t>(teacher.size());
  if (params_.student_layer_names.empty()) return default_layer_map(count - 1, teacher_count - 1);
  LayerMap map;
  for (size_t i = 0; i < params_.student_layer_names.size(); ++i) {
    // The recipe parser accepted only names with an index.
    const auto s = *recipe::hidden_state_index(params_.student_layer_names[i]);
    const auto t = *recipe::hidden_state_index(params_.teacher_layer_names[i]);
    for (const auto& [name, index, available, who] :
         {std::tuple{params_.student_layer_names[i], s, count, "student"}, std::tuple{params_.teacher_layer_names[i], t, teacher_count, "teacher"}})
      if (index >= available)
        throw BadInput(location_ + ": " + who + "_layer_names: '" + name + "', but the " + who + " has " +
                       std::to_string(available - 1) + " encoder layers");
    map.emplace_back(s, t);
  }
  return map;
}

void DistillationModifier::on_step(TrainState& state, const Event& event) {
  if (event.type != EventType::LossCalculated) return;
  const bool hidden = params_.hidden_state_gain > 0;
  torch::Tensor teacher_logits;
  std::vector<torch::Tensor> teacher_hidden;
  {
    torch::NoGradGuard no_grad;
    teacher_logits = hidden ? state.teacher->logits(*state.batch, teacher_hidden) : state.teacher->logits(*state.batch);
  }
  const double h = params_.hardness;
  state.loss = h * kd_loss(state.logits, teacher_logits, params_.temperature, state.batch->attention_mask) + (1.0 - h) * state.loss;
  if (!hidden) return;
  if (state.hidden_states.front().sizes() != teacher_hidden.front().sizes())
    throw BadInput(location_ + ": hidden_state_gain: the student's hidden states " + c10::str(state.hidden_states.front().sizes()) +
                   " and the teacher's " + c10::str(teacher_hidden.front().sizes()) + " differ in shape (hidden_size must match)");
  state.loss = state.loss + params_.hidden_state_gain * hidden_state_loss(state.hidden_states, teacher_hidden,
                                                                          layer_map(state.hidden_states, teacher_hidden),
                                                                          state.batch->attention_mask);
}

}  // namespace sparrow::compress
