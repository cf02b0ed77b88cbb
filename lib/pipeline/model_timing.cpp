#include "pipeline/model_timing.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "compress/masks/magnitude_mask.h"
#include "compress/param_selection.h"
#include "compress/quant/qat_hook.h"
#include "core/files.h"
#include "engine/engine.h"
#include "engine/model.h"
#include "engine/random_inputs.h"
#include "export/exporter.h"
#include "export/lower.h"

namespace sparrow::pipeline {

namespace {

namespace fs = std::filesystem;

// Median seconds of `run` over at least 5 runs and 0.3 s, after 2 warm-up runs.
template <class Run>
double median_seconds(Run run) {
  for (int i = 0; i < 2; ++i) run();
  std::vector<double> times;
  double total = 0;
  while (times.size() < 5 || total < 0.3) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    total += times.back();
  }
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

// The export options of the dense model in INT8: the checkpoint's quantization.json, or ranges observed on
// `observe` through the trainer's quantization hook (removed again afterwards).
exporter::ExportOptions int8_options(models::Classifier& model, const fs::path& model_dir,
                                     const std::vector<data::Batch>& observe, bool int8_attention) {
  const auto graph = exporter::lower_model(model);
  exporter::ExportOptions o;
  o.quantization_source = "quantization.json";
  if (fs::exists(model_dir / "quantization.json")) {
    exporter::read_quantization_json(model_dir / "quantization.json", graph, o);
    return o;
  }
  const auto previous = model.linear_hook();
  auto hook = std::make_shared<compress::QatHook>(model, graph.quantizable,
                                                  int8_attention ? model.attention_blocks() : std::vector<std::string>{});
  model.set_linear_hook(hook);
  model.eval();
  {
    torch::NoGradGuard no_grad;
    for (const auto& b : observe) model.forward(b);
  }
  hook->freeze_observers();
  model.set_linear_hook(previous);
  const fs::path file = fs::temp_directory_path() / ("sparrow_analysis_quantization_" + std::to_string(::getpid()) + ".json");
  write_file_atomic(file, hook->to_json().dump());
  exporter::read_quantization_json(file, graph, o);
  fs::remove(file);
  return o;
}

// The engine's median run of `model` exported with `options`, and its linear and conv ops' share.
EngineTimes time_engine(models::Classifier& model, const exporter::ExportOptions& options, std::size_t seq,
                        std::size_t threads, std::vector<float>& images, data::Batch& batch) {
  const fs::path file = fs::temp_directory_path() / ("sparrow_analysis_model_" + std::to_string(::getpid()) + ".sparrow");
  exporter::export_model(model, file, options);
  const auto engine_model = engine::Model::load(file);
  fs::remove(file);  // mapped: the mapping outlives the name

  const bool text = engine_model->is_text();
  const engine::RandomInputs in = engine::random_inputs(*engine_model, 1, seq);
  if (text) {
    batch.inputs = torch::tensor(in.ids).view({1, static_cast<std::int64_t>(seq)});
    batch.attention_mask = torch::tensor(in.mask).view({1, static_cast<std::int64_t>(seq)});
  } else {
    images = in.images;
  }
  engine::Engine engine(engine_model, {threads, /*profile=*/true});
  EngineTimes t;
  t.total_s = median_seconds([&] { engine.run(1, text ? seq : 0, in.inputs); });
  double all = 0, linear = 0;
  for (const auto& op : engine.profile()) {
    all += op.seconds;
    if (op.kind == engine::OpKind::linear || op.kind == engine::OpKind::conv2d) linear += op.seconds;
  }
  t.linear_s = all > 0 ? t.total_s * linear / all : 0;
  return t;
}

}  // namespace

ModelTimes time_model(models::Classifier& model, const fs::path& model_dir, const std::vector<data::Batch>& observe,
                      bool int8_attention, const recipe::MaskKind& mask, double pruned_sparsity, std::size_t seq,
                      std::size_t threads) {
  ModelTimes t;
  const exporter::ExportOptions options = int8_options(model, model_dir, observe, int8_attention);
  std::vector<float> images;
  data::Batch batch;
  t.dense = time_engine(model, options, seq, threads, images, batch);
  {
    std::vector<std::pair<torch::Tensor, torch::Tensor>> saved;
    {
      torch::NoGradGuard no_grad;
      for (const auto& name : model.prunable_parameters()) {
        torch::Tensor w = compress::parameter(model, name);
        saved.emplace_back(w, w.detach().clone());
        w.mul_(compress::magnitude_mask(w.detach(), pruned_sparsity, mask));
      }
    }
    t.pruned = time_engine(model, options, seq, threads, images, batch);
    torch::NoGradGuard no_grad;
    for (auto& [w, copy] : saved) w.copy_(copy);
  }
  if (!batch.inputs.defined()) {  // an image model: one item of the held-out data's shape
    auto shape = observe.front().inputs.sizes().vec();
    shape[0] = 1;
    batch.inputs = torch::tensor(images).view(shape);
  }

  // A quantization-aware checkpoint's hook (fake quantization) is not part of the FP32 baseline.
  const auto hook = model.linear_hook();
  model.set_linear_hook(nullptr);
  const int previous_threads = at::get_num_threads();
  at::set_num_threads(static_cast<int>(threads));
  model.eval();
  {
    c10::InferenceMode inference;
    t.fp32_s = median_seconds([&] { model.forward(batch); });
  }
  at::set_num_threads(previous_threads);
  model.set_linear_hook(hook);
  return t;
}

}  // namespace sparrow::pipeline
