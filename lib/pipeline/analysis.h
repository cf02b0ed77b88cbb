// `compress analyze`: how much each prunable layer of a trained model can lose, and what its sparsity buys in
// the engine on this machine.
// - Sensitivity: for each layer, mask kind and sparsity, that layer alone is pruned one-shot by magnitude
//   (compress/masks/magnitude_mask.h) and the model measured on a held-out slice, then the layer is restored:
//   a classifier's loss and accuracy on the data's first `limit` test items; a causal LM's loss and perplexity
//   over the first `limit` tokens of a corpus's validation part (pipeline/perplexity.h: windows of its
//   context, stride half of it).
// - Speed: for each layer shape, mask kind and sparsity, the engine's sparse INT8 kernel over `tokens` tokens
//   on a mask of that kind (magnitude of random weights) against dense INT8 and dense FP32 (layer_timing.h).
//   A conv weight [out, in, kh, kw] is timed as the GEMM [out, in·kh·kw] the engine runs per output pixel.
// Each measurement is kept in a cache file, keyed by what it depends on (the checkpoint's
// SHA-256, the slice, the layer or shape, mask and sparsity; the tokens, threads and kernels), so a rerun with
// one more sparsity or mask measures only what is new.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "recipe/mask_kind.h"

namespace sparrow::pipeline {

struct AnalysisOptions {
  std::filesystem::path model_dir;
  std::string data;                 // as compress eval's --data
  std::vector<double> sparsities;   // each in (0, 1), no repeats
  std::vector<recipe::MaskKind> masks;  // no repeats
  std::int64_t limit = 0;           // items of the held-out slice (0: 512), tokens for a causal LM (0: 4096)
  std::int64_t batch_size = 64;
  std::size_t tokens = 128;         // tokens per timed GEMM
  std::size_t threads = 1;          // the engine's threads while timing
  // The whole model's speed too (model_timing.h; classifiers only), with attention in INT8 when asked: dense,
  // and pruned with the first of `masks` at the analysed sparsity nearest 90 %.
  bool time_whole_model = false;
  bool int8_attention = false;
  // The cache (analysis_cache.json in the output folder): measurements are read from `cache_from` (a previous
  // analysis's; absent: none) and every one, read or new, is written to `cache_to` (empty: not kept).
  std::filesystem::path cache_from, cache_to;
};

// The analysis as JSON (docs/analyze.md): model, data, items (tokens for a causal LM), metric ("accuracy" or
// "perplexity"), dense {loss, accuracy or perplexity}, layers [{name, shape}],
// sensitivity [{layer, mask, sparsity, loss, accuracy or perplexity}], timing [{n, k, mask, sparsity, sparse_int8_s,
// dense_int8_s, dense_fp32_s, kernel}], tokens, threads, isa, machine, measured (new measurements), cached;
// with time_whole_model, model_timing {fp32_s, dense {total_s, linear_s}, pruned {total_s, linear_s, mask,
// sparsity}, int8_attention, seq}.
// BadInput for a bad model folder, data of the wrong kind for the model (a corpus for a causal LM), a mask kind that does not fit a layer, or data that does not fit
// the model, all before the cache is written.
nlohmann::json analyze(const AnalysisOptions& options);

}  // namespace sparrow::pipeline
