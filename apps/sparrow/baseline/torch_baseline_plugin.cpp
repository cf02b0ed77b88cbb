// The LibTorch baseline plug-in behind torch_baseline_abi.h. LibTorch is set up as fast as it honestly gets
// on a CPU: inference mode (no autograd records), eval mode, intra-op threads as asked per run (bench --compare
// times 1 and the engine's threads), one inter-op thread (the graph is a chain), and whatever BLAS LibTorch was
// built against (Debian's: OpenBLAS, OpenMP variant).
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "apps/sparrow/baseline/torch_baseline_abi.h"
#include "core/errors.h"
#include "data/batch.h"
#include "models/classifier.h"
#include "models/model_factory.h"

struct sparrow_baseline {
  std::shared_ptr<sparrow::models::Classifier> model;
  sparrow::data::Batch batch;
};

namespace {

using namespace sparrow;

int fail(int code, const std::string& message, char* error, std::size_t error_size) {
  if (error_size > 0) {
    const std::size_t n = std::min(message.size(), error_size - 1);
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
  }
  return code;
}

// Runs `body`, turning what it throws into the exit code the binary rethrows.
template <class F>
int guarded(F&& body, char* error, std::size_t error_size) {
  try {
    body();
    return 0;
  } catch (const BadInput& e) {
    return fail(2, e.what(), error, error_size);
  } catch (const nlohmann::json::exception& e) {
    return fail(2, std::string("sparrow.model_config: ") + e.what(), error, error_size);
  } catch (const std::exception& e) {
    return fail(3, e.what(), error, error_size);
  }
}

void build(sparrow_baseline& b, const nlohmann::json& model_config, std::size_t batch, std::size_t seq) {
  static const bool interop = [] {
    torch::set_num_interop_threads(1);
    return true;
  }();
  (void)interop;
  torch::manual_seed(0);
  b.model = models::build_model(model_config, "sparrow.model_config");
  b.model->eval();
  const auto B = static_cast<std::int64_t>(batch);
  if (model_config.value("name", "") == "bert") {
    const std::int64_t vocab = model_config.at("vocab_size").get<std::int64_t>();
    b.batch.inputs = torch::randint(5, vocab, {B, static_cast<std::int64_t>(seq)}, torch::kInt64);
    b.batch.attention_mask = torch::ones({B, static_cast<std::int64_t>(seq)}, torch::kInt64);
  } else if (model_config.value("name", "") == "mlp") {
    b.batch.inputs = torch::randn({B, model_config.at("in_features").get<std::int64_t>()});
  } else {
    const std::int64_t c = model_config.at("in_channels"), s = model_config.at("image_size");
    b.batch.inputs = torch::randn({B, c, s, s});
  }
}

}  // namespace

extern "C" {

int sparrow_baseline_abi_version() { return SPARROW_BASELINE_ABI_VERSION; }

int sparrow_baseline_create(const char* model_config, std::size_t batch, std::size_t seq, sparrow_baseline** out,
                            char* error, std::size_t error_size) {
  return guarded(
      [&] {
        auto b = std::make_unique<sparrow_baseline>();
        build(*b, nlohmann::json::parse(model_config), batch, seq);
        *out = b.release();
      },
      error, error_size);
}

int sparrow_baseline_run(sparrow_baseline* baseline, std::size_t threads, char* error, std::size_t error_size) {
  return guarded(
      [&] {
        torch::set_num_threads(static_cast<int>(threads));
        torch::InferenceMode inference;
        const auto logits = baseline->model->logits(baseline->batch);
        (void)logits.data_ptr<float>();
      },
      error, error_size);
}

void sparrow_baseline_destroy(sparrow_baseline* baseline) { delete baseline; }

const char* sparrow_baseline_configuration() {
  static const std::string text = "LibTorch " + std::string(TORCH_VERSION) + " dense FP32, inference mode, 1 inter-op thread, BLAS: " +
                                  (at::hasMKL() ? "MKL" : "the system's (OpenBLAS)");
  return text.c_str();
}

}  // extern "C"
