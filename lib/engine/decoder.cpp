#include "engine/decoder.h"

#include <algorithm>
#include <string>

#include "core/errors.h"

namespace sparrow::engine {

namespace {

const std::shared_ptr<const Model>& causal_lm(const std::shared_ptr<const Model>& model) {
  if (!model->is_causal_lm())
    throw BadInput(model->file().source() + ": not a causal language model (sparrow.task is not \"causal_lm\")");
  return model;
}

}  // namespace

Decoder::Decoder(std::shared_ptr<const Model> model, EngineOptions options) : engine_(causal_lm(model), options) {
  const auto& shape = model->cache_shape();
  cache_ = KvCache(shape.layers, shape.kv_heads, model->context_length(), shape.head_size);
  for (const Op& op : model->ops())
    if (op.kind == OpKind::embedding && op.indices == EmbeddingIndices::ids) vocab_size_ = op.rows;
}

OutputView Decoder::prefill(const std::vector<std::int64_t>& prompt) {
  cache_.length = 0;
  return run(prompt);
}

OutputView Decoder::decode(std::int64_t token) { return run({token}); }

void Decoder::rewind(std::size_t position) {
  if (position > cache_.length)
    throw BadInput(model().file().source() + ": cannot rewind to position " + std::to_string(position) + ": only " +
                   std::to_string(cache_.length) + " tokens have run");
  cache_.length = position;
}

void Decoder::check_ids(const std::vector<std::int64_t>& tokens, const std::string& source) const {
  for (const std::int64_t id : tokens)
    if (id < 0 || static_cast<std::size_t>(id) >= vocab_size_)
      throw BadInput(source + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocab_size_) + ")");
}

OutputView Decoder::run(const std::vector<std::int64_t>& tokens) {
  const std::string src = model().file().source();
  if (tokens.empty()) throw BadInput(src + ": no tokens to run");
  if (cache_.length + tokens.size() > cache_.context)
    throw BadInput(src + ": the context is full: " + std::to_string(cache_.length) + " tokens run and " +
                   std::to_string(tokens.size()) + " more exceed the model's " + std::to_string(cache_.context) +
                   " (sparrow.context_length)");
  check_ids(tokens, src);
  auto out = engine_.run(1, tokens.size(), {tokens.data()}, &cache_);
  cache_.length += tokens.size();
  return out.front();
}

std::int64_t greedy_token(const OutputView& logits) {
  const float* last = logits.data + (logits.shape[1] - 1) * logits.shape[2];
  return std::max_element(last, last + logits.shape[2]) - last;
}

}  // namespace sparrow::engine
