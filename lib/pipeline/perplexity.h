#pragma once
// The perplexity of a causal language model over a token stream longer than its context, by strided windows
// (the method Hugging Face documents in "Perplexity of fixed-length models"), for compress eval.
//
// Windows of `window` tokens start every `stride` tokens (1 <= stride < window): window k covers positions
// [kS, min(kS + W, n)). Each window scores only the tokens no earlier window scored, [previous end, end), each
// predicted from the window's tokens before it, so every token x_t with t >= 1 is scored exactly once with
// between W - S and W - 1 tokens of context (the first window's tokens: all that precede them); x_0 has no
// context and is not scored. With N = n - 1 scored tokens:
//   perplexity = exp( -(1/N) * sum_{t=1}^{n-1} log p(x_t | x_{begin(t)} .. x_{t-1}) ).
#include <cstdint>
#include <string>
#include <vector>

#include "models/llama/llama.h"
#include "text/bpe_tokenizer.h"

namespace sparrow::pipeline {

struct TokenLogProb {
  int64_t index = 0;  // position in the stream
  int64_t token = 0;  // its id
  double logprob = 0;
};

struct StridedPerplexity {
  std::vector<TokenLogProb> tokens;  // the scored tokens in stream order
  double nll_sum = 0;
  int64_t windows = 0;
  double seconds = 0;  // the forward passes' wall time
  double loss() const;        // nll_sum / tokens.size()
  double perplexity() const;  // exp(loss())
};

// No gradients, eval mode. The caller checks window (2 .. max_position_embeddings) and stride; a stream of
// fewer than 2 tokens has nothing to score and is BadInput.
StridedPerplexity strided_perplexity(models::llama::LlamaForCausalLM& model, const std::vector<int64_t>& stream,
                                     int64_t window, int64_t stride);

// One JSON line per scored token: {"index", "token_id", "token" (its text), "logprob"} (natural log).
std::string log_probs_jsonl(const StridedPerplexity& result, const text::BpeTokenizer& tokenizer);

}  // namespace sparrow::pipeline
