#pragma once
// !QuantizationModifier: from start_epoch on, the selected linear and conv
// layers train with fake quantization (INT8 weights per channel, UINT8
// activations per tensor, DESIGN.md's scheme); observers freeze at
// disable_quantization_observer_epoch. Quantization stays on to the end, so
// the final evaluation computes what the engine will.
#include <memory>

#include "compress/modifier.h"
#include "compress/quant/qat_hook.h"
#include "recipe/modifier_params.h"

namespace sparrow::compress {

class QuantizationModifier : public Modifier {
 public:
  QuantizationModifier(const recipe::QuantizationParams& p, std::string location);

  // Layers `p` selects among the model's linear and conv layers: `submodules`
  // (name prefixes; empty: all) minus `ignore` and `exclude_module_types`.
  static std::vector<std::string> select_layers(models::Classifier& model, const recipe::QuantizationParams& p);
  // The model's attention blocks whose attention runs in INT8: none unless `quantize_attention`; otherwise
  // those inside `submodules` and not named (by prefix) in `ignore`.
  static std::vector<std::string> attention_blocks(models::Classifier& model, const recipe::QuantizationParams& p);

 protected:
  void on_initialize(TrainState& state) override;
  void on_start(TrainState& state, double epoch) override;
  void on_step(TrainState& state, const Event& event) override;
  bool keeps_effect_after_end() const override { return true; }
  nlohmann::json on_save_state(std::map<std::string, torch::Tensor>& tensors) const override;
  void on_restore_state(TrainState& state, const nlohmann::json& saved,
                        const std::map<std::string, torch::Tensor>& tensors) override;

 private:
  recipe::QuantizationParams params_;
  std::string location_;
  std::vector<std::string> layers_;
  std::shared_ptr<QatHook> hook_;
};

}  // namespace sparrow::compress
