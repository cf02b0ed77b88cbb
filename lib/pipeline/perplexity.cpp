#include "pipeline/perplexity.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>

#include "core/errors.h"

namespace sparrow::pipeline {

double StridedPerplexity::loss() const { return tokens.empty() ? 0.0 : nll_sum / static_cast<double>(tokens.size()); }
double StridedPerplexity::perplexity() const { return std::exp(loss()); }

StridedPerplexity strided_perplexity(models::llama::LlamaForCausalLM& model, const std::vector<int64_t>& stream,
                                     int64_t window, int64_t stride) {
  const auto n = static_cast<int64_t>(stream.size());
  if (n < 2) throw BadInput("the text has " + std::to_string(n) + " token(s); perplexity needs at least 2");
  if (stride < 1 || stride >= window) throw InternalError("strided_perplexity: stride must be in [1, window)");
  torch::NoGradGuard no_grad;
  model.eval();
  StridedPerplexity r;
  const auto started = std::chrono::steady_clock::now();
  int64_t previous_end = 0;
  for (int64_t begin = 0;; begin += stride) {
    const int64_t end = std::min(begin + window, n);
    const int64_t first = std::max(previous_end, begin + 1);  // the first token this window scores
    data::Batch batch;
    batch.inputs = torch::tensor(std::vector<int64_t>(stream.begin() + begin, stream.begin() + end)).unsqueeze(0);
    // Position p predicts the token at p + 1: the scored tokens' predictions are at first-1 .. end-2.
    const auto log_probs = torch::log_softmax(model.logits(batch)[0].slice(0, first - 1 - begin, end - 1 - begin), -1);
    const auto targets = batch.inputs[0].slice(0, first - begin, end - begin);
    const auto picked = log_probs.gather(1, targets.unsqueeze(1)).squeeze(1).to(torch::kFloat64).contiguous();
    const double* lp = picked.data_ptr<double>();
    for (int64_t t = first; t < end; ++t) {
      r.tokens.push_back({t, stream[static_cast<size_t>(t)], lp[t - first]});
      r.nll_sum -= lp[t - first];
    }
    ++r.windows;
    previous_end = end;
    if (end == n) break;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r;
}

std::string log_probs_jsonl(const StridedPerplexity& result, const text::BpeTokenizer& tokenizer) {
  std::string out;
  for (const auto& t : result.tokens)
    out += nlohmann::json{{"index", t.index}, {"token_id", t.token}, {"token", tokenizer.decode({t.token})}, {"logprob", t.logprob}}
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "\n";
  return out;
}

}  // namespace sparrow::pipeline
