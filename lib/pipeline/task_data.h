// The one place that tells tasks apart: a causal LM (Llama) reads a text corpus cut into windows
// (causal_lm_task.h), a text classifier (BERT) reads texts encoded with its own vocabulary, an image model reads
// a built-in image dataset. compress --recipe, eval and export all come here.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "models/bert/bert.h"
#include "models/classifier.h"
#include "recipe/recipe.h"

namespace sparrow::pipeline {

// A recipe's model with its training and test data.
struct Task {
  std::shared_ptr<models::Classifier> model;
  data::Dataset train, test;
};

// The recipe's model (`model_config`: model: with its name, without from:) and data: a text corpus needs a Llama
// (prepare_causal_lm_task), and a Llama needs a text corpus (BadInput otherwise); a text dataset builds a
// BERT whose vocabulary comes from `from` or is trained on the texts; otherwise the model is built from the
// config, or loaded from the checkpoint folder `from` when given. `context` prefixes errors (the recipe file).
Task prepare_task(const nlohmann::json& model_config, const recipe::DataSpec& data, const std::filesystem::path& from,
                  const std::string& context);

// The --data of compress eval and export for a model: a .jsonl/.csv text file (its first `limit` items, 0: all)
// or a built-in dataset's `split`. `bert` is the model when it is a BERT (texts are encoded for it), else null.
// BadInput names --data when it does not fit the model; `bert_use` says what a BERT does with it ("needs",
// "calibrates on").
data::Dataset load_data_for_model(const std::string& data, data::Split split, std::int64_t limit,
                                  const models::bert::BertForSequenceClassification* bert, const std::string& bert_use);

}  // namespace sparrow::pipeline
