#include "pipeline/task_data.h"

#include "core/errors.h"
#include "data/random_images.h"
#include "data/text/text_dataset.h"
#include "models/bert/text_task.h"
#include "models/checkpoint.h"
#include "models/model_factory.h"
#include "pipeline/causal_lm_task.h"

namespace sparrow::pipeline {

Task prepare_task(const nlohmann::json& model_config, const recipe::DataSpec& data, const std::filesystem::path& from,
                  const std::string& context) {
  if (recipe::is_corpus_dataset(data.dataset)) return prepare_causal_lm_task(model_config, data, from, context);
  if (model_config.value("name", std::string()) == "llama")
    throw BadInput(context + ": data.dataset: model llama is a causal language model; it trains on a text corpus "
                             "(sotu, moby_dick, text), not '" + data.dataset + "'");
  if (data::text::is_text_dataset(data.dataset)) {
    auto task = models::bert::prepare_text_task(model_config, data, from, context);
    return {task.model, std::move(task.train), std::move(task.test)};
  }
  Task t;
  t.model = from.empty() ? models::build_model(model_config, context) : models::load_checkpoint(from);
  if (dynamic_cast<models::llama::LlamaForCausalLM*>(t.model.get()))
    throw BadInput(from.string() + ": a Llama is a causal language model; it trains on a text corpus (sotu, moby_dick, "
                                   "text), not '" + data.dataset + "'");
  if (data.dataset == data::kRandomImages) {
    const nlohmann::json config = t.model->config();
    if (!config.contains("image_size"))
      throw BadInput(context + ": data.dataset: random_images needs an image model (cnn, resnet), not '" +
                     config.value("name", std::string()) + "'");
    const auto images = [&](std::int64_t limit, std::int64_t fallback, std::uint64_t seed) {
      return data::random_images(limit > 0 ? limit : fallback, config.at("in_channels"), config.at("image_size"),
                                 config.at("num_classes"), seed);
    };
    t.train = images(data.train_limit, 64, 1);
    t.test = images(data.test_limit, 16, 2);
    return t;
  }
  t.train = data::load_dataset(data, data::Split::Train);
  t.test = data::load_dataset(data, data::Split::Test);
  return t;
}

data::Dataset load_data_for_model(const std::string& data, data::Split split, std::int64_t limit,
                                  const models::bert::BertForSequenceClassification* bert, const std::string& bert_use) {
  const std::filesystem::path path = data;
  const bool file = path.extension() == ".jsonl" || path.extension() == ".csv";
  recipe::DataSpec spec;
  spec.dataset = data;
  (split == data::Split::Train ? spec.train_limit : spec.test_limit) = limit;
  if (!file && !data::text::is_text_dataset(data)) {
    if (bert) throw BadInput("--data: '" + data + "' is not text; a BERT " + bert_use + " a .jsonl/.csv file or spam_assassin");
    return data::load_dataset(spec, split);
  }
  if (!bert) throw BadInput("--data: '" + data + "' holds text but the model is not a BERT");
  if (!file && data != "spam_assassin")
    throw BadInput("--data: '" + data + "' needs a file; give a path ending in .jsonl or .csv");
  data::text::TextDataset texts = file ? data::text::load_text_file(path) : data::text::load_text_dataset(spec, split);
  if (file && limit > 0 && texts.size() > limit) {
    texts.texts.resize(static_cast<size_t>(limit));
    texts.labels.resize(static_cast<size_t>(limit));
  }
  return models::bert::encode_for(*bert, texts);
}

}  // namespace sparrow::pipeline
