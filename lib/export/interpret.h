// A reference run of a lowered graph in LibTorch FP32: the exporter calibrates activation ranges with it,
// and tests check the lowering against the model's own forward.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>

#include "data/batch.h"
#include "export/lower.h"

namespace sparrow::exporter {

// Called with each layer op and its FP32 input, before the layer runs.
using LayerObserver = std::function<void(const LoweredOp& layer, const torch::Tensor& input)>;

// Every value of the graph by name (graph outputs included) for one batch.
std::map<std::string, torch::Tensor> interpret(const LoweredGraph& graph, const data::Batch& batch,
                                               const LayerObserver& observe = {});

}  // namespace sparrow::exporter
