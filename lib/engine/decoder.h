// A causal LM run token by token: the engine over the model's graph, the KV cache as its state and the
// position counter. prefill(prompt) starts a sequence, decode(token) continues it; both are the same graph
// run over a different number of tokens (llama_decode's shape), each returning the logits of the tokens run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/kv_cache.h"

namespace sparrow::engine {

class Decoder {
 public:
  // BadInput when the model is not a causal LM (sparrow.task "causal_lm").
  Decoder(std::shared_ptr<const Model> model, EngineOptions options);

  // Empties the cache, then runs the prompt (at least one token). Logits [1, prompt size, vocab].
  OutputView prefill(const std::vector<std::int64_t>& prompt);
  // Runs one token after those already run. Logits [1, 1, vocab].
  OutputView decode(std::int64_t token);
  // Runs tokens after those already run (prefill without the reset). BadInput, leaving the cache as it was,
  // when they do not fit the context or an id is outside the vocabulary.
  OutputView run(const std::vector<std::int64_t>& tokens);

  // Forgets every token after the first `position`, which the next token then takes (a cache entry is
  // overwritten when its position runs again). Used to run several continuations of one prompt, prefilled
  // once. BadInput when `position` is past the tokens run.
  void rewind(std::size_t position);

  // BadInput naming `source` (a file, a flag) when an id is outside the vocabulary.
  void check_ids(const std::vector<std::int64_t>& tokens, const std::string& source) const;

  // Tokens in the cache: the position the next token takes.
  std::size_t position() const { return cache_.length; }
  std::size_t context_length() const { return cache_.context; }
  std::size_t vocab_size() const { return vocab_size_; }
  const KvCache& cache() const { return cache_; }
  const Model& model() const { return engine_.model(); }
  Engine& engine() { return engine_; }

 private:
  Engine engine_;
  KvCache cache_;
  std::size_t vocab_size_ = 0;
};

// The greedy next token after a decoder's logits [1, T, vocab]: the first largest logit of the last position.
std::int64_t greedy_token(const OutputView& logits);

}  // namespace sparrow::engine
