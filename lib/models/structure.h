#pragma once
// Structured pruning's view of a model: the units it can remove whole
// (attention heads, FFN neurons, conv channels, encoder layers), grouped so
// that units compete only within their group, and which slice of which
// parameter each unit owns. Removing units shrinks the tensors for real.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace sparrow::models {

enum class StructureKind { Heads, Neurons, Channels, Layers };

const char* to_string(StructureKind kind);

// Unit u of a group owns indices [u * unit_size, (u + 1) * unit_size) of
// `param` along `dim`; dim -1: the whole tensor (a unit that is a layer).
struct UnitSlice {
  std::string param;
  int64_t dim = 0;
  int64_t unit_size = 1;
};

struct StructureGroup {
  std::string name;  // a module name, e.g. bert.encoder.layer.0.attention
  int64_t units = 0;
  // For dim -1 slices, slices[u] is unit u's list; otherwise every unit owns
  // its part of each slice.
  std::vector<UnitSlice> slices;
  std::vector<std::vector<std::string>> unit_params;  // Layers: parameters of each unit
};

// The kept indices along one dimension when `units` (each unit_size wide) go.
torch::Tensor kept_indices(int64_t units, int64_t unit_size, const std::vector<int64_t>& removed);

// Copies of a layer keeping only the given output rows / input columns
// (undefined: all of them).
torch::nn::Linear shrink_linear(const torch::nn::Linear& layer, const torch::Tensor& keep_out, const torch::Tensor& keep_in);
torch::nn::Conv2d shrink_conv2d(const torch::nn::Conv2d& layer, const torch::Tensor& keep_out, const torch::Tensor& keep_in);
// A BatchNorm keeping only the given channels, with their running statistics.
torch::nn::BatchNorm2d shrink_batch_norm(const torch::nn::BatchNorm2d& layer, const torch::Tensor& keep);

}  // namespace sparrow::models
