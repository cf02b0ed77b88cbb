// `sparrow bench FILE [--batch B] [--seq L] [--threads T] [--warmup W] [--iterations N] [--json] [--profile]
// [--compare]`: the engine's throughput and latency on random inputs of one shape; --profile adds the time
// per op kind, --compare times the same architecture dense FP32 in LibTorch in the same process, in rounds
// interleaved with the engine's (lib/pipeline/speed_comparison.h), and prints the speed-up and whether the
// machine was quiet enough to trust it. Speeds are measured, never asserted. --seq is for text models: an image
// model refuses it (exit 2), and its output shows the image shape instead.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

#include "apps/sparrow/command.h"
#include "apps/sparrow/torch_baseline.h"
#include "core/errors.h"
#include "engine/engine.h"
#include "pipeline/speed_comparison.h"

namespace sparrow::apps {

namespace {

struct BenchFlags {
  std::string file;
  std::size_t batch = 1;
  std::size_t seq = 128;
  bool seq_given = false;
  int threads = 1;
  std::size_t warmup = 5;
  std::size_t iterations = 50;
  bool json = false;
  bool profile = false;
  bool compare = false;
};

struct Summary {
  double items_per_second = 0;
  double p50 = 0, p90 = 0, p99 = 0;  // milliseconds
};

Summary summarize(std::vector<double> latencies, std::size_t batch) {
  Summary s;
  double total = 0;
  for (const double l : latencies) total += l;
  std::sort(latencies.begin(), latencies.end());
  // Nearest-rank percentiles.
  const auto pct = [&](double q) {
    const std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(latencies.size())));
    return latencies[std::min(latencies.size() - 1, rank == 0 ? 0 : rank - 1)] * 1e3;
  };
  s.items_per_second = total > 0 ? static_cast<double>(batch * latencies.size()) / total : 0;
  s.p50 = pct(0.50);
  s.p90 = pct(0.90);
  s.p99 = pct(0.99);
  return s;
}

// An image model's item, its input's shape without the batch: [1, 8, 8] for 1x8x8 images.
std::vector<std::int64_t> image_dims(const engine::Model& model) {
  const auto& shape = model.inputs().front().shape;
  return {shape.begin() + 1, shape.end()};
}

// What one item is, as printed: "seq 128" for a text model, "1x8x8 images" for an image model.
std::string item_text(const engine::Model& model, std::size_t seq) {
  if (model.is_text()) return fmt::format("seq {}", seq);
  return fmt::format("{} images", fmt::join(image_dims(model), "x"));
}

int bench(const BenchFlags& flags) {
  const auto model = engine::Model::load(flags.file);
  const std::size_t seq = model->is_text() ? flags.seq : 0;
  if (!model->is_text() && flags.seq_given)
    throw BadInput(fmt::format("--seq {}: {} is an image model ({}); --seq is for text models", flags.seq, flags.file,
                               item_text(*model, seq)));
  if (model->is_text() && seq > model->max_seq_length())
    throw BadInput(fmt::format("--seq {} exceeds the model's max_seq_length {}", seq, model->max_seq_length()));
  engine::Engine engine(model, {static_cast<std::size_t>(flags.threads), flags.profile});

  // Random inputs of the shape: token ids past the special tokens with no padding, or normal image values.
  std::mt19937 rng(0);
  std::vector<std::int64_t> ids, mask;
  std::vector<float> images;
  std::vector<const void*> inputs;
  if (model->is_text()) {
    std::uniform_int_distribution<std::int64_t> token(5, model->tokenizer()->size() - 1);
    for (std::size_t i = 0; i < flags.batch * seq; ++i) ids.push_back(token(rng));
    mask.assign(flags.batch * seq, 1);
    for (const auto& in : model->inputs()) inputs.push_back(model->values()[in.value].name == "attention_mask" ? mask.data() : ids.data());
  } else {
    std::normal_distribution<float> value;
    for (std::size_t i = 0; i < flags.batch * model->item_elements(); ++i) images.push_back(value(rng));
    inputs.push_back(images.data());
  }
  // With --compare, the engine's runs are those of the interleaved comparison (lib/pipeline/speed_comparison.h).
  const auto run_engine = [&] { engine.run(flags.batch, seq, inputs); };
  pipeline::Timings timed;  // the engine's timed runs
  nlohmann::json comparison;
  std::vector<double> baseline_latencies;
  if (flags.compare) {
    TorchBaseline baseline(model->file().metadata().value("sparrow.model_config", nlohmann::json()), flags.batch, seq);
    const pipeline::SpeedComparison c =
        pipeline::compare_speed(run_engine, [&](std::size_t threads) { baseline.run(threads); },
                                {engine.threads(), flags.warmup, flags.iterations, [&] { engine.reset_profile(); }});
    timed = c.engine;
    baseline_latencies = c.baselines[c.best].wall;
    comparison = c.to_json(static_cast<double>(flags.batch));
    comparison["baseline"] = baseline.configuration();
  } else {
    for (std::size_t i = 0; i < flags.warmup; ++i) run_engine();
    engine.reset_profile();
    for (std::size_t i = 0; i < flags.iterations; ++i) pipeline::time_once(timed, run_engine);
  }
  const double cpu_seconds = std::accumulate(timed.process_cpu.begin(), timed.process_cpu.end(), 0.0);
  const Summary s = summarize(timed.wall, flags.batch);

  nlohmann::json result = {{"file", flags.file},
                           {"items_per_second", s.items_per_second},
                           {"latency_ms", {{"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}}},
                           {"isa", engine::Engine::isa()},
                           {"kernels", engine::Engine::kernel_names()},
                           {"threads", engine.threads()},
                           {"batch", flags.batch},
                           {"iterations", flags.iterations},
                           {"items_per_cpu_second", static_cast<double>(flags.batch * flags.iterations) / cpu_seconds}};
  if (model->is_text()) result["seq"] = seq;
  else result["image_shape"] = image_dims(*model);
  if (flags.profile) {
    std::map<std::string, double> by_kind;
    double total = 0;
    for (const auto& t : engine.profile()) {
      by_kind[engine::op_kind_name(t.kind)] += t.seconds;
      total += t.seconds;
    }
    nlohmann::json profile = nlohmann::json::array();
    std::vector<std::pair<double, std::string>> sorted;
    for (const auto& [kind, sec] : by_kind) sorted.emplace_back(sec, kind);
    std::sort(sorted.rbegin(), sorted.rend());
    for (const auto& [sec, kind] : sorted)
      profile.push_back({{"op", kind},
                         {"ms_per_run", sec * 1e3 / static_cast<double>(flags.iterations)},
                         {"fraction", total > 0 ? sec / total : 0.0}});
    result["profile"] = profile;
  }
  if (flags.compare) {
    const Summary b = summarize(baseline_latencies, flags.batch);
    result.update(comparison);  // speed-up, items per second from the medians, reliable, measurement
    result["baseline_latency_ms"] = {{"p50", b.p50}, {"p90", b.p90}, {"p99", b.p99}};
  }

  if (flags.json) {
    std::cout << result.dump() << std::endl;
    return 0;
  }
  std::cout << fmt::format("{}: batch {}, {}, {} thread(s), ISA {} ({})\n", flags.file, flags.batch, item_text(*model, seq),
                           engine.threads(), engine::Engine::isa(), engine::Engine::kernel_names());
  std::cout << fmt::format("engine:   {:10.1f} items/s   latency p50 {:.3f} ms  p90 {:.3f} ms  p99 {:.3f} ms ({} runs; {:.1f} items per CPU second)\n",
                           result["items_per_second"].get<double>(), s.p50, s.p90, s.p99, flags.iterations,
                           result["items_per_cpu_second"].get<double>());
  if (flags.compare) {
    const auto& m = result["measurement"];
    std::cout << fmt::format("LibTorch: {:10.1f} items/s   latency p50 {:.3f} ms  p90 {:.3f} ms  p99 {:.3f} ms (at {} thread(s), its faster setting)\n",
                             result["baseline_items_per_second"].get<double>(), result["baseline_latency_ms"]["p50"].get<double>(),
                             result["baseline_latency_ms"]["p90"].get<double>(), result["baseline_latency_ms"]["p99"].get<double>(),
                             m["baseline_threads"].get<std::size_t>());
    std::cout << fmt::format("speed-up: {:.2f}x wall, {:.2f}x CPU time (medians of {} interleaved rounds; baseline: {})\n",
                             result["speedup"].get<double>(), m["cpu_speedup"].get<double>(), flags.iterations,
                             result["baseline"].get<std::string>());
    if (!result["reliable"].get<bool>())
      std::cout << "NOT RELIABLE: the machine was too busy to measure: " << result["unreliable_reason"].get<std::string>() << "\n";
  }
  if (flags.profile) {
    std::cout << "time per op kind:\n";
    for (const auto& row : result["profile"])
      std::cout << fmt::format("  {:<12} {:9.3f} ms/run  {:5.1f} %\n", row["op"].get<std::string>(), row["ms_per_run"].get<double>(),
                               100 * row["fraction"].get<double>());
  }
  return 0;
}

}  // namespace

Action register_bench(CLI::App& sub, const CommonFlags&) {
  auto flags = std::make_shared<BenchFlags>();
  sub.add_option("file", flags->file, "The .sparrow model")->required();
  sub.add_option("--batch", flags->batch, "Items per run")->check(CLI::Range(1, 4096))->capture_default_str();
  CLI::Option* seq = sub.add_option("--seq", flags->seq, "Tokens per item (text models only; an image model refuses it)")
                         ->check(CLI::Range(1, 4096))
                         ->capture_default_str();
  add_threads_option(sub, flags->threads, "Threads for the engine and for LibTorch", "1");
  sub.add_option("--warmup", flags->warmup, "Untimed runs first")->check(CLI::Range(0, 100000))->capture_default_str();
  sub.add_option("--iterations", flags->iterations, "Timed runs")->check(CLI::Range(1, 1000000))->capture_default_str();
  sub.add_flag("--json", flags->json, "Print one JSON object");
  sub.add_flag("--profile", flags->profile, "Time every op and print the time per op kind");
  sub.add_flag("--compare", flags->compare, "Also time the same architecture dense FP32 in LibTorch, same run");
  sub.footer(
      "Examples:\n"
      "  sparrow bench bert90.sparrow --batch 8 --seq 128 --threads 2\n"
      "  sparrow bench bert90.sparrow --batch 1 --seq 128 --compare --json     (engine vs LibTorch dense FP32)\n"
      "  sparrow bench cnn90.sparrow --batch 64 --profile                      (image models take no --seq)\n"
      "Inputs are random, of the given shape. Exit codes: 0 ok, 2 bad input, 3 internal error.");
  return [flags, seq] {
    flags->seq_given = seq->count() > 0;
    return bench(*flags);
  };
}

}  // namespace sparrow::apps
