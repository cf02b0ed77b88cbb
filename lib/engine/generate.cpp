#include "engine/generate.h"

#include <chrono>

#include "core/errors.h"

namespace sparrow::engine {

Generation generate(Decoder& decoder, const std::vector<std::int64_t>& prompt, const GenerateOptions& options,
                    const std::string& prompt_source, const std::function<void(const SampledToken&)>& on_token) {
  if (prompt.empty()) throw BadInput(prompt_source + ": the prompt has no tokens");
  if (prompt.size() >= decoder.context_length())
    throw BadInput(prompt_source + ": the prompt's " + std::to_string(prompt.size()) + " tokens leave no room in the model's context of " +
                   std::to_string(decoder.context_length()) + " tokens (sparrow.context_length)");
  decoder.check_ids(prompt, prompt_source);
  Sampler sampler(options.sampling);
  Generation g;
  g.stop = "max_tokens";
  if (options.max_tokens == 0) return g;
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  OutputView logits = decoder.prefill(prompt);
  g.prefill_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  start = Clock::now();
  for (;;) {
    const std::size_t vocab = logits.shape.back();
    const SampledToken t = sampler.next(logits.data + (logits.shape[1] - 1) * vocab, vocab);
    g.tokens.push_back(t);
    if (on_token) on_token(t);
    if (options.eos && t.id == *options.eos) {
      g.stop = "eos";
      break;
    }
    if (g.tokens.size() == options.max_tokens) break;
    if (decoder.position() == decoder.context_length()) {
      g.stop = "context_full";
      break;
    }
    logits = decoder.decode(t.id);
  }
  g.decode_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return g;
}

}  // namespace sparrow::engine
