// `sparrow bench FILE [--batch B] [--seq L] [--threads T] [--warmup W] [--iterations N] [--json] [--profile]
// [--compare [--fp32-baseline-only]]`: the engine's throughput and latency on random inputs of one shape; --profile
// adds the time per op kind, --compare times the same architecture in LibTorch, dense FP32 and with LibTorch's
// own dynamic INT8 linears, in the same process, in rounds interleaved with the engine's
// (lib/pipeline/speed_comparison.h), and prints both speed-ups and whether the machine was quiet enough to
// trust them. Speeds are measured, never asserted. --seq is for text models: an image
// model refuses it (exit 2), and its output shows the image shape instead. A causal LM is timed as it generates
// (--prompt-tokens, --gen-tokens): prefill and decode tokens per second, each compared on its own with --compare.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>
#include <thread>

#include "apps/sparrow/command.h"
#include "apps/sparrow/torch_baseline.h"
#include "core/errors.h"
#include "engine/decoder.h"
#include "engine/engine.h"
#include "engine/random_inputs.h"
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
  bool fp32_baseline_only = false;
  std::size_t prompt_tokens = 32;  // causal LMs
  std::size_t gen_tokens = 32;
  bool lm_flags_given = false;
};

// The LibTorch baselines of --compare, in the order timed and printed: a label, and the key that names its
// JSON keys (pipeline::Baseline::key; FP32's are the stable unprefixed ones). --fp32-baseline-only keeps the first.
struct BaselineSide {
  BaselinePrecision precision;
  std::string label, key;
};
const std::vector<BaselineSide> kBaselineSides = {{BaselinePrecision::fp32, "LibTorch FP32", ""},
                                                  {BaselinePrecision::dynamic_int8, "LibTorch INT8", "int8"}};

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

// The engine's op times since its last reset_profile(), per op kind, most first: ms per run and fraction.
nlohmann::json profile_json(const engine::Engine& engine, std::size_t runs) {
  std::map<std::string, double> by_kind;
  double total = 0;
  for (const auto& t : engine.profile()) {
    by_kind[engine::op_kind_name(t.kind)] += t.seconds;
    total += t.seconds;
  }
  std::vector<std::pair<double, std::string>> sorted;
  for (const auto& [kind, sec] : by_kind) sorted.emplace_back(sec, kind);
  std::sort(sorted.rbegin(), sorted.rend());
  nlohmann::json profile = nlohmann::json::array();
  for (const auto& [sec, kind] : sorted)
    profile.push_back({{"op", kind}, {"ms_per_run", sec * 1e3 / static_cast<double>(runs)}, {"fraction", total > 0 ? sec / total : 0.0}});
  return profile;
}

void print_profile(const nlohmann::json& profile, const std::string& title = "time per op kind") {
  std::cout << title << ":\n";
  for (const auto& row : profile)
    std::cout << fmt::format("  {:<16} {:9.3f} ms/run  {:5.1f} %\n", row["op"].get<std::string>(), row["ms_per_run"].get<double>(),
                             100 * row["fraction"].get<double>());
}

// A causal LM, timed in two parts: the prefill of --prompt-tokens random ids, and --gen-tokens decoding steps
// after it (each feeding back the greedy token; every repetition rewinds the cache to the prompt, so all of them
// do the same work). Tokens per second are from the medians. With --compare, each part is an interleaved
// comparison (lib/pipeline/speed_comparison.h) against the zoo's Llama in LibTorch, which prefills into and
// decodes through its own KV cache.
int bench_decoder(const BenchFlags& flags, const std::shared_ptr<const engine::Model>& model) {
  engine::Decoder decoder(model, {static_cast<std::size_t>(flags.threads), flags.profile});
  if (flags.prompt_tokens + flags.gen_tokens > decoder.context_length())
    throw BadInput(fmt::format("--prompt-tokens {} and --gen-tokens {} exceed the model's context of {} tokens", flags.prompt_tokens,
                               flags.gen_tokens, decoder.context_length()));
  std::mt19937 rng(0);
  std::uniform_int_distribution<std::int64_t> token(0, static_cast<std::int64_t>(decoder.vocab_size()) - 1);
  std::vector<std::int64_t> prompt(flags.prompt_tokens);
  for (auto& id : prompt) id = token(rng);
  std::int64_t first = 0;  // the prompt's greedy next token
  const auto run_prefill = [&] { first = engine::greedy_token(decoder.prefill(prompt)); };
  const auto run_decode = [&] {
    decoder.rewind(flags.prompt_tokens);
    std::int64_t next = first;
    for (std::size_t t = 0; t < flags.gen_tokens; ++t) next = engine::greedy_token(decoder.decode(next));
  };
  const std::size_t threads = decoder.engine().threads();
  const std::size_t baseline_count = flags.fp32_baseline_only ? 1 : kBaselineSides.size();
  const nlohmann::json model_config = model->file().metadata().value("sparrow.model_config", nlohmann::json());
  std::vector<std::unique_ptr<TorchBaseline>> baselines;
  if (flags.compare)
    for (std::size_t i = 0; i < baseline_count; ++i)
      baselines.push_back(std::make_unique<TorchBaseline>(model_config, kBaselineSides[i].precision, 1, flags.prompt_tokens));
  // One part: the engine's timings, its op times with --profile, and with --compare the comparison's JSON
  // with each baseline's configuration.
  struct Part {
    pipeline::Timings engine;
    nlohmann::json comparison, profile;
  };
  const auto time_part = [&](const std::function<void()>& engine_run, const std::function<void(TorchBaseline&, std::size_t)>& baseline_run,
                             std::size_t tokens) {
    Part part;
    const auto reset_profile = [&] { decoder.engine().reset_profile(); };
    if (!flags.compare) {
      for (std::size_t i = 0; i < flags.warmup; ++i) engine_run();
      reset_profile();
      for (std::size_t i = 0; i < flags.iterations; ++i) pipeline::time_once(part.engine, engine_run);
      if (flags.profile) part.profile = profile_json(decoder.engine(), flags.iterations);
      return part;
    }
    std::vector<pipeline::Baseline> sides;
    for (std::size_t i = 0; i < baseline_count; ++i)
      sides.push_back({kBaselineSides[i].label, kBaselineSides[i].key,
                       [&, b = baselines[i].get()](std::size_t t) { baseline_run(*b, t); }});
    const pipeline::SpeedComparison c = pipeline::compare_speed(engine_run, sides, {threads, flags.warmup, flags.iterations, reset_profile});
    part.engine = c.engine;
    part.comparison = c.to_json(static_cast<double>(tokens));
    for (std::size_t i = 0; i < baseline_count; ++i)
      part.comparison[pipeline::baseline_json_key(kBaselineSides[i].key, "baseline")] = baselines[i]->configuration();
    if (flags.profile) part.profile = profile_json(decoder.engine(), flags.iterations);
    return part;
  };
  const auto prefill = time_part(run_prefill, [](TorchBaseline& b, std::size_t t) { b.run(t); }, flags.prompt_tokens);
  Part decode;
  if (flags.gen_tokens > 0) {
    run_prefill();  // the prompt every decoding repetition rewinds to
    decode = time_part(run_decode, [&](TorchBaseline& b, std::size_t t) { b.decode(t, flags.gen_tokens); }, flags.gen_tokens);
  }
  const auto per_second = [](const pipeline::Timings& t, std::size_t tokens) {
    return t.wall.empty() || tokens == 0 ? 0.0 : static_cast<double>(tokens) / t.median_wall();
  };
  nlohmann::json result = {{"file", flags.file},
                           {"threads", threads},
                           {"isa", engine::Engine::isa()},
                           {"kernels", engine::Engine::kernel_names()},
                           {"prompt_tokens", flags.prompt_tokens},
                           {"gen_tokens", flags.gen_tokens},
                           {"iterations", flags.iterations},
                           {"prefill_tokens_per_second", per_second(prefill.engine, flags.prompt_tokens)},
                           {"decode_tokens_per_second", per_second(decode.engine, flags.gen_tokens)},
                           {"kv_cache_bytes", decoder.cache().bytes()}};
  // Per part: its comparison's keys (speedup, items_per_second in tokens, ...) and its op times.
  for (const auto& [name, part] : {std::pair<const char*, const Part*>{"prefill", &prefill}, {"decode", &decode}}) {
    nlohmann::json keys = part->comparison.is_object() ? part->comparison : nlohmann::json::object();
    if (flags.profile) keys["profile"] = part->profile;
    if (!keys.empty()) result[name] = keys;
  }
  if (flags.json) {
    std::cout << result.dump() << std::endl;
    return 0;
  }
  std::cout << fmt::format("{}: prompt {} tokens, {} generated, {} thread(s), ISA {} ({})\n", flags.file, flags.prompt_tokens,
                           flags.gen_tokens, threads, engine::Engine::isa(), engine::Engine::kernel_names());
  for (const char* part : {"prefill", "decode"}) {
    std::cout << fmt::format("{:<8} {:10.1f} tokens/s (batch 1; median of {} runs)\n", std::string(part) + ":",
                             result[std::string(part) + "_tokens_per_second"].get<double>(), flags.iterations);
    if (!result.contains(part)) continue;
    const auto& c = result[part];
    if (c.contains("profile")) print_profile(c["profile"], std::string("  ") + part + ": time per op kind");
    if (!flags.compare) continue;
    for (std::size_t i = 0; i < baseline_count; ++i) {
      const auto key = [&](const char* name) { return pipeline::baseline_json_key(kBaselineSides[i].key, name); };
      std::cout << fmt::format("  {:<14} {:10.1f} tokens/s at {} thread(s): speed-up {:.2f}x ({})\n", kBaselineSides[i].label + ":",
                               c[key("baseline_items_per_second")].get<double>(), c["measurement"][key("baseline_threads")].get<std::size_t>(),
                               c[key("speedup")].get<double>(), c[key("baseline")].get<std::string>());
    }
    if (!c["reliable"].get<bool>())
      std::cout << "  NOT RELIABLE: the machine was too busy to measure: " << c["unreliable_reason"].get<std::string>() << "\n";
  }
  return 0;
}

int bench(const BenchFlags& flags) {
  const auto model = engine::Model::load(flags.file);
  if (model->is_causal_lm()) return bench_decoder(flags, model);
  if (flags.lm_flags_given) throw BadInput(flags.file + ": --prompt-tokens and --gen-tokens are for causal LMs");
  const std::size_t seq = model->is_text() ? flags.seq : 0;
  if (!model->is_text() && flags.seq_given)
    throw BadInput(fmt::format("--seq {}: {} is an image model ({}); --seq is for text models", flags.seq, flags.file,
                               item_text(*model, seq)));
  if (model->is_text() && seq > model->max_seq_length())
    throw BadInput(fmt::format("--seq {} exceeds the model's max_seq_length {}", seq, model->max_seq_length()));
  engine::Engine engine(model, {static_cast<std::size_t>(flags.threads), flags.profile});

  const engine::RandomInputs inputs = engine::random_inputs(*model, flags.batch, seq);
  // With --compare, the engine's runs are those of the interleaved comparison (lib/pipeline/speed_comparison.h).
  const auto run_engine = [&] { engine.run(flags.batch, seq, inputs.inputs); };
  pipeline::Timings timed;  // the engine's timed runs
  nlohmann::json comparison, load_average;
  const std::size_t baseline_count = flags.fp32_baseline_only ? 1 : kBaselineSides.size();
  if (flags.compare) {
    const nlohmann::json model_config = model->file().metadata().value("sparrow.model_config", nlohmann::json());
    std::vector<std::unique_ptr<TorchBaseline>> baselines;
    std::vector<pipeline::Baseline> sides;
    for (std::size_t i = 0; i < baseline_count; ++i) {
      const BaselineSide& side = kBaselineSides[i];
      baselines.push_back(std::make_unique<TorchBaseline>(model_config, side.precision, flags.batch, seq));
      sides.push_back({side.label, side.key, [b = baselines.back().get()](std::size_t threads) { b->run(threads); }});
    }
    const pipeline::SpeedComparison c = pipeline::compare_speed(
        run_engine, sides, {engine.threads(), flags.warmup, flags.iterations, [&] { engine.reset_profile(); }});
    timed = c.engine;
    comparison = c.to_json(static_cast<double>(flags.batch));
    for (std::size_t i = 0; i < baseline_count; ++i) {
      const Summary b = summarize(c.baselines[i].fastest().wall, flags.batch);
      comparison[pipeline::baseline_json_key(sides[i].key, "baseline")] = baselines[i]->configuration();
      comparison[pipeline::baseline_json_key(sides[i].key, "baseline_latency_ms")] = {{"p50", b.p50}, {"p90", b.p90}, {"p99", b.p99}};
    }
  } else {
    // The load around the timed runs, so a reader can tell a quiet machine's figure (e.g. a thread scaling)
    // from a busy one's; --compare reports it, with its verdict, under "measurement".
    const std::optional<double> load_before = pipeline::read_load_average();
    for (std::size_t i = 0; i < flags.warmup; ++i) run_engine();
    engine.reset_profile();
    for (std::size_t i = 0; i < flags.iterations; ++i) pipeline::time_once(timed, run_engine);
    const std::optional<double> load_after = pipeline::read_load_average();
    const auto number = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
    load_average = {{"before", number(load_before)}, {"after", number(load_after)},
                    {"cpus", std::thread::hardware_concurrency()}};
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
  if (flags.profile) result["profile"] = profile_json(engine, flags.iterations);
  // Speed-ups, items per second from the medians, latencies and configuration of each baseline, reliable, measurement.
  if (flags.compare) result.update(comparison);
  else result["load_average"] = load_average;

  if (flags.json) {
    std::cout << result.dump() << std::endl;
    return 0;
  }
  std::cout << fmt::format("{}: batch {}, {}, {} thread(s), ISA {} ({})\n", flags.file, flags.batch, item_text(*model, seq),
                           engine.threads(), engine::Engine::isa(), engine::Engine::kernel_names());
  std::cout << fmt::format("{:<14} {:10.1f} items/s   latency p50 {:.3f} ms  p90 {:.3f} ms  p99 {:.3f} ms ({} runs; {:.1f} items per CPU second)\n",
                           "engine:", result["items_per_second"].get<double>(), s.p50, s.p90, s.p99, flags.iterations,
                           result["items_per_cpu_second"].get<double>());
  if (flags.compare) {
    const auto& m = result["measurement"];
    for (std::size_t i = 0; i < baseline_count; ++i) {
      const auto key = [&](const char* name) { return pipeline::baseline_json_key(kBaselineSides[i].key, name); };
      const auto& latency = result[key("baseline_latency_ms")];
      std::cout << fmt::format("{:<14} {:10.1f} items/s   latency p50 {:.3f} ms  p90 {:.3f} ms  p99 {:.3f} ms (at {} thread(s), its faster setting)\n",
                               kBaselineSides[i].label + ":", result[key("baseline_items_per_second")].get<double>(),
                               latency["p50"].get<double>(), latency["p90"].get<double>(), latency["p99"].get<double>(),
                               m[key("baseline_threads")].get<std::size_t>());
    }
    for (std::size_t i = 0; i < baseline_count; ++i) {
      const auto key = [&](const char* name) { return pipeline::baseline_json_key(kBaselineSides[i].key, name); };
      std::cout << fmt::format("speed-up over {}: {:.2f}x wall, {:.2f}x CPU time ({})\n", kBaselineSides[i].label,
                               result[key("speedup")].get<double>(), m[key("cpu_speedup")].get<double>(),
                               result[key("baseline")].get<std::string>());
    }
    std::cout << fmt::format("(medians of {} interleaved rounds)\n", flags.iterations);
    if (!result["reliable"].get<bool>())
      std::cout << "NOT RELIABLE: the machine was too busy to measure: " << result["unreliable_reason"].get<std::string>() << "\n";
  }
  if (flags.profile) print_profile(result["profile"]);
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
  CLI::Option* prompt = sub.add_option("--prompt-tokens", flags->prompt_tokens, "Causal LMs: tokens of the prompt each run prefills")
                            ->check(CLI::Range(1, 1 << 20))
                            ->capture_default_str();
  CLI::Option* gen = sub.add_option("--gen-tokens", flags->gen_tokens, "Causal LMs: tokens each run decodes after the prompt")
                         ->check(CLI::Range(0, 1 << 20))
                         ->capture_default_str();
  sub.add_option("--warmup", flags->warmup, "Untimed runs first")->check(CLI::Range(0, 100000))->capture_default_str();
  sub.add_option("--iterations", flags->iterations, "Timed runs")->check(CLI::Range(1, 1000000))->capture_default_str();
  sub.add_flag("--json", flags->json, "Print one JSON object");
  sub.add_flag("--profile", flags->profile, "Time every op and print the time per op kind");
  CLI::Option* compare = sub.add_flag(
      "--compare", flags->compare, "Also time the same architecture in LibTorch, dense FP32 and with LibTorch's dynamic INT8 linears, same run");
  sub.add_flag("--fp32-baseline-only", flags->fp32_baseline_only, "With --compare, time LibTorch's dense FP32 only (no INT8)")
      ->needs(compare);
  sub.footer(
      "Examples:\n"
      "  sparrow bench bert90.sparrow --batch 8 --seq 128 --threads 2\n"
      "  sparrow bench bert90.sparrow --batch 1 --seq 128 --compare --json     (engine vs LibTorch FP32 and INT8)\n"
      "  sparrow bench cnn90.sparrow --batch 64 --profile                      (image models take no --seq)\n"
      "  sparrow bench llama.sparrow --prompt-tokens 128 --gen-tokens 64      (causal LMs: prefill and decode tokens/s)\n"
      "Inputs are random, of the given shape. Exit codes: 0 ok, 2 bad input, 3 internal error.");
  return [flags, seq, prompt, gen] {
    flags->seq_given = seq->count() > 0;
    flags->lm_flags_given = prompt->count() + gen->count() > 0;
    return bench(*flags);
  };
}

}  // namespace sparrow::apps
