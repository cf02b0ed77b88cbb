// Shared by the engine's parity tests: small zoo models with LibTorch references, exported to .sparrow
// bytes, and the comparison of engine logits against reference logits.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "compress/quant/qat_hook.h"
#include "data/batch.h"
#include "engine/classifier.h"
#include "export/exporter.h"
#include "models/classifier.h"

namespace sparrow::engine_test {

// How far engine logits may be from the reference (docs/engine.md "Parity"):
// FP32 layers differ only by summation order; INT8 layers compute the same integer sums, but an FP32 value
// that lands within rounding of a quantization step may round the other way and move one input by one step.
inline constexpr float kFp32Tolerance = 1e-4f;   // relative to max(1, |logit|)
inline constexpr float kInt8Tolerance = 1e-2f;   // relative to max(1, |logit|); measured: 2.1e-3 on bert90

struct Comparison {
  std::size_t items = 0;
  std::size_t agree = 0;   // same argmax
  float max_diff = 0;      // max |engine - reference| / max(1, |reference|)
};

Comparison compare_logits(const std::vector<engine::Prediction>& engine, const torch::Tensor& reference);

// The engine over a model exported in memory (no file on disk).
std::shared_ptr<const engine::Model> load_bytes(const std::string& bytes);

// Runs the engine on a batch of the kind the trainer evaluates: images [B, ...] or ids + mask [B, L]
// (the engine gets each batch trimmed to its longest item, as `sparrow run` does).
std::vector<engine::Prediction> run_engine(engine::Classifier& classifier, const data::Batch& batch);

// n random single-channel 12×12 images (the parity CNNs' input), labels 0.
data::Batch image_batch(std::int64_t n);

// The engine and the model (no gradients) on the same batch.
Comparison engine_vs_model(engine::Classifier& classifier, models::Classifier& model, const data::Batch& batch);

// Every item's label agrees and every logit is within `tolerance` (Catch checks, the ISA in the message).
void check_parity(const Comparison& c, float tolerance);

// Both engines give every item of `batch` the same logits, bit for bit (Catch checks).
void check_identical_logits(engine::Classifier& a, engine::Classifier& b, const data::Batch& batch);

// The trainer's quantized evaluation of `model`: a frozen QAT hook with the export's activation ranges.
void attach_quantization(models::Classifier& model, const exporter::ExportOptions& options);

}  // namespace sparrow::engine_test
