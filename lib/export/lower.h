// Lowering a zoo model (CNN, MLP, BERT, Llama) to the engine's graph of ops (docs/format.md "Ops"), still in
// FP32 with its LibTorch weights: the exporter then picks each layer's storage and packs it, and the
// reference interpreter (interpret.h) runs it to calibrate and to check the lowering.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "models/classifier.h"

namespace sparrow::exporter {

// One op of the lowered graph. Linear and conv2d ops are "layers": their weight is kept as a float
// [N][K] matrix (conv: [out_channels][in_channels * kh * kw] in its "patch_order", models/weight_matrix.h) until
// packing.
struct LoweredOp {
  std::string name;
  std::string op;
  std::vector<std::string> inputs;
  std::string output;
  nlohmann::json attrs = nlohmann::json::object();
  std::map<std::string, torch::Tensor> weights;  // role -> tensor (layers: "weight" [N][K], "bias")
  bool is_layer() const { return op == "linear" || op == "conv2d"; }
};

struct GraphInput {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
};

struct LoweredGraph {
  std::vector<GraphInput> inputs;
  std::vector<LoweredOp> ops;
  std::vector<std::string> outputs;
  // The layers the exporter may quantize (the model's prunable ones: a recipe compresses these).
  std::vector<std::string> quantizable;
  nlohmann::json metadata = nlohmann::json::object();  // sparrow.model, labels, tokenizer, image shape
};

// Throws BadInput for a model the exporter does not know.
LoweredGraph lower_model(models::Classifier& model);

}  // namespace sparrow::exporter
