// LibTorch's own dynamic INT8, as a zoo model's linear hook (models/linear_hook.h): the second baseline of
// `sparrow bench --compare`, what PyTorch users get from torch.ao.quantization.quantize_dynamic. Every linear
// layer runs as LibTorch's quantized::linear_dynamic: INT8 weights, symmetric per output channel
// (scale max|W[n,:]| / 127, as Sparrow's own), prepacked once by the chosen quantized engine; the input
// quantized to UINT8 per call from its own min and max, the output FP32. Conv layers and everything else stay
// FP32, as with quantize_dynamic.
#pragma once

#include <ATen/core/ivalue.h>
#include <torch/torch.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "models/linear_hook.h"

namespace sparrow::baseline {

// The quantized engines this LibTorch can run quantized::linear_dynamic on (of FBGEMM, x86, oneDNN, QNNPACK).
std::vector<at::QEngine> dynamic_int8_engines();
// "oneDNN", "QNNPACK", ...
std::string engine_name(at::QEngine engine);

class DynamicInt8Linear final : public models::LinearHook {
 public:
  explicit DynamicInt8Linear(at::QEngine engine);
  // A layer's weights are quantized and packed at its first call, and reused after.
  torch::Tensor linear(const torch::nn::LinearImpl& layer, const torch::Tensor& x) override;
  torch::Tensor conv2d(const torch::nn::Conv2dImpl& layer, const torch::Tensor& x) override;
  at::QEngine engine() const { return engine_; }
  // Linear layers packed so far (each ran at least once in INT8).
  std::size_t packed_layers() const { return packed_.size(); }

 private:
  at::QEngine engine_;
  std::unordered_map<const torch::nn::LinearImpl*, c10::IValue> packed_;
};

}  // namespace sparrow::baseline
