// Sparrow's trainer for C++ applications: compress your own torch::nn::Module with a SparseML-style recipe,
// the way SparseML wraps any PyTorch module. Link Sparrow::trainer (find_package(Sparrow), which finds
// LibTorch too).
//
//   auto net = std::make_shared<MyNet>();
//   sparrow::CompressResult r = sparrow::compress_module(*net, [&](const torch::Tensor& x) { return net->forward(x); },
//                                                 "prune90.yaml", train, test);
//
// The recipe's train: section (epochs, batch_size, optimizer, lr, seed) and its modifier lists apply.
// model:, teacher:, export: and gates: configure the compress app's own runs and are refused here (BadInput);
// data: is not read.
// Pruning selects parameters by name as named_parameters() gives them ("fc1.weight", "re:.*weight",
// __ALL_PRUNABLE__ = every torch::nn::Linear and Conv2d weight). Quantization-aware training needs the
// forward to compute those layers with sparrow::linear() / sparrow::conv2d() below, so that the trainer can
// fake-quantize them. The masks are applied to your module's own parameters: after the call it is the
// compressed model.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sparrow/errors.h"

namespace sparrow {

// A classification dataset in memory.
struct TrainingData {
  torch::Tensor inputs;                  // [N, ...], what the forward takes
  torch::Tensor labels;                  // [N] int64, in [0, label_names.size())
  std::vector<std::string> label_names;  // one per class
};

// The module's logits [B, classes] for a batch of inputs [B, ...].
using Forward = std::function<torch::Tensor(const torch::Tensor& inputs)>;

struct EpochResult {
  double epoch = 0;     // the fractional epoch reached
  double loss = 0;      // mean training loss over the pass
  double accuracy = 0;  // on the test data, after the pass
  double lr = 0;
  double sparsity = 0;  // zeros over the pruned parameters
};

struct LayerResult {
  std::string parameter;  // e.g. "fc1.weight"
  std::string mask;       // the mask kind that pruned it ("unstructured", "block4", "2:4", ...)
  double sparsity = 0;    // its zeros over its size, measured after training
};

struct CompressResult {
  std::optional<double> dense_accuracy;  // before pruning started, when the schedule had such an evaluation
  double accuracy = 0;                   // on the test data at the end
  double sparsity = 0;                   // zeros over the pruned parameters
  std::vector<EpochResult> epochs;
  std::vector<LayerResult> layers;       // every pruned parameter
  std::vector<std::string> quantized;    // layers trained with quantization, by module name
};

// Trains `module` through `forward` as the recipe file says, evaluating on `test` after every epoch.
CompressResult compress_module(torch::nn::Module& module, const Forward& forward, const std::string& recipe_file,
                               const TrainingData& train, const TrainingData& test);

// y = x W^T + b through the trainer's hook: what quantization-aware training fake-quantizes.
torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x);
torch::Tensor conv2d(const torch::nn::Conv2d& layer, const torch::Tensor& x);

}  // namespace sparrow
