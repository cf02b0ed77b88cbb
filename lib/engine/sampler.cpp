#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "core/errors.h"

namespace sparrow::engine {

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {
  if (!std::isfinite(options.temperature) || options.temperature < 0)
    throw BadInput("sampling: temperature " + std::to_string(options.temperature) + " must be a finite number >= 0 (0: greedy)");
  if (!(options.top_p > 0 && options.top_p <= 1))
    throw BadInput("sampling: top_p " + std::to_string(options.top_p) + " must be in (0, 1]");
}

SampledToken Sampler::next(const float* logits, std::size_t vocab) {
  // log-softmax in double: the log-probability reported for whichever token is picked.
  const float max = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (std::size_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  const double log_norm = max + std::log(sum);
  const auto pick = [&](std::size_t id) {
    return SampledToken{static_cast<std::int64_t>(id), static_cast<float>(logits[id] - log_norm)};
  };
  if (options_.temperature == 0) return pick(static_cast<std::size_t>(std::max_element(logits, logits + vocab) - logits));

  // Most likely first, ties to the smaller id.
  std::vector<std::size_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return logits[a] > logits[b]; });
  if (options_.top_k > 0 && options_.top_k < vocab) order.resize(options_.top_k);
  std::vector<double> p(order.size());
  double total = 0;
  for (std::size_t i = 0; i < order.size(); ++i) total += p[i] = std::exp((static_cast<double>(logits[order[i]]) - max) / options_.temperature);
  std::size_t keep = order.size();
  double kept = total;
  if (options_.top_p < 1) {
    double cumulative = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
      cumulative += p[i];
      if (cumulative >= options_.top_p * total) {
        keep = i + 1;
        kept = cumulative;
        break;
      }
    }
  }
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * kept;
  double cumulative = 0;
  for (std::size_t i = 0; i < keep; ++i) {
    cumulative += p[i];
    if (u < cumulative) return pick(order[i]);
  }
  return pick(order[keep - 1]);
}

}  // namespace sparrow::engine
