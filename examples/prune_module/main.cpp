// prune_module RECIPE.yaml: compresses a two-layer network defined here, with the trainer's C++ API, on
// three Gaussian clusters in 16 dimensions (seeded). Prints the accuracy before pruning, at the end, and
// each pruned layer's sparsity.
#include <sparrow/trainer.h>

#include <iostream>

namespace {

struct TwoLayerNetImpl : torch::nn::Module {
  TwoLayerNetImpl() : fc1(register_module("fc1", torch::nn::Linear(16, 64))), fc2(register_module("fc2", torch::nn::Linear(64, 3))) {}
  // sparrow::linear lets a recipe's QuantizationModifier fake-quantize the layers.
  torch::Tensor forward(const torch::Tensor& x) { return sparrow::linear(fc2, torch::relu(sparrow::linear(fc1, x))); }
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(TwoLayerNet);

sparrow::TrainingData clusters(int64_t per_class, const torch::Tensor& centres) {
  sparrow::TrainingData d;
  std::vector<torch::Tensor> xs, ys;
  for (int64_t c = 0; c < centres.size(0); ++c) {
    xs.push_back(centres[c] + 0.8 * torch::randn({per_class, centres.size(1)}));
    ys.push_back(torch::full({per_class}, c, torch::kInt64));
  }
  d.inputs = torch::cat(xs);
  d.labels = torch::cat(ys);
  d.label_names = {"a", "b", "c"};
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: prune_module RECIPE.yaml\n";
    return 2;
  }
  try {
    torch::manual_seed(0);
    const torch::Tensor centres = torch::randn({3, 16});
    const sparrow::TrainingData train = clusters(400, centres), test = clusters(100, centres);
    TwoLayerNet net;
    const sparrow::CompressResult r =
        sparrow::compress_module(*net, [&](const torch::Tensor& x) { return net->forward(x); }, argv[1], train, test);
    if (r.dense_accuracy) std::cout << "dense_accuracy " << *r.dense_accuracy << "\n";
    std::cout << "accuracy " << r.accuracy << "\nsparsity " << r.sparsity << "\n";
    for (const auto& l : r.layers) std::cout << "layer " << l.parameter << " " << l.mask << " " << l.sparsity << "\n";
    for (const auto& q : r.quantized) std::cout << "quantized " << q << "\n";
    // The masks are in the module itself: count its zeros independently of the result.
    std::cout << "fc1_zeros " << (net->fc1->weight == 0).sum().item<int64_t>() << " of " << net->fc1->weight.numel() << "\n";
    return 0;
  } catch (const sparrow::Error& e) {
    std::cerr << "prune_module: " << e.what() << "\n";
    return e.exit_code();
  }
}
