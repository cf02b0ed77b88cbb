// Generation with a causal LM: the prompt's prefill, then one sampled token at a time through the KV cache,
// each handed to a callback as it comes (for streaming), until the token budget, the end-of-sequence token or
// the context runs out.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/decoder.h"
#include "engine/sampler.h"

namespace sparrow::engine {

struct GenerateOptions {
  std::size_t max_tokens = 64;
  SamplingOptions sampling;
  std::optional<std::int64_t> eos;  // generation stops after this token (it is kept); unset: never
};

struct Generation {
  std::vector<SampledToken> tokens;
  std::string stop;  // "max_tokens", "eos" or "context_full"
  double prefill_seconds = 0, decode_seconds = 0;
};

// BadInput naming `prompt_source` (the flag the prompt came from) when the prompt is empty or does not leave
// room for one generated token in the context, or holds an id outside the vocabulary.
Generation generate(Decoder& decoder, const std::vector<std::int64_t>& prompt, const GenerateOptions& options,
                    const std::string& prompt_source, const std::function<void(const SampledToken&)>& on_token = {});

}  // namespace sparrow::engine
