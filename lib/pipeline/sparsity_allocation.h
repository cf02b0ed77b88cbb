// Per-layer sparsities chosen from an analysis (analysis.h) to meet a target with the least predicted loss
// (docs/analyze.md, "Recipes written from the analysis"). No LibTorch: it reads the analysis's JSON.
//
// The prediction is the sensitivity analysis's usual additive one: the pruned model's loss is the dense loss
// plus, for each layer, the change measured when that layer alone was pruned to its sparsity. A layer's
// engine time at a sparsity is its shape's measured sparse INT8 time (dense INT8 when it stays dense). When the
// analysis timed the whole model (model_timing.h), the predicted speed-up is the whole model's against
// LibTorch FP32: the engine's time outside its linear ops stays, and its linear time scales with the layers'
// kernel times; otherwise it is the allocated layers' dense FP32 time over their chosen times.
//
// The choice is the one of least predicted loss among all that meet the target: a multiple-choice knapsack,
// solved exactly by dynamic programming over the layers, with the gain toward the target (parameters removed
// for a sparsity target, engine seconds saved against dense INT8 for a speed-up target) counted in steps of a
// ten-thousandth of what is needed (exact up to that rounding; the choice is checked against the target
// unrounded). Only measured sparsities are chosen; for a speed-up target, never one slower than dense INT8.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace sparrow::pipeline {

struct AllocationTarget {
  enum class Kind { sparsity, speedup };
  Kind kind = Kind::sparsity;
  double value = 0.0;  // average sparsity in (0, 1) (by parameter count), or a speed-up over dense FP32 > 0
};

struct LayerAllocation {
  std::string layer;
  std::int64_t params = 0;
  double sparsity = 0.0;     // 0: left dense
  double loss_change = 0.0;  // measured with this layer alone at `sparsity`
  double time_s = 0.0;       // the engine's time for this layer's GEMM at `sparsity`
  double dense_fp32_s = 0.0;
};

struct Allocation {
  std::string mask;
  AllocationTarget target;
  std::vector<LayerAllocation> layers;  // the analysis's order
  double sparsity = 0.0;                // the chosen average, by parameter count
  double dense_loss = 0.0;
  double predicted_loss = 0.0;
  // With the whole model timed (analysis["model_timing"], model_timing.h): sparrow bench --compare's speed-up
  // over LibTorch FP32; otherwise the allocated layers' dense FP32 time over their chosen times.
  double predicted_speedup = 0.0;
  bool whole_model = false;
};

// Chooses a sparsity for each of `layers` (names from analysis["layers"]; empty: all of them) with the
// analysis's `mask` measurements. BadInput when the target cannot be met at the highest measured sparsities
// (the message gives what they reach), when the analysis holds no measurements of `mask`, or names no such
// layer.
Allocation allocate_sparsities(const nlohmann::json& analysis, const std::string& mask,
                               const std::vector<std::string>& layers, const AllocationTarget& target);

// The allocation as JSON: mask, target {kind, value}, sparsity, dense_loss, predicted_loss, predicted_speedup,
// whole_model, layers [{layer, params, sparsity, loss_change, time_s, dense_fp32_s}].
nlohmann::json allocation_json(const Allocation& allocation);

}  // namespace sparrow::pipeline
