#include "pipeline/engine_check.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "pipeline/speed_comparison.h"
#include "engine/classifier.h"
#include "engine/engine.h"
#include "models/model_factory.h"

namespace sparrow::pipeline {

namespace {

constexpr std::int64_t kBatch = 32;
// Speed is timed on the test set's first items (at most this many: kTimedItems in batches of kBatch,
// kTimedSingleItems one by one), in kRounds interleaved rounds.
constexpr std::int64_t kTimedItems = 128;
constexpr std::int64_t kTimedSingleItems = 16;
constexpr std::size_t kRounds = 5;

// One batch as both sides get it: text trimmed to the batch's longest item (as `sparrow run` does), so the
// engine and LibTorch see the same tokens.
struct TimedBatch {
  data::Batch torch;
  engine::TokenBatch tokens;  // text models
  std::vector<float> images;  // image models
};

TimedBatch prepare(const engine::Classifier& classifier, data::Batch batch) {
  TimedBatch b;
  if (classifier.model().is_text()) {
    const auto mask = batch.attention_mask.defined() ? batch.attention_mask : torch::ones_like(batch.inputs);
    const std::int64_t longest = std::max<std::int64_t>(1, mask.sum(1).max().item<std::int64_t>());
    batch.inputs = batch.inputs.slice(1, 0, longest).contiguous();
    batch.attention_mask = mask.slice(1, 0, longest).contiguous();
    const auto& ids = batch.inputs;
    const auto& m = batch.attention_mask;
    b.tokens = {static_cast<std::size_t>(ids.size(0)), static_cast<std::size_t>(longest),
                std::vector<std::int64_t>(ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + ids.numel()),
                std::vector<std::int64_t>(m.data_ptr<std::int64_t>(), m.data_ptr<std::int64_t>() + m.numel())};
  } else {
    batch.inputs = batch.inputs.contiguous().to(torch::kFloat32);
    b.images.assign(batch.inputs.data_ptr<float>(), batch.inputs.data_ptr<float>() + batch.inputs.numel());
  }
  b.torch = std::move(batch);
  return b;
}

std::vector<TimedBatch> prepare_batches(const engine::Classifier& classifier, const data::Dataset& test, std::int64_t items,
                                        std::int64_t batch) {
  std::vector<TimedBatch> out;
  for (std::int64_t begin = 0; begin < items; begin += batch)
    out.push_back(prepare(classifier, test.batch(torch::arange(begin, std::min(items, begin + batch), torch::kInt64))));
  return out;
}

std::vector<engine::Prediction> classify(engine::Classifier& classifier, const TimedBatch& b) {
  return classifier.model().is_text() ? classifier.classify_tokens(b.tokens)
                                      : classifier.classify_images(b.images, static_cast<std::size_t>(b.torch.inputs.size(0)));
}

}  // namespace

void add_engine_check(nlohmann::json& report, const std::filesystem::path& sparrow_file, const data::Dataset& test,
                      const models::Classifier& compressed, models::Classifier* dense, int threads, int speedup_batch,
                      int speedup_threads) {
  if (!std::filesystem::exists(sparrow_file) || test.size() == 0) return;
  const std::size_t t = threads > 0 ? static_cast<std::size_t>(threads) : engine::default_thread_count();
  const std::shared_ptr<const engine::Model> model = engine::Model::load(sparrow_file);
  engine::Classifier classifier(model, {t, false});
  const std::vector<TimedBatch> all = prepare_batches(classifier, test, test.size(), kBatch);
  std::int64_t correct = 0, i = 0;
  const auto labels = test.labels.accessor<std::int64_t, 1>();
  for (const auto& b : all)
    for (const auto& p : classify(classifier, b)) correct += static_cast<std::int64_t>(p.label) == labels[i++];

  // The baseline: dense FP32 in LibTorch, inference mode, eval mode, the same batches.
  std::shared_ptr<models::Classifier> fresh;
  if (dense == nullptr) {
    fresh = models::build_model(compressed.config(), "engine check");
    dense = fresh.get();
  }
  dense->eval();
  const int torch_threads = torch::get_num_threads();  // restored after: the comparison changes it
  nlohmann::json configurations = nlohmann::json::array(), gated;
  for (const std::int64_t batch : {std::int64_t{1}, kBatch}) {
    const std::int64_t items = std::min(test.size(), batch == 1 ? kTimedSingleItems : kTimedItems);
    const std::vector<TimedBatch> timed = prepare_batches(classifier, test, items, batch);
    for (const std::size_t config_threads : t > 1 ? std::vector<std::size_t>{1, t} : std::vector<std::size_t>{1}) {
      engine::Classifier timed_classifier(model, {config_threads, false});
      const SpeedComparison c = compare_speed(
          [&] {
            for (const auto& b : timed) (void)classify(timed_classifier, b);
          },
          [&](std::size_t baseline_threads) {
            torch::set_num_threads(static_cast<int>(baseline_threads));
            torch::InferenceMode inference;
            for (const auto& b : timed) (void)dense->logits(b.torch);
          },
          {config_threads, 1, kRounds, nullptr});
      nlohmann::json j = {{"batch", batch}, {"threads", config_threads}};
      j.update(c.to_json(static_cast<double>(items)));
      spdlog::info("engine at batch {}, {} thread(s): {:.1f} items/s, {:.2f}x dense FP32 LibTorch ({:.1f} items/s at {} "
                   "thread(s)){}",
                   batch, config_threads, j["items_per_second"].get<double>(), c.speedup(),
                   j["baseline_items_per_second"].get<double>(), c.baselines[0].fastest().threads,
                   c.verdict.reliable ? "" : " (unreliable: " + c.verdict.reason + ")");
      if (batch == speedup_batch && config_threads == (speedup_threads == 1 ? 1 : t)) gated = j;
      configurations.push_back(std::move(j));
    }
  }
  torch::set_num_threads(torch_threads);
  report["engine"] = {{"accuracy", static_cast<double>(correct) / static_cast<double>(test.size())},
                      {"isa", engine::Engine::isa()}};
  report["engine"].update(gated);
  report["engine"]["configurations"] = std::move(configurations);
  spdlog::info("engine: accuracy {:.4f}; the speed-up reported (and gated) is batch {}, {} thread(s): {:.2f}x",
               report["engine"]["accuracy"].get<double>(), gated["batch"].get<std::int64_t>(),
               gated["threads"].get<std::size_t>(), gated["speedup"].get<double>());
}

}  // namespace sparrow::pipeline
