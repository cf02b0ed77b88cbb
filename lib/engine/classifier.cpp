#include "engine/classifier.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace sparrow::engine {

TokenBatch encode_texts(const text::Tokenizer& tokenizer, const std::vector<std::string>& texts, std::size_t max_length) {
  std::vector<text::Encoding> encoded;
  std::size_t longest = 1;
  for (const auto& text : texts) {
    encoded.push_back(tokenizer.encode(text, static_cast<std::int64_t>(max_length)));
    const auto& mask = encoded.back().mask;
    longest = std::max<std::size_t>(longest, static_cast<std::size_t>(std::count(mask.begin(), mask.end(), 1)));
  }
  TokenBatch t;
  t.batch = texts.size();
  t.seq = longest;
  for (const auto& e : encoded) {
    t.ids.insert(t.ids.end(), e.ids.begin(), e.ids.begin() + static_cast<std::ptrdiff_t>(longest));
    t.mask.insert(t.mask.end(), e.mask.begin(), e.mask.begin() + static_cast<std::ptrdiff_t>(longest));
  }
  return t;
}

Classifier::Classifier(std::shared_ptr<const Model> model, EngineOptions options) : engine_(std::move(model), options) {
  if (this->model().is_causal_lm())
    throw BadInput(this->model().file().source() + ": a causal LM generates text (sparrow generate), it does not classify");
}

std::vector<Prediction> Classifier::classify_texts(const std::vector<std::string>& texts) {
  if (!model().is_text()) throw BadInput(model().file().source() + ": not a text model");
  if (texts.empty()) return {};
  return classify_tokens(encode_texts(*model().tokenizer(), texts, model().max_seq_length()));
}

std::vector<Prediction> Classifier::classify_tokens(const TokenBatch& tokens) {
  if (tokens.batch == 0) return {};
  std::vector<const void*> inputs;
  for (const auto& in : model().inputs())
    inputs.push_back(model().values()[in.value].name == "attention_mask" ? tokens.mask.data() : tokens.ids.data());
  return predictions(engine_.run(tokens.batch, tokens.seq, inputs), tokens.batch);
}

std::vector<Prediction> Classifier::classify_images(const std::vector<float>& images, std::size_t batch) {
  if (model().is_text()) throw BadInput(model().file().source() + ": a text model takes texts, not images");
  if (batch == 0) return {};
  if (images.size() != batch * model().item_elements())
    throw BadInput("engine: " + std::to_string(images.size()) + " image values for " + std::to_string(batch) + " items of " +
                   std::to_string(model().item_elements()));
  return predictions(engine_.run(batch, 0, {images.data()}), batch);
}

std::vector<Prediction> Classifier::classify_pixels(const std::vector<float>& pixels, std::size_t batch) {
  const auto& normalization = model().input_normalization();
  if (!normalization) return classify_images(pixels, batch);
  std::vector<float> images(pixels.size());
  format::normalize_pixels(*normalization, pixels.data(), pixels.size(), model().item_elements() / normalization->mean.size(),
                           images.data());
  return classify_images(images, batch);
}

std::vector<Prediction> Classifier::predictions(const std::vector<OutputView>& outputs, std::size_t batch) const {
  const auto find = [&](const char* name) -> const OutputView* {
    for (const auto& o : outputs)
      if (o.name == name) return &o;
    return nullptr;
  };
  const OutputView* logits = find("logits");
  if (logits == nullptr) logits = &outputs.front();
  const OutputView* probs = find("probabilities");
  const std::size_t classes = logits->shape.back();
  std::vector<Prediction> out(batch);
  for (std::size_t b = 0; b < batch; ++b) {
    Prediction& p = out[b];
    p.logits.assign(logits->data + b * classes, logits->data + (b + 1) * classes);
    if (probs != nullptr && probs->shape.back() == classes) {
      p.probabilities.assign(probs->data + b * classes, probs->data + (b + 1) * classes);
    } else {
      const float mx = *std::max_element(p.logits.begin(), p.logits.end());
      double sum = 0;
      for (const float l : p.logits) sum += std::exp(static_cast<double>(l - mx));
      for (const float l : p.logits) p.probabilities.push_back(static_cast<float>(std::exp(static_cast<double>(l - mx)) / sum));
    }
    p.label = static_cast<std::size_t>(std::max_element(p.logits.begin(), p.logits.end()) - p.logits.begin());
  }
  return out;
}

}  // namespace sparrow::engine
