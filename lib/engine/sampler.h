// Picking the next token from a causal LM's logits: greedy (temperature 0) or sampled with temperature,
// top-k and top-p (nucleus) filtering, reproducible for a seed on any machine: the generator is
// std::mt19937_64 (its output is fixed by the C++ standard) and a draw is its top 53 bits times 2^-53, not a
// library distribution (whose algorithm differs between standard libraries).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>

namespace sparrow::engine {

struct SamplingOptions {
  float temperature = 0.8f;  // 0: greedy (the first largest logit)
  std::size_t top_k = 40;    // keep the k most likely tokens; 0: all
  float top_p = 0.95f;       // then the fewest most likely whose probabilities sum to at least p; 1: all
  std::uint64_t seed = 0;
};

struct SampledToken {
  std::int64_t id = 0;
  // log p(id) under the model's own distribution: the softmax of the logits (temperature 1, no filtering).
  float log_prob = 0.0f;
};

class Sampler {
 public:
  // BadInput for a temperature below 0 or not finite, or top_p outside (0, 1].
  explicit Sampler(const SamplingOptions& options);
  // logits: `vocab` values, at least 1.
  SampledToken next(const float* logits, std::size_t vocab);

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace sparrow::engine
