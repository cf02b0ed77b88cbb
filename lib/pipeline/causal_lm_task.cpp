#include "pipeline/causal_lm_task.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "core/errors.h"
#include "data/text/corpus_split.h"
#include "data/text/token_windows.h"
#include "models/checkpoint.h"
#include "models/model_factory.h"
#include "text/bpe_trainer.h"

namespace sparrow::pipeline {

namespace {

namespace fs = std::filesystem;
using models::llama::LlamaForCausalLM;

constexpr const char* kBos = "<s>";
constexpr const char* kEos = "</s>";

text::BpeTokenizer learn_vocabulary(const data::text::Corpus& train, int64_t vocab_size) {
  std::vector<std::string> texts;
  for (const auto& d : train.documents) texts.push_back(d.text);
  text::BpeTrainerOptions options;
  options.vocab_size = vocab_size;
  options.special_tokens = {kBos, kEos};
  options.bos_token = kBos;
  const auto started = std::chrono::steady_clock::now();
  text::BpeTokenizer tokenizer = text::train_bpe(texts, options);
  spdlog::info("learned a byte-level BPE vocabulary of {} tokens on {} documents in {:.1f} s", tokenizer.size(), texts.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return tokenizer;
}

// tokenizer_config.json as transformers reads it for a fast tokenizer that only has a tokenizer.json.
std::string tokenizer_config(const text::BpeTokenizer& tokenizer, int64_t max_length) {
  nlohmann::json c = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                      {"model_max_length", max_length},
                      {"clean_up_tokenization_spaces", false}};
  const auto& ids = tokenizer.special_ids();
  if (ids.bos) c["bos_token"] = tokenizer.token(*ids.bos);
  if (ids.eos) c["eos_token"] = tokenizer.token(*ids.eos);
  return c.dump(2) + "\n";
}

std::shared_ptr<LlamaForCausalLM> as_llama(std::shared_ptr<models::Classifier> model, const std::string& where,
                                           const std::string& dataset) {
  auto llama = std::dynamic_pointer_cast<LlamaForCausalLM>(model);
  if (!llama)
    throw BadInput(where + ": the text corpus '" + dataset + "' trains a causal language model (model: llama), not model '" +
                   model->config().value("name", std::string("?")) + "'");
  return llama;
}

}  // namespace

text::BpeTokenizer folder_tokenizer(const LlamaForCausalLM& model, const fs::path& dir) {
  const fs::path file = dir / "tokenizer.json";
  if (!fs::is_regular_file(file))
    throw BadInput(dir.string() + ": no tokenizer.json; a causal language model's text needs the tokenizer it was trained with");
  text::BpeTokenizer tokenizer = text::BpeTokenizer::from_file(file);
  // The model's config says which ids begin and end a text (generation_config.json follows it).
  text::SpecialIds ids = tokenizer.special_ids();
  const auto& c = model.llama_config();
  if (c.bos_token_id && *c.bos_token_id < tokenizer.size()) ids.bos = c.bos_token_id;
  if (!c.eos_token_id.empty() && c.eos_token_id.front() < tokenizer.size()) ids.eos = c.eos_token_id.front();
  tokenizer.set_special_ids(ids);
  return tokenizer;
}

Task prepare_causal_lm_task(nlohmann::json model_config, const recipe::DataSpec& data, const fs::path& from,
                            const std::string& context) {
  const std::string model_name = model_config.value("name", std::string());
  if (from.empty() && model_name != "llama")
    throw BadInput(context + ": model.name: the text corpus '" + data.dataset +
                   "' trains a causal language model (model: llama), not model '" + model_name + "'");
  auto split = data::text::split_corpus(data::text::load_corpus(data), data::text::split_fractions(data));
  std::shared_ptr<LlamaForCausalLM> model;
  std::optional<text::BpeTokenizer> tokenizer;
  if (!from.empty()) {
    model = as_llama(models::load_checkpoint(from), from.string(), data.dataset);
    tokenizer = folder_tokenizer(*model, from);
    for (const auto& [key, value] : model_config.items())
      if (key != "name") spdlog::warn("{}: model.{} is ignored: the model comes from {}", context, key, from.string());
    spdlog::info("model from {}", from.string());
  } else {
    if (model_config.contains("tokenizer")) {
      if (!model_config["tokenizer"].is_string())
        throw BadInput(context + ": model.tokenizer must be the path of a tokenizer.json");
      tokenizer = text::BpeTokenizer::from_file(model_config["tokenizer"].get<std::string>());
      model_config.erase("tokenizer");
    } else {
      if (model_config.contains("vocab_size") && !model_config["vocab_size"].is_number_integer())
        throw BadInput(context + ": model.vocab_size must be an integer: the size of the vocabulary to learn");
      const int64_t vocab_size = model_config.value("vocab_size", models::llama::LlamaConfig{}.vocab_size);
      tokenizer = learn_vocabulary(split.train, vocab_size);
    }
    // The tokenizer decides the embedding size and the special ids.
    model_config["vocab_size"] = tokenizer->size();
    const auto& ids = tokenizer->special_ids();
    model_config["bos_token_id"] = ids.bos ? nlohmann::json(*ids.bos) : nlohmann::json(nullptr);
    model_config["eos_token_id"] = ids.eos ? nlohmann::json(*ids.eos) : nlohmann::json(nullptr);
    model = as_llama(models::build_model(model_config, context), context + ": model", data.dataset);
    model->folder_files["tokenizer.json"] = tokenizer->to_json();
    model->folder_files["tokenizer_config.json"] =
        tokenizer_config(*tokenizer, model->llama_config().max_position_embeddings);
  }
  const int64_t window = model->llama_config().max_position_embeddings;
  const auto& ids = tokenizer->special_ids();
  const int64_t pad = ids.pad ? *ids.pad : ids.eos ? *ids.eos : 0;
  const auto train_stream = data::text::token_stream(split.train, *tokenizer);
  const auto validation_stream = data::text::token_stream(split.validation, *tokenizer);
  Task task;
  task.model = model;
  task.train = data::text::token_windows(split.train.name, train_stream, window, pad, data.train_limit);
  task.test = data::text::token_windows(split.validation.name, validation_stream, window, pad, data.test_limit);
  spdlog::info("{}: {} train / {} validation tokens in windows of {} ({} / {} windows used)", data.dataset,
               train_stream.size(), validation_stream.size(), window, task.train.size(), task.test.size());
  return task;
}

}  // namespace sparrow::pipeline
