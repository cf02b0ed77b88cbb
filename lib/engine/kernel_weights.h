// The one place where a .sparrow file's weight tensors become the views the kernels read. When the file's
// layout changes, this file (and nothing else in the engine) follows it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/kernels/ukernels.h"
#include "format/weights.h"

namespace sparrow::engine {

// A linear or conv2d layer's weights as the kernels take them. Views point into the mapped file; only
// row_sum is owned, derived at load from the INT8 weights (the zero-point correction needs it).
struct LinearWeights {
  format::WeightFormat format = format::WeightFormat::fp32;
  std::size_t n = 0;
  std::size_t k = 0;
  kernels::B4WeightsView sparse{};   // sparse_int8 (rows = the file's block_rows)
  kernels::DenseQc8wView dense{};    // dense_int8
  const float* f32 = nullptr;        // fp32 panels of kernels::kF32PanelNr channels, [ceil(n/16)][k][16]
  std::vector<std::int32_t> row_sum; // int8 formats: [n]
  const float* scale = nullptr;      // int8 formats: [n]
  const float* bias = nullptr;       // [n] or null
};

// `where` names the op in error messages. Throws BadInput for a layout the kernels cannot run.
LinearWeights kernel_weights(const format::WeightsView& w, const std::string& where);

}  // namespace sparrow::engine
