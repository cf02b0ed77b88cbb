// `compress eval --model DIR --data FILE_OR_BUILTIN`: accuracy of a zoo or
// Hugging Face model in LibTorch, without training; optionally every item's
// logits and predicted label as JSONL, to compare with another implementation.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "apps/compress/command.h"
#include "compress/quant/qat_hook.h"
#include "core/errors.h"
#include "core/files.h"
#include "models/checkpoint.h"
#include "pipeline/evaluation.h"
#include "pipeline/task_data.h"

namespace sparrow::apps {

namespace {

struct EvalFlags {
  std::string model_dir;
  std::string data;
  std::string predictions;
  int64_t batch_size = 64;
  int64_t limit = 0;
  bool json = false;
};

int run_eval(const EvalFlags& flags, const CommonFlags& common) {
  const fs::path dir = flags.model_dir;
  if (!fs::is_directory(dir)) throw BadInput("--model: " + flags.model_dir + " is not a model folder");
  const std::shared_ptr<models::Classifier> model = models::load_checkpoint(dir);
  // A quantization-aware trained checkpoint evaluates as the engine computes.
  compress::load_quantization(dir, *model);
  const data::Dataset set = pipeline::load_data_for_model(
      flags.data, data::Split::Test, flags.limit, dynamic_cast<models::bert::BertForSequenceClassification*>(model.get()), "needs");
  const pipeline::Evaluation e = pipeline::evaluate(*model, set, flags.batch_size);
  if (!flags.predictions.empty()) write_file_atomic(flags.predictions, pipeline::predictions_jsonl(e, set));
  const nlohmann::json result = {{"model", flags.model_dir},
                                 {"data", flags.data},
                                 {"items", set.size()},
                                 {"correct", e.correct},
                                 {"accuracy", e.accuracy},
                                 {"items_per_second", e.items_per_second}};
  if (flags.json || common.json) {
    std::cout << result.dump(2) << std::endl;
  } else {
    std::cout << fmt::format("accuracy {:.4f} ({} of {} items) on {} with {}", e.accuracy, e.correct, set.size(), flags.data,
                             flags.model_dir)
              << std::endl;
  }
  return 0;
}

}  // namespace

Action register_eval(CLI::App& sub, const CommonFlags& common) {
  auto flags = std::make_shared<EvalFlags>();
  sub.add_option("--model", flags->model_dir, "Model folder: a Sparrow checkpoint or a Hugging Face BERT folder")->required();
  sub.add_option("--data", flags->data,
                 "A .jsonl/.csv text file (every item) or a built-in dataset's test split (spam_assassin, fashion_mnist). "
                 "Every JSONL line needs \"text\" and \"label\" (a CSV file: text and label columns), since accuracy "
                 "compares with the label")
      ->required();
  sub.add_option("--predictions", flags->predictions, "Write each item's label, prediction and logits here (JSONL)");
  sub.add_option("--batch-size", flags->batch_size, "Items per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  sub.add_option("--limit", flags->limit, "Evaluate only the first N items (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub.add_flag("--json", flags->json, "Print the result as JSON on stdout");
  sub.footer(
      "Examples:\n"
      "  compress eval --model out/fashion_cnn90/checkpoint --data fashion_mnist\n"
      "  compress eval --model out/bert90/checkpoint --data spam_assassin --predictions preds.jsonl --json\n"
      "  compress eval --model out/bert90/checkpoint --data mail.jsonl   # lines {\"text\": \"...\", \"label\": \"spam\"}\n"
      "Exit codes: 0 ok, 2 bad input, 3 internal error.");
  return [flags, &common] { return run_eval(*flags, common); };
}

}  // namespace sparrow::apps
