// The exporter: a trained (pruned, possibly quantized) zoo model -> one .sparrow file. Each layer is
// stored sparse INT8, dense INT8 or FP32: INT8 when the layer has activation quantization parameters
// (from QAT's quantization.json, or calibrated here), sparse when enough of its 1x4 blocks are zero; a
// sparse layer whose mask left R x 4 tiles (R = 4 or 2 output rows sharing the pattern) is packed in them.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "export/lower.h"
#include "format/input_normalization.h"
#include "format/writer.h"

namespace sparrow::exporter {

// UINT8 quantization of one layer's input activation (DESIGN.md), and the range it came from.
struct ActivationQuant {
  float scale = 1.0f;
  std::int32_t zero_point = 0;
  float lo = 0.0f;
  float hi = 0.0f;
};
// scale and zero point from an observed range: quant::activation_params, as the trainer chooses them.
ActivationQuant activation_quant(float lo, float hi);

// INT8 attention of one block (docs/format.md "INT8 attention"): Q's UINT8 quantization, K's and V's symmetric
// ones (zero point 128, quant::symmetric_activation_params).
struct AttentionQuant {
  ActivationQuant q, k, v;
};

struct ExportOptions {
  // A quantized layer with at least this share of all-zero 1x4 blocks is stored sparse_int8, otherwise
  // dense_int8 (../shared/KERNELS.md: the sparse kernel overtakes dense INT8 above about 40-50 %).
  double min_sparse_fraction = 0.5;
  // Input quantization per layer name (e.g. "fc1", "bert.encoder.layer.0.attention.self.query");
  // layers without an entry stay FP32.
  std::map<std::string, ActivationQuant> activations;
  // INT8 attention per attention op name (the model's attention block, e.g.
  // "bert.encoder.layer.0.attention.self"); others stay FP32. Only trained models have it (quantization.json).
  std::map<std::string, AttentionQuant> attention;
  // Metadata sparrow.quantization: "quantization.json", "calibration" or "none".
  std::string quantization_source = "none";
  std::vector<std::string> labels;  // class names; empty: the model's own (or "0", "1", ...)
  // Image models: how the training set turned pixels into inputs (the dataset's), so the engine can take pixels.
  std::optional<format::InputNormalization> input_normalization;
  std::string recipe_sha256;
  std::optional<double> trainer_accuracy;
  std::map<std::string, std::string> metadata;  // further metadata keys, e.g. sparrow.weights for untrained weights
};

struct LayerSummary {
  std::string name;
  std::string op;
  format::WeightFormat format = format::WeightFormat::fp32;
  std::int64_t n = 0, k = 0;
  double block_sparsity = 0;          // share of all-zero 1x4 blocks of the stored weight
  std::size_t block_rows = 1;         // sparse_int8: rows per tile, the largest of 4, 2, 1 the mask allows
  // format::stored_bytes and format::dense_fp32_bytes of the layer as written (bias included in both).
  std::uint64_t stored_bytes = 0;
  std::uint64_t dense_fp32_bytes = 0;
};

struct ExportSummary {
  std::filesystem::path file;
  std::uint64_t file_bytes = 0;
  std::vector<LayerSummary> layers;
};

// Stored against dense FP32 bytes summed over layers (docs/format.md "Layer size").
struct LayerTotals {
  std::uint64_t layers = 0;
  std::uint64_t stored_bytes = 0;
  std::uint64_t dense_fp32_bytes = 0;
  // dense / stored (21.3 means "1/21.3"); 0 without layers.
  double ratio() const;
};
// Over the encoder's linear layers (format::is_encoder_linear) when encoder_only, else over every layer.
LayerTotals layer_totals(const ExportSummary& summary, bool encoder_only);

// quantization.json of a QAT checkpoint into options.activations and options.attention:
// {"<layer>": {"scale": f, "zero_point": i, "lo": f, "hi": f}, "<attention block>": {"q": {...}, "k": {...},
// "v": {...}}}. Malformed entries, or names `graph` has no layer or attention op for, are BadInput naming the
// file and entry.
void read_quantization_json(const std::filesystem::path& file, const LoweredGraph& graph, ExportOptions& options);

// Min/max of each quantizable layer's input over the batches -> its quantization.
std::map<std::string, ActivationQuant> calibrate(const LoweredGraph& graph, const std::vector<data::Batch>& batches);
// The first `count` batches of `set` in item order, for calibrate().
std::vector<data::Batch> calibration_batches(const data::Dataset& set, std::int64_t count, std::int64_t batch_size);

// The file's content for a lowered graph (tests inspect the writer; export_* write it).
format::Writer build_file(const LoweredGraph& graph, const ExportOptions& options, ExportSummary* summary = nullptr);

// Writes `out` (atomically) for a model in memory.
ExportSummary export_model(models::Classifier& model, const std::filesystem::path& out, const ExportOptions& options);

// Exports a checkpoint folder (Sparrow checkpoint or Hugging Face BERT folder). Activation quantization:
// the folder's quantization.json when present; else calibrated on `calibration` when it holds batches;
// else every layer stays FP32. recipe_sha256 and trainer_accuracy default to the checkpoint's safetensors
// metadata and the report.json beside the folder, when present.
ExportSummary export_checkpoint(const std::filesystem::path& dir, const std::filesystem::path& out, ExportOptions options,
                                const std::vector<data::Batch>& calibration = {});

}  // namespace sparrow::exporter
