// `compress export --checkpoint DIR --out FILE`: a checkpoint folder -> one .sparrow file for the engine.
// Activation quantization comes from the folder's quantization.json (QAT); without one, --data
// calibrates it on a few batches (min/max), and without either every layer stays FP32.
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>

#include "apps/compress/command.h"
#include "core/errors.h"
#include "core/files.h"
#include "export/exporter.h"
#include "models/bert/bert_folder.h"
#include "models/llama/llama_folder.h"
#include "pipeline/causal_lm_task.h"
#include "recipe/recipe.h"
#include "pipeline/task_data.h"

namespace sparrow::apps {

namespace {

struct ExportFlags {
  std::string checkpoint;
  std::string out;
  std::string data;
  int64_t calibration_batches = 8;
  int64_t batch_size = 64;
  double min_sparse_fraction = exporter::ExportOptions{}.min_sparse_fraction;
};

// The training split of --data (its first calibration_batches * batch_size items), encoded for the model
// when it is a BERT, and cut into context windows with the folder's tokenizer when it is a Llama.
data::Dataset calibration_set(const ExportFlags& flags) {
  const fs::path dir = flags.checkpoint;
  if (models::llama::is_llama_folder(dir)) {
    if (!recipe::is_corpus_dataset(flags.data) || flags.data == "text")
      throw BadInput("--data: '" + flags.data + "': a Llama calibrates on a text corpus's training part: sotu or moby_dick");
    recipe::DataSpec spec;
    spec.dataset = flags.data;
    spec.train_limit = flags.calibration_batches * flags.batch_size;
    return pipeline::prepare_causal_lm_task(nlohmann::json::object(), spec, dir, "--data").train;
  }
  const auto bert = models::bert::is_bert_folder(dir) ? models::bert::load_bert_folder(dir, /*allow_new_head=*/false) : nullptr;
  return pipeline::load_data_for_model(flags.data, data::Split::Train, flags.calibration_batches * flags.batch_size,
                                       bert.get(), "calibrates on");
}

int run_export(const ExportFlags& flags, const CommonFlags& common) {
  exporter::ExportOptions options;
  options.min_sparse_fraction = flags.min_sparse_fraction;
  const bool has_qat = fs::exists(fs::path(flags.checkpoint) / "quantization.json");
  std::vector<data::Batch> batches;
  if (!has_qat && !flags.data.empty()) {
    const data::Dataset set = calibration_set(flags);
    batches = exporter::calibration_batches(set, flags.calibration_batches, flags.batch_size);
    // Image checkpoints do not know their class names; the dataset does.
    if (!models::bert::is_bert_folder(flags.checkpoint)) options.labels = set.label_names;
    options.input_normalization = set.normalization;
  }
  if (!has_qat && flags.data.empty())
    spdlog::warn("{} has no quantization.json and no --data was given to calibrate on: every layer is exported FP32",
                 flags.checkpoint);
  const auto summary = exporter::export_checkpoint(flags.checkpoint, flags.out, options, batches);

  // Sparse layers name their tile (output rows x inputs sharing one pattern), as `sparrow inspect` does.
  const auto tile = [](const exporter::LayerSummary& l) {
    return l.format == format::WeightFormat::sparse_int8 ? std::to_string(l.block_rows) + "x4" : std::string();
  };
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : summary.layers) {
    layers.push_back({{"name", l.name},
                      {"format", format::weight_format_name(l.format)},
                      {"shape", {l.n, l.k}},
                      {"block_sparsity", l.block_sparsity},
                      {"stored_bytes", l.stored_bytes},
                      {"dense_fp32_bytes", l.dense_fp32_bytes}});
    if (!tile(l).empty()) layers.back()["tile"] = tile(l);
  }
  if (common.json) {
    std::cout << nlohmann::json({{"file", summary.file.string()}, {"bytes", summary.file_bytes}, {"layers", layers}}).dump(2)
              << std::endl;
  } else {
    for (const auto& l : summary.layers)
      spdlog::info("{:<48} {:<11} {:<3} {:>5}x{:<5} block sparsity {:5.1f} %  {:>9} B (dense FP32 {} B)", l.name,
                   format::weight_format_name(l.format), tile(l), l.n, l.k, 100.0 * l.block_sparsity, l.stored_bytes,
                   l.dense_fp32_bytes);
    spdlog::info("wrote {} ({} bytes)", summary.file.string(), summary.file_bytes);
  }
  return 0;
}

}  // namespace

Action register_export(CLI::App& sub, const CommonFlags& common) {
  auto flags = std::make_shared<ExportFlags>();
  sub.add_option("--checkpoint", flags->checkpoint, "Checkpoint folder (a compress run's checkpoint/, a BERT or a Llama folder)")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub.add_option("--out", flags->out, "The .sparrow file to write")->required();
  sub.add_option("--data", flags->data,
                 "Calibrate activation ranges on this dataset's training split when the checkpoint has no "
                 "quantization.json (fashion_mnist, spam_assassin, a .jsonl/.csv file; for a Llama: sotu, moby_dick)");
  sub.add_option("--calibration-batches", flags->calibration_batches, "Batches to calibrate on")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--batch-size", flags->batch_size, "Items per calibration batch")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--min-sparse-fraction", flags->min_sparse_fraction,
                 "Store an INT8 layer sparse when at least this share of its 1x4 blocks is zero, else dense")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub.footer(
      "Examples:\n"
      "  compress export --checkpoint out/fashion_cnn90/checkpoint --out cnn90.sparrow\n"
      "  compress export --checkpoint bert-base-uncased/ --out bert.sparrow --data spam_assassin --calibration-batches 16\n"
      "Exit codes: 0 ok, 2 bad input, 3 internal error.");
  return [flags, &common] { return run_export(*flags, common); };
}

}  // namespace sparrow::apps
