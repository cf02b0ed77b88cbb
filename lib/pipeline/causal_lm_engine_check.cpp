#include "pipeline/causal_lm_engine_check.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "engine/decoder.h"
#include "models/llama/llama.h"
#include "models/model_factory.h"
#include "pipeline/speed_comparison.h"

namespace sparrow::pipeline {

namespace {

constexpr std::size_t kRounds = 5;

// -log p(next | position t) from logits row t, in double.
double nll(const float* row, std::size_t vocab, std::int64_t next) {
  const float top = *std::max_element(row, row + vocab);
  double sum = 0;
  for (std::size_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v]) - top);
  return std::log(sum) + top - static_cast<double>(row[next]);
}

}  // namespace

void add_causal_lm_engine_check(nlohmann::json& report, const std::filesystem::path& sparrow_file, const data::Dataset& test,
                                const models::Classifier& compressed, models::Classifier* dense) {
  if (!std::filesystem::exists(sparrow_file) || test.size() == 0) return;
  const std::shared_ptr<const engine::Model> model = engine::Model::load(sparrow_file);
  engine::Decoder decoder(model, {1, false});

  // Perplexity: the windows one by one, their padding left out (a padded window is its tokens, then padding).
  double nll_sum = 0;
  std::int64_t scored = 0;
  for (std::int64_t w = 0; w < test.size(); ++w) {
    const data::Batch b = test.batch(torch::tensor({w}, torch::kInt64));
    const auto mask = b.attention_mask.defined() ? b.attention_mask : torch::ones_like(b.inputs);
    const auto length = mask.sum().item<std::int64_t>();
    if (length < 2) continue;
    const auto ids = b.inputs[0].slice(0, 0, length).contiguous();
    const std::vector<std::int64_t> tokens(ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + length);
    const auto labels = b.labels[0].contiguous();
    const engine::OutputView logits = decoder.prefill(tokens);
    const std::size_t vocab = logits.shape[2];
    for (std::int64_t t = 1; t < length; ++t) {
      const std::int64_t label = labels[t].item<std::int64_t>();
      if (label == data::kIgnoredLabel) continue;
      nll_sum += nll(logits.data + static_cast<std::size_t>(t - 1) * vocab, vocab, label);
      ++scored;
    }
  }
  const double perplexity = scored > 0 ? std::exp(nll_sum / static_cast<double>(scored)) : 0.0;

  // Speed: a prompt of real tokens, then greedy decoding, both sides at 1 thread.
  const std::size_t context = decoder.context_length();
  const auto first = test.batch(torch::tensor({0}, torch::kInt64)).inputs[0].contiguous();
  const std::size_t prompt_tokens = std::min<std::size_t>(context / 2, static_cast<std::size_t>(first.size(0)));
  const std::size_t gen_tokens = context - prompt_tokens >= context / 2 ? context / 2 : context - prompt_tokens;
  const std::vector<std::int64_t> prompt(first.data_ptr<std::int64_t>(), first.data_ptr<std::int64_t>() + prompt_tokens);
  std::int64_t first_token = 0;
  const auto engine_prefill = [&] { first_token = engine::greedy_token(decoder.prefill(prompt)); };
  const auto engine_decode = [&] {
    decoder.rewind(prompt_tokens);
    std::int64_t next = first_token;
    for (std::size_t t = 0; t < gen_tokens; ++t) next = engine::greedy_token(decoder.decode(next));
  };

  std::shared_ptr<models::Classifier> fresh;
  if (dense == nullptr) {
    fresh = models::build_model(compressed.config(), "engine check");
    dense = fresh.get();
  }
  auto* lm = dynamic_cast<models::llama::LlamaForCausalLM*>(dense);
  if (lm == nullptr) throw InternalError("engine check: a causal LM's baseline is not a Llama");
  lm->eval();
  const torch::Tensor prompt_ids = torch::tensor(prompt, torch::kInt64).unsqueeze(0);
  models::llama::KvCache prompt_cache;
  torch::Tensor torch_first;
  const auto torch_prefill = [&](std::size_t threads) {
    torch::set_num_threads(static_cast<int>(threads));
    torch::InferenceMode inference;
    prompt_cache = {};
    const auto logits = lm->decode(prompt_ids, prompt_cache);
    torch_first = logits.select(1, logits.size(1) - 1).argmax(-1, true);
  };
  const auto torch_decode = [&](std::size_t threads) {
    torch::set_num_threads(static_cast<int>(threads));
    torch::InferenceMode inference;
    models::llama::KvCache cache = prompt_cache;
    torch::Tensor token = torch_first;
    for (std::size_t t = 0; t < gen_tokens; ++t) {
      const auto logits = lm->decode(token, cache);
      token = logits.select(1, logits.size(1) - 1).argmax(-1, true);
    }
  };

  const int torch_threads = torch::get_num_threads();  // restored after: the comparison changes it
  const auto part = [&](const char* name, std::size_t tokens, const std::function<void()>& engine_run,
                        const std::function<void(std::size_t)>& torch_run) {
    const SpeedComparison c = compare_speed(engine_run, torch_run, {1, 1, kRounds, nullptr});
    nlohmann::json j = {{"tokens", tokens}, {"batch", 1}, {"threads", 1}};
    j.update(c.to_json(static_cast<double>(tokens)));
    spdlog::info("engine {}: {:.0f} tokens/s, {:.2f}x dense FP32 LibTorch ({:.0f} tokens/s){}", name,
                 j["items_per_second"].get<double>(), c.speedup(), j["baseline_items_per_second"].get<double>(),
                 c.verdict.reliable ? "" : " (unreliable: " + c.verdict.reason + ")");
    return j;
  };
  const nlohmann::json prefill = part("prefill", prompt_tokens, engine_prefill, torch_prefill);
  engine_prefill();
  torch_prefill(1);  // the prompt state every decoding repetition starts from
  const nlohmann::json decode = part("decode", gen_tokens, engine_decode, torch_decode);
  torch::set_num_threads(torch_threads);

  report["engine"] = {{"perplexity", perplexity}, {"scored_tokens", scored}, {"isa", engine::Engine::isa()}};
  report["engine"].update(decode);
  report["engine"]["prefill"] = prefill;
  report["engine"]["decode"] = decode;
  spdlog::info("engine: perplexity {:.3f} over {} tokens; the speed-up reported (and gated) is decoding's: {:.2f}x", perplexity,
               scored, decode["speedup"].get<double>());
}

}  // namespace sparrow::pipeline
