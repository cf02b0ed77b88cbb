// LibTorch is set up as fast as it honestly gets on a CPU: inference mode (no autograd records), eval mode,
// intra-op threads = the engine's threads, one inter-op thread (the graph is a chain), and whatever BLAS
// LibTorch was built against (Debian's: OpenBLAS, OpenMP variant), so both sides get the same cores.
#include "apps/sparrow/torch_baseline.h"

#include <torch/torch.h>

#include <chrono>

#include "core/errors.h"
#include "data/batch.h"
#include "models/classifier.h"
#include "models/model_factory.h"

namespace sparrow::apps {

BaselineResult measure_torch_baseline(const nlohmann::json& model_config, std::size_t batch, std::size_t seq,
                                      std::size_t threads, std::size_t warmup, std::size_t iterations) {
  if (!model_config.is_object()) throw BadInput("bench --compare: the file has no sparrow.model_config metadata to rebuild the model from");
  torch::set_num_threads(static_cast<int>(threads));
  static const bool interop = [] {
    torch::set_num_interop_threads(1);
    return true;
  }();
  (void)interop;
  torch::manual_seed(0);
  auto model = models::build_model(model_config, "sparrow.model_config");
  model->eval();
  torch::InferenceMode inference;
  data::Batch b;
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
  BaselineResult r;
  for (std::size_t i = 0; i < warmup; ++i) model->logits(b);
  for (std::size_t i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto logits = model->logits(b);
    (void)logits.data_ptr<float>();
    r.latencies.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  r.configuration = "LibTorch " + std::string(TORCH_VERSION) + " dense FP32, inference mode, " + std::to_string(torch::get_num_threads()) +
                    " intra-op thread(s), 1 inter-op thread, BLAS: " + (at::hasMKL() ? "MKL" : "the system's (OpenBLAS)");
  return r;
}

}  // namespace sparrow::apps
