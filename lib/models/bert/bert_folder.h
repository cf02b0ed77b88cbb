#pragma once
// A BERT model folder in Hugging Face's layout: config.json (HF keys),
// model.safetensors (HF parameter names, {"format": "pt"} metadata so
// transformers accepts it), vocab.txt and tokenizer_config.json. Sparrow's own
// BERT checkpoints are such folders, so `from_pretrained` reads them too.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "models/bert/bert.h"

namespace sparrow::models::bert {

// True when `dir` holds a config.json describing a BERT (model_type "bert" or Sparrow's name "bert").
bool is_bert_folder(const std::filesystem::path& dir);

// Loads config, weights and vocabulary. Old-style LayerNorm names (gamma/beta)
// are accepted; tensors the classifier does not use (cls.*, position_ids) are
// skipped. A folder from a pre-training checkpoint has no pooler or classifier:
// with `allow_new_head` they keep their fresh initialisation (logged), otherwise
// a missing tensor is BadInput naming it.
std::shared_ptr<BertForSequenceClassification> load_bert_folder(const std::filesystem::path& dir, bool allow_new_head);

// Copies the tensors of an HF safetensors file into the model (see load_bert_folder).
void load_bert_weights(BertForSequenceClassification& model, const std::filesystem::path& file, bool allow_new_head);

void save_bert_folder(const std::filesystem::path& dir, BertForSequenceClassification& model,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace sparrow::models::bert
