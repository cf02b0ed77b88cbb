// `compress eval --model DIR --data FILE_OR_BUILTIN`: accuracy of a zoo or
// Hugging Face model in LibTorch, without training; optionally every item's
// logits and predicted label as JSONL, to compare with another implementation.
// A causal language model (Llama) gets its perplexity on a text corpus by
// strided windows (pipeline/perplexity.h), and per-token log-probs as JSONL.
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "apps/compress/command.h"
#include "compress/quant/qat_hook.h"
#include "core/errors.h"
#include "core/files.h"
#include "data/text/corpus_split.h"
#include "data/text/token_windows.h"
#include "models/checkpoint.h"
#include "pipeline/causal_lm_task.h"
#include "pipeline/evaluation.h"
#include "pipeline/perplexity.h"
#include "pipeline/task_data.h"

namespace sparrow::apps {

namespace {

struct EvalFlags {
  std::string model_dir;
  std::string data;
  std::string predictions;
  std::string path;     // corpora: where the text lies
  int64_t window = -1;  // causal LM: tokens per window (-1: max_position_embeddings)
  int64_t stride = -1;  // causal LM: tokens between window starts (-1: window / 2)
  int64_t batch_size = 64;
  int64_t limit = 0;
  bool json = false;
};

void print(const nlohmann::json& result, const std::string& line, const EvalFlags& flags, const CommonFlags& common) {
  if (flags.json || common.json) std::cout << result.dump(2) << std::endl;
  else std::cout << line << std::endl;
}

// The corpus --data names: a built-in corpus's test part (the recipe defaults' split), or all of --path's text.
data::text::Corpus eval_corpus(const EvalFlags& flags) {
  if (!recipe::is_corpus_dataset(flags.data))
    throw BadInput("--data: '" + flags.data + "' is not a text corpus; a causal language model is measured on sotu, moby_dick "
                   "or text (with --path FILE_OR_FOLDER)");
  recipe::DataSpec spec;
  spec.dataset = flags.data;
  spec.path = flags.path;
  if (flags.data == "text") {
    if (flags.path.empty()) throw BadInput("--path: --data text needs a .txt file, a .jsonl file or a folder of them");
    return data::text::load_corpus(spec);
  }
  return data::text::split_corpus(data::text::load_corpus(spec), data::text::split_fractions(spec)).test;
}

int run_perplexity(models::llama::LlamaForCausalLM& model, const EvalFlags& flags, const CommonFlags& common) {
  const int64_t context = model.llama_config().max_position_embeddings;
  const int64_t window = flags.window >= 0 ? flags.window : context;
  if (window < 2 || window > context)
    throw BadInput("--window: " + std::to_string(window) + " tokens; the model reads 2 to " + std::to_string(context) +
                   " (max_position_embeddings in " + flags.model_dir + "/config.json)");
  const int64_t stride = flags.stride >= 0 ? flags.stride : window / 2;
  if (stride < 1 || stride >= window)
    throw BadInput("--stride: " + std::to_string(stride) + "; expected 1 to " + std::to_string(window - 1) +
                   " (less than the window, so that every token but the first is scored with context)");
  const text::BpeTokenizer tokenizer = pipeline::folder_tokenizer(model, flags.model_dir);
  const data::text::Corpus corpus = eval_corpus(flags);
  data::text::require_text(corpus, "--data " + flags.data);
  const std::vector<int64_t> stream = data::text::token_stream(corpus, tokenizer);
  const pipeline::StridedPerplexity p = pipeline::strided_perplexity(model, stream, window, stride);
  if (!flags.predictions.empty()) write_file_atomic(flags.predictions, pipeline::log_probs_jsonl(p, tokenizer));
  const nlohmann::json result = {{"model", flags.model_dir},
                                 {"data", corpus.name},
                                 {"documents", corpus.size()},
                                 {"tokens", static_cast<int64_t>(stream.size())},
                                 {"scored_tokens", static_cast<int64_t>(p.tokens.size())},
                                 {"window", window},
                                 {"stride", stride},
                                 {"windows", p.windows},
                                 {"loss", p.loss()},
                                 {"perplexity", p.perplexity()},
                                 {"tokens_per_second", p.seconds > 0 ? static_cast<double>(p.tokens.size()) / p.seconds : 0.0}};
  print(result,
        fmt::format("perplexity {:.3f} (loss {:.4f} over {} tokens, window {}, stride {}) on {} with {}", p.perplexity(),
                    p.loss(), p.tokens.size(), window, stride, corpus.name, flags.model_dir),
        flags, common);
  return 0;
}

int run_eval(const EvalFlags& flags, const CommonFlags& common) {
  const fs::path dir = flags.model_dir;
  if (!fs::is_directory(dir)) throw BadInput("--model: " + flags.model_dir + " is not a model folder");
  const std::shared_ptr<models::Classifier> model = models::load_checkpoint(dir);
  // A quantization-aware trained checkpoint evaluates as the engine computes.
  compress::load_quantization(dir, *model);
  if (auto* llama = dynamic_cast<models::llama::LlamaForCausalLM*>(model.get())) return run_perplexity(*llama, flags, common);
  if (recipe::is_corpus_dataset(flags.data))
    throw BadInput("--data: '" + flags.data + "' is a text corpus, which only a causal language model (a Llama) is measured on");
  if (!flags.path.empty() || flags.window >= 0 || flags.stride >= 0)
    throw BadInput("--path, --window and --stride apply to a causal language model (a Llama) only");
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
  print(result,
        fmt::format("accuracy {:.4f} ({} of {} items) on {} with {}", e.accuracy, e.correct, set.size(), flags.data, flags.model_dir),
        flags, common);
  return 0;
}

}  // namespace

Action register_eval(CLI::App& sub, const CommonFlags& common) {
  auto flags = std::make_shared<EvalFlags>();
  sub.add_option("--model", flags->model_dir, "Model folder: a Sparrow checkpoint, or a Hugging Face BERT or Llama folder")->required();
  sub.add_option("--data", flags->data,
                 "A .jsonl/.csv text file (every item) or a built-in dataset's test split (spam_assassin, fashion_mnist). "
                 "Every JSONL line needs \"text\" and \"label\" (a CSV file: text and label columns), since accuracy "
                 "compares with the label. A Llama: a text corpus, sotu or moby_dick (their test documents) or text "
                 "(all of --path)")
      ->required();
  sub.add_option("--path", flags->path, "Text corpora: the corpus's folder, or text's .txt/.jsonl file or folder");
  sub.add_option("--window", flags->window, "Llama: tokens per window, 2 to max_position_embeddings (default: all of it)");
  sub.add_option("--stride", flags->stride, "Llama: tokens between window starts, 1 to window-1 (default: window/2)");
  sub.add_option("--predictions", flags->predictions,
                 "Write each item's label, prediction and logits here (JSONL); a Llama: each scored token's log-prob");
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
      "  compress eval --model out/llama_sotu/checkpoint --data sotu --stride 64 --predictions logprobs.jsonl\n"
      "Exit codes: 0 ok, 2 bad input, 3 internal error.");
  return [flags, &common] { return run_eval(*flags, common); };
}

}  // namespace sparrow::apps
