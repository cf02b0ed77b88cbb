// `compress eval --model DIR --data FILE_OR_BUILTIN`: accuracy of a zoo or
// Hugging Face model in LibTorch, without training; optionally every item's
// logits and predicted label as JSONL, to compare with another implementation.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <iostream>
#include <memory>

#include "apps/compress/command.h"
#include "core/errors.h"
#include "core/files.h"
#include "data/dataset.h"
#include "data/text/text_dataset.h"
#include "models/bert/bert_folder.h"
#include "models/bert/text_task.h"
#include "compress/quant/qat_hook.h"
#include "models/checkpoint.h"

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

// --data: a .jsonl / .csv file (every item), or a built-in dataset's test split.
data::Dataset load_eval_data(const EvalFlags& flags, models::Classifier& model) {
  auto* bert = dynamic_cast<models::bert::BertForSequenceClassification*>(&model);
  const fs::path path = flags.data;
  const bool file = path.extension() == ".jsonl" || path.extension() == ".csv";
  recipe::DataSpec spec;
  spec.dataset = flags.data;
  spec.test_limit = flags.limit;
  if (!file && !data::text::is_text_dataset(flags.data)) {
    if (bert) throw BadInput("--data: '" + flags.data + "' is not text; a BERT needs a .jsonl/.csv file or spam_assassin");
    return data::load_dataset(spec, data::Split::Test);
  }
  if (!bert) throw BadInput("--data: '" + flags.data + "' holds text but the model is not a BERT");
  if (!file && flags.data != "spam_assassin")
    throw BadInput("--data: '" + flags.data + "' needs a file; give a path ending in .jsonl or .csv");
  data::text::TextDataset texts =
      file ? data::text::load_text_file(path) : data::text::load_text_dataset(spec, data::Split::Test);
  if (file && flags.limit > 0 && texts.size() > flags.limit) {
    texts.texts.resize(static_cast<size_t>(flags.limit));
    texts.labels.resize(static_cast<size_t>(flags.limit));
  }
  return models::bert::encode_for(*bert, texts);
}

int run_eval(const EvalFlags& flags, const CommonFlags& common) {
  const fs::path dir = flags.model_dir;
  if (!fs::is_directory(dir)) throw BadInput("--model: " + flags.model_dir + " is not a model folder");
  const std::shared_ptr<models::Classifier> model = models::load_checkpoint(dir);
  // A quantization-aware trained checkpoint evaluates as the engine computes.
  compress::load_quantization(dir, *model);
  const data::Dataset set = load_eval_data(flags, *model);
  torch::NoGradGuard no_grad;
  model->eval();
  const auto started = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> logits;
  for (int64_t begin = 0; begin < set.size(); begin += flags.batch_size) {
    const auto idx = torch::arange(begin, std::min(begin + flags.batch_size, set.size()), torch::kInt64);
    logits.push_back(model->logits(set.batch(idx)));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const torch::Tensor all = logits.empty() ? torch::empty({0, 0}) : torch::cat(logits);
  const torch::Tensor predicted = all.size(0) ? all.argmax(1) : torch::empty({0}, torch::kInt64);
  const int64_t correct = all.size(0) ? (predicted == set.labels).sum().item<int64_t>() : 0;
  const double accuracy = set.size() ? static_cast<double>(correct) / static_cast<double>(set.size()) : 0.0;

  if (!flags.predictions.empty()) {
    std::string out;
    const auto p = predicted.accessor<int64_t, 1>();
    const auto y = set.labels.accessor<int64_t, 1>();
    for (int64_t i = 0; i < set.size(); ++i) {
      const auto row = all[i].contiguous();
      const std::vector<float> values(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
      nlohmann::json line = {{"index", i}, {"label", y[i]}, {"predicted", p[i]}, {"logits", values}};
      if (static_cast<size_t>(p[i]) < set.label_names.size()) line["predicted_name"] = set.label_names[static_cast<size_t>(p[i])];
      out += line.dump() + "\n";
    }
    write_file_atomic(flags.predictions, out);
  }
  const nlohmann::json result = {{"model", flags.model_dir},
                                 {"data", flags.data},
                                 {"items", set.size()},
                                 {"correct", correct},
                                 {"accuracy", accuracy},
                                 {"items_per_second", seconds > 0 ? static_cast<double>(set.size()) / seconds : 0.0}};
  if (flags.json || common.json) {
    std::cout << result.dump(2) << std::endl;
  } else {
    std::cout << fmt::format("accuracy {:.4f} ({} of {} items) on {} with {}", accuracy, correct, set.size(), flags.data,
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
