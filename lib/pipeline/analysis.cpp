#include "pipeline/analysis.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "compress/masks/magnitude_mask.h"
#include "compress/param_selection.h"
#include "compress/quant/qat_hook.h"
#include "compress/task_loss.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/machine.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "engine/engine.h"
#include "models/checkpoint.h"
#include "models/llama/llama.h"
#include "pipeline/evaluation.h"
#include "data/text/corpus_split.h"
#include "data/text/token_windows.h"
#include "pipeline/causal_lm_task.h"
#include "export/exporter.h"
#include "pipeline/layer_timing.h"
#include "pipeline/model_timing.h"
#include "pipeline/perplexity.h"
#include "pipeline/task_data.h"
#include "recipe/mask_kind.h"

namespace sparrow::pipeline {

namespace {

using nlohmann::json;

// The held-out slice when --limit is not given: test items of a classifier, validation tokens of a causal LM.
constexpr int64_t kDefaultItems = 512;
constexpr int64_t kDefaultTokens = 4096;

// The cache: {"entries": {key: measurement}}; a file that is not such an object is started over.
class Cache {
 public:
  Cache(const std::filesystem::path& from, std::filesystem::path to) : to_(std::move(to)) {
    if (from.empty() || !std::filesystem::is_regular_file(from)) {
      save();
      return;
    }
    json j = json::parse(read_file(from, 256 << 20), nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("entries") && j["entries"].is_object()) entries_ = std::move(j["entries"]);
    save();
  }
  const json* find(const std::string& key) const {
    const auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &*it;
  }
  // Written at once, so that the file always holds every measurement made so far.
  void put(const std::string& key, json value) {
    entries_[key] = std::move(value);
    save();
  }

 private:
  void save() const {
    if (!to_.empty()) write_file_atomic(to_, json{{"cache_version", 1}, {"entries", entries_}}.dump(1) + "\n");
  }

  std::filesystem::path to_;
  json entries_ = json::object();
};

// The layer's weight seen as the matrix the masks and the engine see: [out, in·kernel...].
std::pair<int64_t, int64_t> matrix_shape(const torch::Tensor& w) { return {w.size(0), w.numel() / w.size(0)}; }

// A mask of `kind` at `sparsity` on random weights [n][k] (a fixed seed): the pattern the engine would run.
std::vector<uint8_t> random_mask(int64_t n, int64_t k, double sparsity, const recipe::MaskKind& kind) {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal;
  std::vector<float> w(static_cast<size_t>(n * k));
  for (auto& v : w) v = normal(rng);
  const torch::Tensor mask = compress::magnitude_mask(torch::from_blob(w.data(), {n, k}), sparsity, kind);
  const torch::Tensor kept = mask.ne(0).to(torch::kUInt8).contiguous();
  return {kept.data_ptr<uint8_t>(), kept.data_ptr<uint8_t>() + kept.numel()};
}

// The sparse layout's tile height for a mask kind: the engine packs [2,4] and [4,4] tiles, 1 x 4 blocks otherwise.
size_t block_rows(const recipe::MaskKind& kind) {
  return kind.type == recipe::MaskKind::Type::Block && (kind.rows == 2 || kind.rows == 4) ? static_cast<size_t>(kind.rows) : 1;
}

// The sparsities a mask is measured at: an N:M mask has one, 1 - N/M.
std::vector<double> sparsities_for(const recipe::MaskKind& kind, const std::vector<double>& sparsities) {
  if (kind.type == recipe::MaskKind::Type::NofM) return {kind.max_sparsity()};
  return sparsities;
}

}  // namespace

json analyze(const AnalysisOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<recipe::MaskKind>& kinds = o.masks;
  std::vector<std::string> mask_names;
  for (const auto& kind : kinds) mask_names.push_back(kind.name());
  if (!std::filesystem::is_directory(o.model_dir))
    throw BadInput("--model: " + o.model_dir.string() + " is not a model folder");
  const std::shared_ptr<models::Classifier> model = models::load_checkpoint(o.model_dir);
  compress::load_quantization(o.model_dir, *model);
  // The held-out slice: a classifier's first test items, or the first tokens of a corpus's validation part for a
  // causal LM (its test part is left for compress eval), measured by strided perplexity over windows of its
  // context.
  auto* const llama = dynamic_cast<models::llama::LlamaForCausalLM*>(model.get());
  data::Dataset set;
  std::vector<int64_t> stream;
  int64_t items = 0;
  if (llama) {
    if (!recipe::is_corpus_dataset(o.data) || o.data == "text")
      throw BadInput("--data: '" + o.data + "'; a causal language model is analysed on a text corpus, sotu or moby_dick");
    recipe::DataSpec spec;
    spec.dataset = o.data;
    const data::text::Corpus corpus =
        data::text::split_corpus(data::text::load_corpus(spec), data::text::split_fractions(spec)).validation;
    data::text::require_text(corpus, "--data " + o.data);
    stream = data::text::token_stream(corpus, folder_tokenizer(*llama, o.model_dir));
    stream.resize(std::min<size_t>(stream.size(), static_cast<size_t>(o.limit > 0 ? o.limit : kDefaultTokens)));
    if (stream.size() < 2) throw BadInput("--data: " + o.data + "'s validation part holds fewer than 2 tokens");
    items = static_cast<int64_t>(stream.size());
  } else {
    if (recipe::is_corpus_dataset(o.data))
      throw BadInput("--data: '" + o.data + "' is a text corpus, which only a causal language model (a Llama) is analysed on");
    set = load_data_for_model(o.data, data::Split::Test, o.limit > 0 ? o.limit : kDefaultItems,
                              dynamic_cast<models::bert::BertForSequenceClassification*>(model.get()), "needs");
    if (set.size() == 0) throw BadInput("--data: " + o.data + " holds no items to measure on");
    items = set.size();
  }

  if (o.time_whole_model && llama)
    throw BadInput("--target-speedup: a causal LM's speed is its prefill and decode (sparrow bench); analyse it with "
                   "--target-sparsity");

  // What every sensitivity measurement depends on besides its layer, mask and sparsity.
  const std::string weights_sha = sha256_hex(read_file(o.model_dir / "model.safetensors", std::uintmax_t{1} << 36));
  const std::string slice = fmt::format("{}|{}|{}", weights_sha, o.data, items);
  const std::string machine_key = fmt::format("{}|{}|{}", o.tokens, o.threads, engine::Engine::isa());
  int64_t measured = 0, cached = 0;

  json result = {{"analysis_version", 1},
                 {"model", o.model_dir.string()},
                 {"data", o.data},
                 {"items", items},
                 {"metric", llama ? "perplexity" : "accuracy"},
                 {"masks", mask_names},
                 {"sparsities", o.sparsities},
                 {"tokens", o.tokens},
                 {"threads", o.threads},
                 {"isa", engine::Engine::isa()},
                 {"machine", machine_json()}};
  const std::vector<std::string> layers = model->prunable_parameters();
  std::map<std::pair<int64_t, int64_t>, std::vector<std::string>> shapes;  // matrix shape -> its layers
  json layer_list = json::array();
  for (const auto& name : layers) {
    const torch::Tensor w = compress::parameter(*model, name);
    for (const auto& kind : kinds) compress::check_mask_fits(kind, name, w, "--mask");
    layer_list.push_back({{"name", name}, {"shape", w.sizes().vec()}});
    shapes[matrix_shape(w)].push_back(name);
  }
  result["layers"] = layer_list;
  Cache cache(o.cache_from, o.cache_to);

  const auto measure_model = [&](const std::string& key) {
    if (const json* hit = cache.find(key)) {
      ++cached;
      return *hit;
    }
    json value;
    if (llama) {
      const int64_t window = llama->llama_config().max_position_embeddings;
      const StridedPerplexity p = strided_perplexity(*llama, stream, window, std::max<int64_t>(1, window / 2));
      value = {{"loss", p.loss()}, {"perplexity", p.perplexity()}};
    } else {
      const Evaluation e = evaluate(*model, set, o.batch_size);
      const double loss = compress::task_loss(data::TaskKind::Classification, e.logits, set.labels).item<double>();
      value = {{"loss", loss}, {"accuracy", e.accuracy}};
    }
    cache.put(key, value);
    ++measured;
    return value;
  };

  int64_t total = 1 + (o.time_whole_model ? 1 : 0);
  for (const auto& kind : kinds)
    total += static_cast<int64_t>((layers.size() + shapes.size()) * sparsities_for(kind, o.sparsities).size());
  Progress progress("analyze", total);
  int64_t done = 0;
  result["dense"] = measure_model("dense|" + slice);
  progress.update(++done, "dense");

  json sensitivity = json::array();
  for (const auto& name : layers) {
    torch::Tensor w = compress::parameter(*model, name);
    const torch::Tensor saved = w.detach().clone();
    for (const auto& kind : kinds)
      for (const double s : sparsities_for(kind, o.sparsities)) {
        const std::string key = fmt::format("sensitivity|{}|{}|{}|{:.6g}", slice, name, kind.name(), s);
        if (!cache.find(key)) {
          torch::NoGradGuard no_grad;
          w.mul_(compress::magnitude_mask(saved, s, kind));
        }
        json point = measure_model(key);
        {
          torch::NoGradGuard no_grad;
          w.copy_(saved);
        }
        point["layer"] = name;
        point["mask"] = kind.name();
        point["sparsity"] = s;
        sensitivity.push_back(point);
        progress.update(++done, fmt::format("{} {} {:g}", name, kind.name(), s));
      }
  }
  result["sensitivity"] = sensitivity;

  json timing = json::array();
  for (const auto& [shape, names] : shapes)
    for (const auto& kind : kinds)
      for (const double s : sparsities_for(kind, o.sparsities)) {
        const auto [n, k] = shape;
        const std::string key = fmt::format("timing|{}|{}|{}|{}|{:.6g}", machine_key, n, k, kind.name(), s);
        json point;
        if (const json* hit = cache.find(key)) {
          point = *hit;
          ++cached;
        } else {
          const LayerTimes t = time_layer(random_mask(n, k, s, kind), static_cast<size_t>(n), static_cast<size_t>(k),
                                          block_rows(kind), o.tokens, o.threads);
          point = {{"sparse_int8_s", t.sparse_int8}, {"dense_int8_s", t.dense_int8}, {"dense_fp32_s", t.dense_fp32},
                   {"kernel", t.sparse_kernel}};
          cache.put(key, point);
          ++measured;
        }
        point["n"] = n;
        point["k"] = k;
        point["layers"] = names;
        point["mask"] = kind.name();
        point["sparsity"] = s;
        timing.push_back(point);
        progress.update(++done, fmt::format("{} x {} {} {:g}", n, k, kind.name(), s));
      }
  if (o.time_whole_model) {
    // The pruned point: the first mask kind at the analysed sparsity nearest 90 % (an N:M mask at its own).
    const recipe::MaskKind& speed_mask = kinds.front();
    const auto candidates = sparsities_for(speed_mask, o.sparsities);
    const double speed_sparsity = *std::min_element(candidates.begin(), candidates.end(), [](double x, double y) {
      return std::fabs(x - 0.9) < std::fabs(y - 0.9);
    });
    const std::string key = fmt::format("model|{}|{}|{}|{}|{:.6g}", weights_sha, machine_key, o.int8_attention,
                                        speed_mask.name(), speed_sparsity);
    json point;
    if (const json* hit = cache.find(key)) {
      point = *hit;
      ++cached;
    } else {
      const ModelTimes t = time_model(*model, o.model_dir, exporter::calibration_batches(set, 4, 32), o.int8_attention,
                                      speed_mask, speed_sparsity, o.tokens, o.threads);
      point = {{"fp32_s", t.fp32_s},
               {"dense", {{"total_s", t.dense.total_s}, {"linear_s", t.dense.linear_s}}},
               {"pruned", {{"total_s", t.pruned.total_s}, {"linear_s", t.pruned.linear_s}}}};
      cache.put(key, point);
      ++measured;
    }
    point["int8_attention"] = o.int8_attention;
    point["seq"] = o.tokens;
    point["pruned"]["mask"] = speed_mask.name();
    point["pruned"]["sparsity"] = speed_sparsity;
    result["model_timing"] = point;
    progress.update(++done, "the whole model");
  }
  progress.finish();
  result["timing"] = timing;
  result["measured"] = measured;
  result["cached"] = cached;
  result["wall_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace sparrow::pipeline
