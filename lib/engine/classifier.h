// Classification on top of the engine: texts are tokenized with the tokenizer stored in the file (batches
// padded to their longest item, at most the model's max_seq_length), images are taken as raw pixels
// (normalized as the file says) or as the model's input values; each item gets its logits, probabilities
// and label (docs/format.md "Running a classifier").
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace sparrow::engine {

struct Prediction {
  std::size_t label = 0;
  std::vector<float> logits;
  std::vector<float> probabilities;
};

// Token ids and attention mask of a batch, [batch][seq] each.
struct TokenBatch {
  std::size_t batch = 0;
  std::size_t seq = 0;
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> mask;
};

// Encodes texts as the trainer does ([CLS] pieces [SEP], truncated to max_length), padded to the longest.
TokenBatch encode_texts(const data::text::Tokenizer& tokenizer, const std::vector<std::string>& texts, std::size_t max_length);

class Classifier {
 public:
  Classifier(std::shared_ptr<const Model> model, EngineOptions options);

  Engine& engine() { return engine_; }
  const Model& model() const { return engine_.model(); }

  std::vector<Prediction> classify_texts(const std::vector<std::string>& texts);
  std::vector<Prediction> classify_tokens(const TokenBatch& tokens);
  // images: batch * model().item_elements() values, the graph input as it is (already normalized).
  std::vector<Prediction> classify_images(const std::vector<float>& images, std::size_t batch);
  // pixels: batch * model().item_elements() raw pixel values (0 .. pixel_range), normalized first as the
  // file's sparrow.input_normalization says; a file without it takes its input values as they are.
  std::vector<Prediction> classify_pixels(const std::vector<float>& pixels, std::size_t batch);

 private:
  std::vector<Prediction> predictions(const std::vector<OutputView>& outputs, std::size_t batch) const;
  Engine engine_;
};

}  // namespace sparrow::engine
