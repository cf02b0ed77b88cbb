#include "apps/compress/engine_check.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <thread>

#include "engine/classifier.h"
#include "models/model_factory.h"

namespace sparrow::apps {

namespace {

constexpr std::int64_t kBatch = 32;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The engine over the test set in batches (texts as ids trimmed to each batch's longest item).
std::vector<std::size_t> engine_predictions(engine::Classifier& classifier, const data::Dataset& test) {
  std::vector<std::size_t> labels;
  for (std::int64_t begin = 0; begin < test.size(); begin += kBatch) {
    const auto batch = test.batch(torch::arange(begin, std::min(test.size(), begin + kBatch), torch::kInt64));
    std::vector<engine::Prediction> p;
    if (classifier.model().is_text()) {
      const auto mask = batch.attention_mask.defined() ? batch.attention_mask : torch::ones_like(batch.inputs);
      const std::int64_t longest = std::max<std::int64_t>(1, mask.sum(1).max().item<std::int64_t>());
      const auto ids = batch.inputs.slice(1, 0, longest).contiguous(), m = mask.slice(1, 0, longest).contiguous();
      engine::TokenBatch t{static_cast<std::size_t>(ids.size(0)), static_cast<std::size_t>(longest),
                           std::vector<std::int64_t>(ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + ids.numel()),
                           std::vector<std::int64_t>(m.data_ptr<std::int64_t>(), m.data_ptr<std::int64_t>() + m.numel())};
      p = classifier.classify_tokens(t);
    } else {
      const auto x = batch.inputs.contiguous().to(torch::kFloat32);
      p = classifier.classify_images(std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel()),
                                     static_cast<std::size_t>(x.size(0)));
    }
    for (const auto& item : p) labels.push_back(item.label);
  }
  return labels;
}

}  // namespace

void add_engine_check(nlohmann::json& report, const std::filesystem::path& sparrow_file, const data::Dataset& test,
                      const models::Classifier& compressed, models::Classifier* dense, int threads) {
  if (!std::filesystem::exists(sparrow_file) || test.size() == 0) return;
  const std::size_t t = threads > 0 ? static_cast<std::size_t>(threads) : std::max(1u, std::thread::hardware_concurrency());
  engine::Classifier classifier(engine::Model::load(sparrow_file), {t, false});
  auto start = std::chrono::steady_clock::now();
  const std::vector<std::size_t> predicted = engine_predictions(classifier, test);
  const double engine_seconds = seconds_since(start);
  std::int64_t correct = 0;
  const auto labels = test.labels.accessor<std::int64_t, 1>();
  for (std::size_t i = 0; i < predicted.size(); ++i) correct += static_cast<std::int64_t>(predicted[i]) == labels[static_cast<std::int64_t>(i)];

  // The baseline: dense FP32 in LibTorch, inference mode, the same threads, the same batches.
  std::shared_ptr<models::Classifier> fresh;
  if (dense == nullptr) {
    fresh = models::build_model(compressed.config(), "engine check");
    dense = fresh.get();
  }
  dense->eval();
  torch::set_num_threads(static_cast<int>(t));
  start = std::chrono::steady_clock::now();
  {
    torch::InferenceMode inference;
    for (std::int64_t begin = 0; begin < test.size(); begin += kBatch)
      (void)dense->logits(test.batch(torch::arange(begin, std::min(test.size(), begin + kBatch), torch::kInt64)));
  }
  const double baseline_seconds = seconds_since(start);
  const double items = static_cast<double>(test.size());
  report["engine"] = {{"accuracy", static_cast<double>(correct) / items},
                      {"items_per_second", items / engine_seconds},
                      {"baseline_items_per_second", items / baseline_seconds},
                      {"speedup", baseline_seconds / engine_seconds},
                      {"threads", t},
                      {"batch", kBatch},
                      {"isa", engine::Engine::isa()}};
  spdlog::info("engine: accuracy {:.4f}, {:.1f} items/s, {:.2f}x dense FP32 LibTorch ({:.1f} items/s), {} thread(s)",
               report["engine"]["accuracy"].get<double>(), items / engine_seconds, baseline_seconds / engine_seconds,
               items / baseline_seconds, t);
}

}  // namespace sparrow::apps
