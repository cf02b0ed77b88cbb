#include "models/bert/text_task.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/errors.h"
#include "text/wordpiece_trainer.h"
#include "models/bert/bert_folder.h"
#include "models/model_factory.h"

namespace sparrow::models::bert {

data::Dataset encode_for(const BertForSequenceClassification& model, const data::text::TextDataset& texts) {
  if (!model.tokenizer()) throw InternalError("bert: encoding text needs the model's vocabulary");
  const int64_t num_labels = model.bert_config().num_labels;
  data::text::TextDataset mapped = texts;
  // Names in the data that are all among the model's labels are mapped by name; otherwise ids are taken as they are.
  const bool by_name = std::all_of(texts.label_names.begin(), texts.label_names.end(), [&](const std::string& n) {
    return std::find(model.labels.begin(), model.labels.end(), n) != model.labels.end();
  });
  if (by_name) {
    for (auto& l : mapped.labels)
      l = std::find(model.labels.begin(), model.labels.end(), texts.label_names[static_cast<size_t>(l)]) - model.labels.begin();
    mapped.label_names = model.labels;
  }
  for (size_t i = 0; i < mapped.labels.size(); ++i)
    if (mapped.labels[i] < 0 || mapped.labels[i] >= num_labels)
      throw BadInput(texts.name + ": item " + std::to_string(i + 1) + " has label " + std::to_string(mapped.labels[i]) +
                     " but the model has " + std::to_string(num_labels) + " labels");
  return data::text::encode_dataset(mapped, *model.tokenizer(), model.bert_config().max_seq_length);
}

TextTask prepare_text_task(nlohmann::json model_config, const recipe::DataSpec& data, const std::filesystem::path& from,
                           const std::string& context) {
  const auto texts_train = data::text::load_text_dataset(data, data::Split::Train);
  const auto texts_test = data::text::load_text_dataset(data, data::Split::Test);
  TextTask task;
  if (!from.empty()) {
    task.model = load_bert_folder(from, /*allow_new_head=*/true);
    if (task.model->bert_config().num_labels != static_cast<int64_t>(texts_train.label_names.size()))
      throw BadInput(from.string() + ": the model has " + std::to_string(task.model->bert_config().num_labels) +
                     " labels, the dataset " + std::to_string(texts_train.label_names.size()));
    // The folder decides the architecture; the recipe may still choose the sequence length.
    for (const auto& [key, value] : model_config.items()) {
      if (key == "name") continue;
      if (key == "max_seq_length" && value.is_number_integer()) {
        task.model->set_max_seq_length(value.get<int64_t>());
      } else {
        spdlog::warn("{}: model.{} is ignored: the model comes from {}", context, key, from.string());
      }
    }
    spdlog::info("model from {}", from.string());
  } else {
    std::string vocab_file;
    if (model_config.contains("vocab")) {
      if (!model_config["vocab"].is_string()) throw BadInput(context + ": model.vocab must be the path of a vocab.txt");
      vocab_file = model_config["vocab"].get<std::string>();
      model_config.erase("vocab");
    }
    const bool lower = model_config.value("do_lower_case", true);
    text::BasicTokenizerOptions basic;
    basic.do_lower_case = basic.strip_accents = lower;
    std::shared_ptr<text::Tokenizer> tokenizer;
    if (!vocab_file.empty()) {
      tokenizer = std::make_shared<text::Tokenizer>(text::Tokenizer::from_file(vocab_file, basic));
    } else {
      text::WordPieceTrainerOptions wp;
      if (model_config.contains("vocab_size") && model_config["vocab_size"].is_number_integer())
        wp.vocab_size = model_config["vocab_size"].get<int64_t>();
      const auto started = std::chrono::steady_clock::now();
      tokenizer = std::make_shared<text::Tokenizer>(text::train_wordpiece(texts_train.texts, basic, wp), basic);
      spdlog::info("trained a WordPiece vocabulary of {} tokens on {} texts in {:.1f} s", tokenizer->size(),
                   texts_train.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    // The vocabulary decides the embedding size; the dataset decides the labels.
    model_config["vocab_size"] = tokenizer->size();
    if (!model_config.contains("num_labels")) model_config["num_labels"] = texts_train.label_names.size();
    auto built = std::dynamic_pointer_cast<BertForSequenceClassification>(build_model(model_config, context));
    if (!built) throw BadInput(context + ": model.name must be bert for the text dataset '" + data.dataset + "'");
    built->labels = texts_train.label_names;
    built->set_tokenizer(tokenizer);
    task.model = built;
  }
  task.train = encode_for(*task.model, texts_train);
  task.test = encode_for(*task.model, texts_test);
  const auto mask_mean = task.train.attention_mask.to(torch::kFloat32).sum(1).mean().item<double>();
  spdlog::info("encoded {} train / {} test texts to {} tokens (mean {:.1f} real tokens per item)", task.train.size(),
               task.test.size(), task.model->bert_config().max_seq_length, mask_mean);
  return task;
}

}  // namespace sparrow::models::bert
