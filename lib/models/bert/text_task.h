#pragma once
// What a text recipe runs on: a BERT (new, with a vocabulary trained on the
// training texts, or loaded from a folder) and the recipe's text dataset
// encoded with that vocabulary.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "data/text/text_dataset.h"
#include "models/bert/bert.h"

namespace sparrow::models::bert {

struct TextTask {
  std::shared_ptr<BertForSequenceClassification> model;
  data::Dataset train;
  data::Dataset test;
};

// `model_config` is the recipe's model: section ("name": "bert" plus BERT
// fields; "vocab" may name a vocab.txt, otherwise one of vocab_size tokens is
// trained). When `from` names a model folder, the model comes from there and
// model_config's architecture fields are not used. `context` prefixes errors.
TextTask prepare_text_task(nlohmann::json model_config, const recipe::DataSpec& data, const std::filesystem::path& from,
                           const std::string& context);

// Encodes a text dataset with the model's vocabulary and sequence length,
// mapping label names to the model's labels when both are names.
data::Dataset encode_for(const BertForSequenceClassification& model, const data::text::TextDataset& texts);

}  // namespace sparrow::models::bert
