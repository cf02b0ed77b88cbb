// `sparrow generate` and `sparrow bench` on a small exported Llama that carries a BPE tokenizer: greedy tokens,
// their log-probabilities and the streamed text equal the zoo model's; a seed makes sampling reproducible; a
// prompt longer than the context, an unknown token id and a file that is not a causal LM are exit 2 naming the
// flag or the file.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "export/exporter.h"
#include "models/cnn.h"
#include "models/llama/llama.h"
#include "support/run_command.h"
#include "support/small_models.h"
#include "text/bpe_trainer.h"

using namespace sparrow;
using sparrow::testing::run_command;
namespace fs = std::filesystem;

namespace {

const std::string kSparrow = std::string(SPARROW_BINARY_DIR) + "/apps/sparrow/sparrow";

struct SmallLm {
  fs::path dir, file;
  std::shared_ptr<models::llama::LlamaForCausalLM> model;
  std::shared_ptr<text::BpeTokenizer> tokenizer;
};

// A BPE vocabulary learned from a few sentences, a random Llama over it with a context of 40 tokens, exported.
const SmallLm& small_lm() {
  static const SmallLm lm = [] {
    SmallLm s;
    s.dir = fs::temp_directory_path() / ("sparrow_cli_generate_" + std::to_string(::getpid()));
    fs::remove_all(s.dir);
    fs::create_directories(s.dir);
    text::BpeTrainerOptions o;
    o.vocab_size = 300;
    s.tokenizer = std::make_shared<text::BpeTokenizer>(text::train_bpe(
        {"Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse,",
         "and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world."},
        o));
    const models::llama::LlamaConfig c = testing::small_llama_config(s.tokenizer->size(), 40);
    torch::manual_seed(3);
    s.model = std::make_shared<models::llama::LlamaForCausalLM>(c);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : s.model->named_parameters())
        if (p.key().find("norm") == std::string::npos) p.value().copy_(torch::randn(p.value().sizes()) * 0.3);
    }
    s.model->eval();
    s.model->folder_files["tokenizer.json"] = s.tokenizer->to_json();
    s.file = s.dir / "lm.sparrow";
    exporter::export_model(*s.model, s.file, {});
    return s;
  }();
  // The folder goes when the test program ends (static objects are destroyed in reverse order of construction).
  static const struct RemoveAtExit {
    fs::path dir;
    ~RemoveAtExit() { fs::remove_all(dir); }
  } remove_at_exit{lm.dir};
  return lm;
}

std::string generate(const std::string& args) { return kSparrow + " generate " + small_lm().file.string() + " " + args; }

}  // namespace

TEST_CASE("sparrow generate --temperature 0: the zoo model's greedy tokens, log-probs and text", "[cli][engine]") {
  const auto& lm = small_lm();
  const auto r = run_command(generate("--prompt \"Call me Ishmael\" --temperature 0 --max-tokens 12 --json"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  const auto prompt = lm.tokenizer->encode("Call me Ishmael");
  CHECK(j["prompt_ids"].get<std::vector<std::int64_t>>() == prompt);
  torch::NoGradGuard no_grad;
  const auto prompt_t = torch::tensor(prompt, torch::kInt64).view({1, -1});
  const auto expected = lm.model->generate_greedy(prompt_t, 12).view({-1});
  REQUIRE(j["tokens"].size() == 12);
  CHECK(j["stop"] == "max_tokens");
  std::vector<std::int64_t> ids;
  // Log-probabilities: the model's log-softmax over the sequence so far, at each generated token.
  const auto all = torch::cat({prompt_t, expected.view({1, -1})}, 1);
  const auto log_probs = torch::log_softmax(lm.model->logits({all, {}, {}}), -1)[0];
  for (std::size_t i = 0; i < 12; ++i) {
    const auto& t = j["tokens"][i];
    const std::int64_t id = expected[static_cast<std::int64_t>(i)].item<std::int64_t>();
    CHECK(t["id"] == id);
    CHECK(t["log_prob"].get<double>() ==
          Approx(log_probs[static_cast<std::int64_t>(prompt.size() + i - 1)][id].item<double>()).margin(1e-4));
    ids.push_back(id);
  }
  CHECK(j["text"] == lm.tokenizer->decode(ids, true));
  // Streamed: the same text, then a newline.
  const auto plain = run_command(generate("--prompt \"Call me Ishmael\" --temperature 0 --max-tokens 12"));
  CHECK(plain.exit_code == 0);
  CHECK(plain.output == lm.tokenizer->decode(ids, true) + "\n");
}

TEST_CASE("sparrow generate: a seed makes sampling reproducible, and the context bounds the tokens", "[cli][engine]") {
  const auto a = run_command(generate("--prompt-ids 5,6,7 --temperature 1.2 --top-k 50 --top-p 0.9 --seed 7 --max-tokens 20 --json"));
  const auto b = run_command(generate("--prompt-ids 5,6,7 --temperature 1.2 --top-k 50 --top-p 0.9 --seed 7 --max-tokens 20 --json"));
  INFO(a.output);
  REQUIRE(a.exit_code == 0);
  const auto ja = nlohmann::json::parse(a.output), jb = nlohmann::json::parse(b.output);
  CHECK(ja["tokens"] == jb["tokens"]);  // the timings differ, the tokens may not
  CHECK(ja["tokens"].size() == 20);
  // Another seed, another draw (20 tokens from a flat distribution over about 50 each: equal only by accident).
  const auto c = run_command(generate("--prompt-ids 5,6,7 --temperature 1.2 --top-k 50 --top-p 0.9 --seed 8 --max-tokens 20 --json"));
  CHECK(nlohmann::json::parse(c.output)["tokens"] != ja["tokens"]);
  // 3 prompt tokens in a context of 40: 37 more fit, the 38th would not.
  const auto full = run_command(generate("--prompt-ids 5,6,7 --max-tokens 100 --json"));
  REQUIRE(full.exit_code == 0);
  const auto j = nlohmann::json::parse(full.output);
  CHECK(j["stop"] == "context_full");
  CHECK(j["tokens"].size() == 38);
}

TEST_CASE("sparrow generate: bad prompts and files are exit 2 naming the flag or the file", "[cli][engine]") {
  std::string long_prompt;
  for (int i = 0; i < 40; ++i) long_prompt += (i ? "," : "") + std::to_string(i);
  auto r = run_command(generate("--prompt-ids " + long_prompt));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--prompt-ids: the prompt's 40 tokens leave no room in the model's context of 40 tokens"));
  r = run_command(generate("--prompt-ids 1,2,999"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--prompt-ids: token id 999 is outside the vocabulary [0, " +
                                       std::to_string(small_lm().tokenizer->size()) + ")"));
  r = run_command(generate("--prompt-ids 1,x"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--prompt-ids: \"x\" is not a token id"));
  r = run_command(generate("--prompt hello --temperature -1"));
  CHECK(r.exit_code == 2);
  r = run_command(kSparrow + " generate " + small_lm().file.string());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("give --prompt TEXT or --prompt-ids IDS"));
  testing::SmallCnn s;
  const fs::path cnn = small_lm().dir / "cnn.sparrow";
  exporter::export_model(*testing::small_cnn(s), cnn, {});
  r = run_command(kSparrow + " generate " + cnn.string() + " --prompt hi");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains(cnn.string() + ": not a causal language model"));
}

TEST_CASE("sparrow bench on a causal LM: prefill and decode tokens per second", "[cli][engine]") {
  const auto r = run_command(kSparrow + " bench " + small_lm().file.string() +
                             " --prompt-tokens 8 --gen-tokens 8 --warmup 1 --iterations 3 --json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  CHECK(j["prefill_tokens_per_second"].get<double>() > 0);
  CHECK(j["decode_tokens_per_second"].get<double>() > 0);
  CHECK(j["kv_cache_bytes"] == 2 * 2 * 2 * 40 * 8 * 4);
  const auto over = run_command(kSparrow + " bench " + small_lm().file.string() + " --prompt-tokens 30 --gen-tokens 11");
  CHECK(over.exit_code == 2);
  CHECK_THAT(over.output, Catch::Contains("exceed the model's context of 40 tokens"));
}

TEST_CASE("sparrow bench --compare on a causal LM compares prefill and decode with LibTorch's own KV cache", "[cli][engine]") {
  const std::string bench = kSparrow + " bench " + small_lm().file.string() + " --prompt-tokens 8 --gen-tokens 6 --warmup 1 --iterations 3";
  const auto r = run_command("(" + bench + " --json --compare 2>/dev/null)");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.output);
  for (const char* part : {"prefill", "decode"}) {
    INFO(part);
    const auto& c = j.at(part);
    // items are tokens: the engine's figure is the top-level tokens/s, each baseline's its own
    CHECK(c["items_per_second"].get<double>() == Approx(j[std::string(part) + "_tokens_per_second"].get<double>()));
    for (const char* key : {"", "int8_"}) {
      const double engine = c["items_per_second"], baseline = c[std::string(key) + "baseline_items_per_second"];
      CHECK(baseline > 0);
      CHECK(c[std::string(key).empty() ? "speedup" : "speedup_vs_int8"].get<double>() == Approx(engine / baseline).epsilon(1e-6));
    }
    CHECK_THAT(c["baseline"].get<std::string>(), Catch::StartsWith("LibTorch"));
    CHECK_THAT(c["int8_baseline"].get<std::string>(), Catch::Contains("dynamic INT8"));
  }
  const auto text = run_command("(" + bench + " --compare --fp32-baseline-only 2>/dev/null)");
  INFO(text.output);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.output, Catch::Contains("prefill:") && Catch::Contains("decode:") && Catch::Contains("LibTorch FP32:"));
  CHECK_THAT(text.output, !Catch::Contains("LibTorch INT8"));
}
