// The whole model's speed for `compress analyze --target-speedup` (docs/analyze.md): what `sparrow bench
// --compare` measures at its default shape (batch 1; seq `seq` for a text model) on `threads` threads, on the
// dense model — LibTorch FP32, and Sparrow's engine on the model exported in INT8 (activation ranges from the
// checkpoint's quantization.json, or else observed on the held-out batches, Q·Kᵀ and P·V in INT8 when
// `int8_attention`), and again with its layers pruned — with the share of the engine's time its linear ops
// took. A pruned layer changes only its linear op's time, so the rest of the engine's time carries over to
// the compressed model.
#pragma once

#include <cstddef>
#include <filesystem>
#include <vector>

#include "data/batch.h"
#include "models/classifier.h"
#include "recipe/mask_kind.h"

namespace sparrow::pipeline {

struct EngineTimes {
  double total_s = 0;   // one run (median)
  double linear_s = 0;  // of total_s, the linear and conv ops' share
};

struct ModelTimes {
  double fp32_s = 0;    // LibTorch FP32, one forward (median)
  EngineTimes dense;    // the engine on the dense model in INT8
  EngineTimes pruned;   // the same with every prunable layer at `pruned_sparsity` of `mask` (magnitude)
};

// `model` is left as it came (weights restored, no hook added or removed for good). Each figure is the
// median over at least 5 timed runs and 0.3 s, after 2 warm-up runs. Two engine points, dense and pruned, let
// a layer's time in the model be read as a fixed cost (quantizing its input, its epilogue, the op's set-up)
// plus a share that follows its kernel's time (sparsity_allocation.h).
ModelTimes time_model(models::Classifier& model, const std::filesystem::path& model_dir, const std::vector<data::Batch>& observe,
                      bool int8_attention, const recipe::MaskKind& mask, double pruned_sparsity, std::size_t seq,
                      std::size_t threads);

}  // namespace sparrow::pipeline
