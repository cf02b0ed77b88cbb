#pragma once
// Parameters of each recipe modifier, with SparseML's field names and
// meanings. No LibTorch here: lib/compress turns these into modifier objects.
// Epochs are fractional; a modifier is active for start_epoch <= e < end_epoch;
// end_epoch -1 means unset (to the end of training). A start_epoch of -1
// (SparseML: "start immediately") is stored as 0.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "recipe/mask_kind.h"

namespace sparrow::recipe {

// Interpolation between init and final values over [start, end).
enum class InterFunc { Linear, Cubic, InverseCubic };

struct EpochRangeParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
};

struct SetLearningRateParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  double learning_rate = 0.0;
};

enum class LrFunc { Linear, Cosine, CyclicLinear };

// The lr moves from init_lr to final_lr over [start, end) along lr_func;
// cyclic_linear restarts the linear ramp every cycle_epochs.
struct LearningRateFunctionParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  LrFunc lr_func = LrFunc::Linear;
  double init_lr = 0.0;
  double final_lr = 0.0;
  double cycle_epochs = -1.0;  // cyclic_linear only; -1: the whole range
};

enum class LrClass { StepLR, MultiStepLR, ExponentialLR };

// PyTorch's schedulers as SparseML drives them: lr_kwargs' step_size and
// milestones are in epochs; ExponentialLR decays by gamma once per epoch.
struct LearningRateParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  LrClass lr_class = LrClass::StepLR;
  double init_lr = 0.0;
  double gamma = 0.1;
  double step_size = 1.0;          // StepLR
  std::vector<double> milestones;  // MultiStepLR, absolute epochs
};

struct SetWeightDecayParams {
  double start_epoch = 0.0;
  double weight_decay = 0.0;
  std::vector<int64_t> param_groups;  // empty: every group
};

// GMPruningModifier and MagnitudePruningModifier (SparseML's alias). The
// mapping form of final_sparsity ({0.9: [params], 0.8: [params]}) is expanded
// into one modifier per sparsity when parsed.
struct GMPruningParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  double update_frequency = -1.0;
  double init_sparsity = 0.0;
  bool init_sparsity_from_param = false;  // init_sparsity: __FROM_PARAM__
  double final_sparsity = 0.0;
  std::vector<std::string> params;  // exact names, "re:<regex>", __ALL__, __ALL_PRUNABLE__
  InterFunc inter_func = InterFunc::Cubic;
  MaskKind mask;  // mask_type
  bool leave_enabled = true;
};

// One magnitude threshold across all selected parameters instead of one per parameter.
struct GlobalMagnitudePruningParams : GMPruningParams {};

// Keeps the zeros the selected parameters already have.
struct ConstantPruningParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  double update_frequency = -1.0;
  std::vector<std::string> params;
};

// Sparrow's structured pruning (!HeadPruningModifier, !NeuronPruningModifier,
// !ChannelPruningModifier, !LayerPruningModifier): the fraction of each
// group's units removed follows the GMP curve from init_sparsity to
// final_sparsity; at each update the lowest-scored units are physically
// removed from the model.
enum class Structure { Heads, Neurons, Channels, Layers };
enum class UnitScore { Magnitude, FirstOrder };  // mean |w|, or |w * dL/dw| summed over steps

struct StructuredPruningParams {
  Structure structure = Structure::Heads;
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  double update_frequency = -1.0;
  double init_sparsity = 0.0;
  double final_sparsity = 0.0;
  InterFunc inter_func = InterFunc::Cubic;
  UnitScore score = UnitScore::Magnitude;
  std::vector<std::string> modules;  // groups by name or re:<regex>; empty: every group
};

// SparseML's form names the layers to remove (removed at start_epoch);
// Sparrow's scores them instead when final_sparsity is given.
struct LayerPruningParams : StructuredPruningParams {
  LayerPruningParams() { structure = Structure::Layers; }
  std::vector<std::string> layers;
};

// Quantization-aware training. The legacy fields and the newer scheme/ignore
// form both land here; Sparrow's one scheme (DESIGN.md) is INT8 weights
// symmetric per channel, UINT8 activations asymmetric per tensor, so bits and
// symmetry are checked against it when parsed.
struct QuantizationParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  std::vector<std::string> submodules;  // empty: the whole model
  std::vector<std::string> ignore;      // module names or types left in FP32 (scheme form)
  std::vector<std::string> exclude_module_types;
  double disable_quantization_observer_epoch = -1.0;
  double freeze_bn_stats_epoch = -1.0;
  bool quantize_embeddings = true;
  bool quantize_linear_activations = true;
  bool quantize_conv_activations = true;
  // Sparrow's own field, in either form: attention's Q·Kᵀ and P·V in INT8 (docs/format.md "INT8 attention"),
  // as SparseML's quantized matmul wrappers do for BERT. Off unless a recipe sets it.
  bool quantize_attention = false;
  int64_t activation_bits = 8;
  int64_t weight_bits = 8;
  int64_t num_calibration_steps = -1;
};

// Knowledge distillation from the recipe's teacher: loss = (1 - hardness) *
// task loss + hardness * temperature^2 * KL(student/T || teacher/T), plus,
// when hidden_state_gain > 0, hidden_state_gain * the mean over mapped layers
// of MSE(student hidden state, teacher hidden state) (students with fewer
// layers). The map pairs student_layer_names[i] with teacher_layer_names[i]
// (SparseML's PerLayerDistillationModifier names: "bert.embeddings",
// "bert.encoder.layer.N"); both empty: the embeddings with each other and
// student layer i with teacher layer round((i + 1) * Lt / Ls) - 1.
struct DistillationParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  double update_frequency = -1.0;
  double hardness = 0.5;
  double temperature = 2.0;
  std::vector<std::string> distill_output_keys;
  double hidden_state_gain = 0.0;
  std::vector<std::string> student_layer_names;
  std::vector<std::string> teacher_layer_names;
};

// !OutputDistillationModifier (llm-compressor's field names): the loss becomes
//   orig_scale * task loss + distill_scale * sum over targets of comparison(student output, teacher output)
//   + logits_scale * T^2 * KL(teacher || student at temperature T)
// The targets are hidden states, by name, re:REGEX over the names, or __ALL__ (every layer's output): a
// transformer layer's output (model.layers.N, bert.encoder.layer.N) or the embeddings' (model.embed_tokens,
// bert.embeddings). comparison square_head: sum (t - s)^2 / sum t^2 per target over the batch's tokens (Kurtic et
// al.'s SquareHead); mse: the mean of (t - s)^2. logits_scale and temperature are Sparrow's fields (0: no logit term).
enum class OutputComparison { SquareHead, Mse };

struct OutputDistillationParams {
  double start_epoch = 0.0;
  double end_epoch = -1.0;
  std::vector<std::string> targets;
  OutputComparison comparison = OutputComparison::SquareHead;
  double orig_scale = 1.0;
  double distill_scale = 1.0;
  double logits_scale = 0.0;
  double temperature = 1.0;
};

// One-shot pruning from calibration data (docs/one_shot.md), with SparseML's / llm-compressor's field names:
// the selected linear weights are pruned once, at the start, to `sparsity` in `mask` (their mask_structure:
// "0:0" is unstructured; N:M; Sparrow's block4 and [r, 4]). `targets` selects weights as a GMP modifier's
// params do (names, re:<regex>, __ALL_PRUNABLE__); `ignore` removes some of them. The calibration items are the
// first num_calibration_samples of the training data's seeded order (Sparrow's own field; SparseML passes
// them to oneshot()).
struct OneShotPruningParams {
  double sparsity = 0.0;
  MaskKind mask;
  std::vector<std::string> targets{"__ALL_PRUNABLE__"};
  std::vector<std::string> ignore;
  int64_t num_calibration_samples = 64;
};

// !WandaPruningModifier: each output row keeps the weights of highest |W_ij| * ||X_j||_2; no update.
struct WandaPruningParams : OneShotPruningParams {};

// !SparseGPTModifier: masks by w^2 / [H^-1]_ii with the second-order update of the kept weights, column
// block by column block; `sequential_update`: each block of layers sees inputs from the blocks before it
// already pruned (false: every Hessian from the dense model, in one calibration pass).
// `quantize` (SparseML's field): the kept weights are also rounded to INT8 with the same compensation (GPTQ), in
// Sparrow's scheme; the recipe's !QuantizationModifier calibrates the activations.
struct SparseGPTParams : OneShotPruningParams {
  int64_t block_size = 128;
  double dampening_frac = 0.01;
  bool sequential_update = true;
  bool quantize = false;
};

using ModifierParams =
    std::variant<EpochRangeParams, SetLearningRateParams, GMPruningParams, LearningRateFunctionParams,
                 LearningRateParams, SetWeightDecayParams, GlobalMagnitudePruningParams, ConstantPruningParams,
                 LayerPruningParams, QuantizationParams, DistillationParams, StructuredPruningParams,
                 WandaPruningParams, SparseGPTParams, OutputDistillationParams>;

struct ModifierSpec {
  std::string tag;       // e.g. "GMPruningModifier" (without the '!')
  std::string location;  // file:line:column of the modifier in the recipe
  ModifierParams params;
  std::string stage;  // the stage it belongs to; empty in an unstaged recipe
  std::string path;   // its --set path: "pruning_modifiers.0", "STAGE.LIST.INDEX" in a stage
};

}  // namespace sparrow::recipe
