// LibTorch is set up as fast as it honestly gets on a CPU: inference mode (no autograd records), eval mode,
// intra-op threads as asked per run (bench --compare times 1 and the engine's threads), one inter-op thread
// (the graph is a chain), and whatever BLAS LibTorch was built against (Debian's: OpenBLAS, OpenMP variant).
#include "apps/sparrow/torch_baseline.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "data/batch.h"
#include "models/classifier.h"
#include "models/model_factory.h"

namespace sparrow::apps {

struct TorchBaseline::State {
  std::shared_ptr<models::Classifier> model;
  data::Batch batch;
};

TorchBaseline::TorchBaseline(const nlohmann::json& model_config, std::size_t batch, std::size_t seq) : state_(std::make_unique<State>()) {
  if (!model_config.is_object()) throw BadInput("bench --compare: the file has no sparrow.model_config metadata to rebuild the model from");
  static const bool interop = [] {
    torch::set_num_interop_threads(1);
    return true;
  }();
  (void)interop;
  torch::manual_seed(0);
  state_->model = models::build_model(model_config, "sparrow.model_config");
  state_->model->eval();
  auto& b = state_->batch;
  const auto B = static_cast<std::int64_t>(batch);
  if (model_config.value("name", "") == "bert") {
    const std::int64_t vocab = model_config.at("vocab_size").get<std::int64_t>();
    b.inputs = torch::randint(5, vocab, {B, static_cast<std::int64_t>(seq)}, torch::kInt64);
    b.attention_mask = torch::ones({B, static_cast<std::int64_t>(seq)}, torch::kInt64);
  } else if (model_config.value("name", "") == "mlp") {
    b.inputs = torch::randn({B, model_config.at("in_features").get<std::int64_t>()});
  } else {
    const std::int64_t c = model_config.at("in_channels"), s = model_config.at("image_size");
    b.inputs = torch::randn({B, c, s, s});
  }
}

TorchBaseline::~TorchBaseline() = default;

void TorchBaseline::run(std::size_t threads) {
  torch::set_num_threads(static_cast<int>(threads));
  torch::InferenceMode inference;
  const auto logits = state_->model->logits(state_->batch);
  (void)logits.data_ptr<float>();
}

std::string TorchBaseline::configuration() {
  return "LibTorch " + std::string(TORCH_VERSION) + " dense FP32, inference mode, 1 inter-op thread, BLAS: " +
         (at::hasMKL() ? "MKL" : "the system's (OpenBLAS)");
}

}  // namespace sparrow::apps
