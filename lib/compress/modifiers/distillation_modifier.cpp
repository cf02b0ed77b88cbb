#include "compress/modifiers/distillation_modifier.h"

#include "core/errors.h"

namespace sparrow::compress {

DistillationModifier::DistillationModifier(const recipe::DistillationParams& p, std::string location)
    : Modifier("DistillationModifier", p.start_epoch, p.end_epoch, -1.0), params_(p), location_(std::move(location)) {
  for (const auto& key : p.distill_output_keys)
    if (key != "logits" && key != "0")
      throw BadInput(location_ + ": distill_output_keys: Sparrow's models give one output, 'logits' (or 0); got '" + key + "'");
}

torch::Tensor DistillationModifier::kd_loss(const torch::Tensor& student, const torch::Tensor& teacher,
                                            double temperature) {
  namespace F = torch::nn::functional;
  const auto log_p_student = F::log_softmax(student / temperature, F::LogSoftmaxFuncOptions(1));
  const auto log_p_teacher = F::log_softmax(teacher / temperature, F::LogSoftmaxFuncOptions(1));
  // KL(teacher || student), averaged over the batch, scaled by T^2 so its
  // gradients keep their size as T changes (Hinton et al.).
  const auto kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(1).mean();
  return kl * (temperature * temperature);
}

void DistillationModifier::on_initialize(TrainState& state) {
  if (!state.teacher)
    throw BadInput(location_ + ": !DistillationModifier needs a teacher: section (teacher: {checkpoint: DIR} or teacher: self)");
}

void DistillationModifier::on_step(TrainState& state, const Event& event) {
  if (event.type != EventType::LossCalculated) return;
  torch::Tensor teacher_logits;
  {
    torch::NoGradGuard no_grad;
    teacher_logits = state.teacher->logits(*state.batch);
  }
  const double h = params_.hardness;
  state.loss = h * kd_loss(state.logits, teacher_logits, params_.temperature) + (1.0 - h) * state.loss;
}

}  // namespace sparrow::compress
