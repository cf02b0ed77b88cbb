// The whole model's speed for `compress analyze --target-speedup` (docs/analyze.md): what `sparrow bench
// --compare` measures at its default shape (batch 1; seq `seq` for a text model) on `threads` threads, on the
// dense model — LibTorch FP32, and Sparrow's engine on the model exported in INT8 (activation ranges from the
// checkpoint's quantization.json, or else observed on the held-out batches, Q·Kᵀ and P·V in INT8 when
// `int8_attention`) — with the share of the engine's time its linear ops took. A pruned layer changes only its
// linear op's time, so the rest of the engine's time carries over to the compressed model.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "data/batch.h"
#include "models/classifier.h"

namespace sparrow::pipeline {

struct ModelTimes {
  double fp32_s = 0;           // LibTorch FP32, one forward (median)
  double engine_s = 0;         // the engine, one run (median)
  double engine_linear_s = 0;  // of engine_s, the linear and conv ops' share
};

// `model` is left as it came (no hook added or removed for good). Median over at least 5 timed runs and
// 0.3 s on each side, after 2 warm-up runs.
ModelTimes time_model(models::Classifier& model, const std::filesystem::path& model_dir, const std::vector<data::Batch>& observe,
                      bool int8_attention, std::size_t seq, std::size_t threads);

}  // namespace sparrow::pipeline
