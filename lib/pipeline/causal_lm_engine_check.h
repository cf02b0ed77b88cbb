// The engine's part of a causal LM's `compress --recipe` report: the exported file's validation perplexity
// through Sparrow's engine, and its prefill and decode speed against the dense FP32 model in LibTorch, which
// prefills into and decodes through its own KV cache (as `sparrow bench --compare` times them), measured here
// as pipeline/speed_comparison.h measures a classifier's.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>

#include "data/dataset.h"
#include "models/classifier.h"

namespace sparrow::pipeline {

// Sets report["engine"] when `sparrow_file` exists (otherwise leaves the report alone):
// - perplexity over the whole validation set: each window prefilled on its own, scored as the trainer scores
//   it (compress/task_loss.h: every labelled token after the window's first), with the scored tokens;
// - prefill: a prompt of the first validation window's first `prompt` tokens, and decode: `gen` greedy steps
//   after it (each repetition rewinds to the prompt), each {tokens, batch 1, threads 1, speedup,
//   items_per_second (tokens/s), baseline_items_per_second, reliable, measurement}; prompt + gen is at most the
//   context (half of it each by default);
// - decode's keys at the top as well: what a min_speedup gate checks for a causal LM.
// The baseline is `dense` when given (the dense teacher), else a dense FP32 model of `compressed`'s
// architecture; both sides at 1 thread.
void add_causal_lm_engine_check(nlohmann::json& report, const std::filesystem::path& sparrow_file, const data::Dataset& test,
                                const models::Classifier& compressed, models::Classifier* dense);

}  // namespace sparrow::pipeline
