// The speed baseline of `sparrow bench --compare`: the same architecture, dense FP32, in LibTorch.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace sparrow::apps {

struct BaselineResult {
  std::vector<double> latencies;  // seconds per batch, one per timed iteration
  std::string configuration;      // how LibTorch was set up, for the report
};

// Builds the zoo model `model_config` describes (metadata sparrow.model_config) with fresh dense FP32 weights
// and times its forward on random inputs of the given shape (seq ignored for image models).
BaselineResult measure_torch_baseline(const nlohmann::json& model_config, std::size_t batch, std::size_t seq,
                                      std::size_t threads, std::size_t warmup, std::size_t iterations);

}  // namespace sparrow::apps
