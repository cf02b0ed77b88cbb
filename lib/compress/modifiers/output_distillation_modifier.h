#pragma once
// !OutputDistillationModifier: sparse fine-tuning against the teacher's layer outputs (Kurtic et al.'s
// SquareHead). The loss becomes
//   orig_scale * task loss + distill_scale * sum over the targets of comparison(student, teacher)
//   + logits_scale * T^2 * KL(teacher || student at temperature T)
// with the frozen teacher run without gradients on the same batch (recipe/modifier_params.h has the fields).
#include "compress/modifier.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class OutputDistillationModifier : public Modifier {
 public:
  OutputDistillationModifier(const recipe::OutputDistillationParams& p, std::string location);

  // The hidden-state indices the targets select in a model of `family` ("bert", "llama") with `layers`
  // layers, ascending; BadInput naming the target that selects none.
  std::vector<int64_t> target_indices(const std::string& family, int64_t layers) const;

 protected:
  void on_initialize(TrainState& state) override;
  void on_step(TrainState& state, const Event& event) override;

 private:
  recipe::OutputDistillationParams params_;
  std::string location_;
  std::vector<int64_t> targets_;  // hidden-state indices, set by on_initialize
};

}  // namespace sparrow::compress
