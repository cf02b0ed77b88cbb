// The speed baselines of `sparrow bench --compare`: the same architecture in LibTorch, dense FP32 and with
// LibTorch's own dynamic INT8 linear layers. They run in this process, from the plug-in
// libsparrow_torch_baseline.so (baseline/torch_baseline_abi.h), so that the sparrow binary links no LibTorch.
// The plug-in is looked for in SPARROW_BASELINE_PLUGIN when set, else beside the binary (the build tree), else
// in ../lib next to it (an installed tree).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>

struct sparrow_baseline;

namespace sparrow::apps {

// What the baseline computes in (baseline/torch_baseline_abi.h, SPARROW_BASELINE_*).
enum class BaselinePrecision { fp32, dynamic_int8 };

// The zoo model `model_config` describes (metadata sparrow.model_config) with fresh weights (the same for
// both precisions), computing in `precision`, and random inputs of one shape (seq ignored for image models),
// built once; run() is one forward (for a causal LM, the prefill of a prompt of seq tokens). BadInput when the file has no model_config or the plug-in cannot be found
// or opened (naming where it looked).
class TorchBaseline {
 public:
  TorchBaseline(const nlohmann::json& model_config, BaselinePrecision precision, std::size_t batch, std::size_t seq);
  ~TorchBaseline();
  TorchBaseline(const TorchBaseline&) = delete;
  TorchBaseline& operator=(const TorchBaseline&) = delete;
  void run(std::size_t threads);
  // A causal LM only: `tokens` greedy decoding steps through LibTorch's KV cache, each call from the same
  // prompt state (the last run()'s).
  void decode(std::size_t threads, std::size_t tokens);
  // How LibTorch was set up for this baseline, for the report.
  std::string configuration() const;

 private:
  sparrow_baseline* baseline_ = nullptr;
};

}  // namespace sparrow::apps
