#pragma once
// Quantization-aware training as a linear hook: the selected linear and conv
// layers see fake-quantized inputs and weights while training (straight-
// through gradients), and in evaluation compute exactly what the engine
// computes (integer sums, then the FP32 epilogue). A quantized conv followed
// by BatchNorm is trained folded: its weight quantized after the BatchNorm's
// scale is taken in, per output channel, as the exporter folds it; until
// freeze_bn_stats() the BatchNorm normalises with the batch's statistics (and
// updates its running ones), afterwards with the running ones, frozen.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "compress/quant/activation_observer.h"
#include "compress/quant/quant_scheme.h"
#include "models/classifier.h"

namespace sparrow::compress {

class QatHook : public models::LinearHook {
 public:
  // Quantizes the layers (module names, e.g. "fc1") of `model`, and the attention of the blocks named (among
  // the model's attention_blocks()): Q, K, V and P in INT8 (compress/quant/quant_scheme.h).
  QatHook(models::Classifier& model, const std::vector<std::string>& layers,
          const std::vector<std::string>& attention_blocks = {});

  torch::Tensor linear(const torch::nn::LinearImpl& layer, const torch::Tensor& x) override;
  torch::Tensor conv2d(const torch::nn::Conv2dImpl& layer, const torch::Tensor& x) override;
  torch::Tensor conv2d_bn(const torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) override;
  torch::Tensor attention(const torch::nn::Module& block, const models::AttentionInputs& in) override;

  // Joins this step's observer all-reduces with empty ranges, in the order the layers ran.
  void step_without_items() override;

  void freeze_observers();
  void freeze_bn_stats() { bn_stats_frozen_ = true; }
  std::vector<std::string> layers() const;
  std::vector<std::string> attention_blocks() const;
  // {layer: {lo, hi, scale, zero_point}, block: {"q": {...}, "k": {...}, "v": {...}}}: what
  // quantization.json holds (K's and V's scale and zero point are the symmetric ones).
  nlohmann::json to_json() const;
  // Sets (and freezes) observers from quantization.json content; BadInput names `source`.
  void load_json(const nlohmann::json& j, const std::string& source);
  // Everything training changes, exactly (observers as they are, frozen or not, their order, BatchNorm's
  // freeze), for a resume checkpoint; restore_training_state puts a new hook of the same layers back there.
  nlohmann::json training_state() const;
  void restore_training_state(const nlohmann::json& j);

 private:
  struct Layer {
    std::string name;
    ActivationObserver observer;
  };
  struct AttentionBlock {
    std::string name;
    ActivationObserver q, k, v;
  };
  Layer* find(const torch::nn::Module& module);
  // Every observer by a name unique in this hook: a layer's name, or a block's name with "/q", "/k", "/v".
  template <typename Self>
  static auto observers_by_name(Self& self);
  // Moves the observer by x's range while training (all ranks alike), or sets it from x when evaluation comes
  // before any training.
  void observe(ActivationObserver& observer, const torch::Tensor& x, bool training);
  quant::ActivationParams qparams(Layer& layer, const torch::Tensor& x, bool training);
  // What the engine computes for a quantized conv with this weight and bias (im2col, integer sums, epilogue).
  torch::Tensor exact_conv2d(const torch::nn::Conv2dImpl& module, const torch::Tensor& x, const quant::ActivationParams& q,
                             const torch::Tensor& weight, const torch::Tensor& bias) const;

  std::map<const torch::nn::Module*, Layer> layers_;
  std::map<const torch::nn::Module*, AttentionBlock> attention_;
  // Observers in the order a training forward reaches them (learned on the first training step, which every
  // rank computes), so a rank without items makes its all-reduces in the same order as the others.
  std::vector<ActivationObserver*> training_order_;
  bool bn_stats_frozen_ = false;
};

// Names of the linear and conv modules of `model`, in model order.
std::vector<std::string> quantizable_layers(models::Classifier& model);

// quantization.json beside a checkpoint: written when the model has a QatHook,
// and read back into a frozen hook by load_quantization (no-op without the file).
void save_quantization(const std::filesystem::path& checkpoint_dir, const models::Classifier& model);
void load_quantization(const std::filesystem::path& checkpoint_dir, models::Classifier& model);

}  // namespace sparrow::compress
