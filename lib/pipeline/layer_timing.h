// The engine's time for one linear layer on this machine: a weight matrix [n][k] with a given zero pattern run
// over m tokens by the sparse INT8 kernel, against the same shape dense in INT8 and in FP32. The kernels and
// the file's packers are the engine's own (engine/kernels/linear.h, format/weights.h), as bench_kernels times
// them: inputs pre-packed, FP32 output with the fused epilogue. No LibTorch here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sparrow::pipeline {

struct LayerTimes {
  double sparse_int8 = 0;  // seconds per call, median of the repetitions
  double dense_int8 = 0;
  double dense_fp32 = 0;
  const char* sparse_kernel = "";  // the micro-kernel that ran
};

// `kept` is row-major [n][k], nonzero where the weight is kept; `block_rows` the sparse layout's tile height
// (1, 2 or 4: an [r,4] mask packs r x 4 tiles, every other mask 1 x 4 blocks). Each kernel runs until it has
// spent `min_seconds` (at least 3 calls), the median call counts.
LayerTimes time_layer(const std::vector<std::uint8_t>& kept, std::size_t n, std::size_t k, std::size_t block_rows,
                      std::size_t m, std::size_t threads, double min_seconds = 0.05);

}  // namespace sparrow::pipeline
