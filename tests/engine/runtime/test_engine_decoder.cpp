// The engine runs Llama decoders: exported logits against the zoo's LlamaForCausalLM through its own KV cache
// (prefill, then every decode step), FP32 and INT8 (the trainer's quantized evaluation), and greedy generation
// token for token. Run once per ISA the machine has (ctest sets SPARROW_MAX_ISA).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "core/errors.h"
#include "engine/decoder.h"
#include "engine/kernels/isa.h"
#include "export/interpret.h"
#include "format/reader.h"
#include "format/writer.h"
#include "models/llama/llama.h"
#include "models/mlp.h"
#include "parity_fixtures.h"
#include "support/small_models.h"

using namespace sparrow;
using namespace sparrow::engine_test;
using models::llama::LlamaConfig;
using models::llama::LlamaForCausalLM;

namespace {

// A small Llama with grouped-query attention (4 query heads over 2 key/value heads) and weights far from the
// tiny default initialisation, so that mistakes show in the logits.
std::shared_ptr<LlamaForCausalLM> small_llama(bool tied, std::int64_t context = 96) {
  LlamaConfig c = testing::small_llama_config(50, context);
  c.intermediate_size = 64;
  c.rope_theta = 10000.0;
  c.rms_norm_eps = 1e-5;
  c.tie_word_embeddings = tied;
  torch::manual_seed(11);
  auto model = std::make_shared<LlamaForCausalLM>(c);
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters()) {
    if (p.key().find("layernorm") != std::string::npos || p.key().find("norm.weight") != std::string::npos) {
      p.value().copy_(1.0 + 0.2 * torch::randn(p.value().sizes()));
    } else {
      p.value().copy_(torch::randn(p.value().sizes()) * (p.key().find("embed") != std::string::npos ? 1.0 : 0.25));
    }
  }
  model->eval();
  return model;
}

// Zeroes about 80 % of the 1x4 blocks of the MLP's weights, so that they are stored sparse_int8.
void prune_mlp(LlamaForCausalLM& model) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  for (auto& p : model.named_parameters()) {
    if (p.key().find("mlp.") == std::string::npos) continue;
    auto w = p.value();
    const auto keep = (torch::rand({w.size(0), w.size(1) / 4, 1}) < 0.2).expand({w.size(0), w.size(1) / 4, 4}).reshape(w.sizes());
    w.mul_(keep.to(torch::kFloat32));
  }
}

std::vector<std::int64_t> prompt_ids() { return {3, 17, 42, 8, 8, 29, 1}; }

torch::Tensor as_tensor(const std::vector<std::int64_t>& ids) {
  return torch::tensor(ids, torch::kInt64).view({1, static_cast<std::int64_t>(ids.size())});
}

// max |engine - reference| / max(1, |reference|) over logits [T, vocab].
float max_diff(const engine::OutputView& engine, const torch::Tensor& reference) {
  const auto ref = reference.reshape({-1}).contiguous();
  REQUIRE(static_cast<std::size_t>(ref.numel()) == engine.shape[0] * engine.shape[1] * engine.shape[2]);
  float diff = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) {
    const float r = ref[i].item<float>();
    diff = std::max(diff, std::abs(engine.data[i] - r) / std::max(1.0f, std::abs(r)));
  }
  return diff;
}

// Prefill of the prompt, then `steps` decode steps feeding back the model's greedy token: the engine's logits
// against the model's decode() through its own KV cache at every step. Returns the largest difference.
float decode_parity(engine::Decoder& decoder, LlamaForCausalLM& model, std::size_t steps) {
  torch::NoGradGuard no_grad;
  models::llama::KvCache cache;
  auto ids = prompt_ids();
  auto reference = model.decode(as_tensor(ids), cache);
  float worst = max_diff(decoder.prefill(ids), reference);
  for (std::size_t s = 0; s < steps; ++s) {
    const std::int64_t next = reference.select(1, -1).argmax(-1).item<std::int64_t>();
    reference = model.decode(as_tensor({next}), cache);
    worst = std::max(worst, max_diff(decoder.decode(next), reference));
  }
  CHECK(decoder.position() == ids.size() + steps);
  return worst;
}

std::string export_bytes(LlamaForCausalLM& model, const exporter::ExportOptions& options) {
  return exporter::build_file(exporter::lower_model(model), options).serialize();
}

}  // namespace

TEST_CASE("Llama lowering: the reference interpreter's logits equal the model's", "[engine][decoder]") {
  const bool tied = GENERATE(false, true);
  auto model = small_llama(tied);
  data::Batch batch;
  batch.inputs = torch::randint(50, {2, 9}, torch::kInt64);
  torch::NoGradGuard no_grad;
  const auto graph = exporter::lower_model(*model);
  const auto logits = exporter::interpret(graph, batch).at("logits");
  const auto reference = model->logits(batch);
  const float diff = ((logits - reference).abs() / reference.abs().clamp_min(1.0)).max().item<float>();
  INFO("tied " << tied << ": max diff " << diff);
  CHECK(diff <= kFp32Tolerance);
  CHECK(graph.quantizable.size() == 14);  // 7 projections per layer; lm_head and the embeddings stay FP32
}

TEST_CASE("FP32 Llama export: engine logits equal the model's at prefill and every decode step", "[engine][decoder][parity]") {
  const bool tied = GENERATE(false, true);
  INFO("tied " << tied << ", ISA " << kernels::isa_name(kernels::max_isa()));
  auto model = small_llama(tied);
  const auto loaded = load_bytes(export_bytes(*model, {}));
  REQUIRE(loaded->is_causal_lm());
  CHECK(loaded->context_length() == 96);
  CHECK(loaded->cache_shape().layers == 2);
  CHECK(loaded->cache_shape().kv_heads == 2);
  engine::Decoder decoder(loaded, {2, false});
  const float diff = decode_parity(decoder, *model, 12);
  INFO("max diff " << diff);
  CHECK(diff <= kFp32Tolerance);
  // A second prefill starts over: the same logits as the first.
  const auto first = decoder.prefill(prompt_ids());
  const std::vector<float> again(first.data, first.data + 50);
  engine::Decoder fresh(loaded, {1, false});
  const auto one = fresh.prefill(prompt_ids());
  for (std::size_t i = 0; i < 50; ++i) CHECK(one.data[i] == Approx(again[i]).margin(1e-5));
}

TEST_CASE("INT8 Llama export (sparse and dense INT8 linears): engine equals the trainer's quantized evaluation",
          "[engine][decoder][parity]") {
  auto model = small_llama(false);
  prune_mlp(*model);
  data::Batch calib;
  torch::manual_seed(8);
  calib.inputs = torch::randint(50, {4, 16}, torch::kInt64);
  exporter::ExportOptions options;
  options.activations = exporter::calibrate(exporter::lower_model(*model), {calib});
  options.quantization_source = "calibration";
  const std::string bytes = export_bytes(*model, options);
  const auto file = format::File::parse(bytes);
  std::set<format::WeightFormat> formats;
  for (const auto& op : file.graph()["ops"])
    if (op["op"] == "linear") formats.insert(file.weights(op).format);
  CHECK(formats.count(format::WeightFormat::sparse_int8) == 1);  // the pruned MLP
  CHECK(formats.count(format::WeightFormat::dense_int8) == 1);   // attention projections
  CHECK(formats.count(format::WeightFormat::fp32) == 1);         // lm_head
  attach_quantization(*model, options);
  engine::Decoder decoder(load_bytes(bytes), {2, false});
  const float diff = decode_parity(decoder, *model, 10);
  INFO("ISA " << kernels::isa_name(kernels::max_isa()) << ": max diff " << diff);
  CHECK(diff <= kInt8Tolerance);
}

TEST_CASE("greedy generation of 64 tokens: the engine picks the model's tokens", "[engine][decoder][parity]") {
  auto model = small_llama(true, 80);
  engine::Decoder decoder(load_bytes(export_bytes(*model, {})), {2, false});
  const auto expected = model->generate_greedy(as_tensor(prompt_ids()), 64);
  std::vector<std::int64_t> tokens;
  auto logits = decoder.prefill(prompt_ids());
  for (int i = 0; i < 64; ++i) {
    const float* last = logits.data + (logits.shape[1] - 1) * logits.shape[2];
    tokens.push_back(std::max_element(last, last + logits.shape[2]) - last);
    if (i + 1 < 64) logits = decoder.decode(tokens.back());
  }
  const auto ref = expected.view({-1});
  CHECK(tokens == std::vector<std::int64_t>(ref.data_ptr<std::int64_t>(), ref.data_ptr<std::int64_t>() + ref.numel()));
}

TEST_CASE("rewind: a continuation after rewinding to the prompt equals the model's from the prompt", "[engine][decoder]") {
  auto model = small_llama(false);
  engine::Decoder decoder(load_bytes(export_bytes(*model, {})), {1, false});
  decoder.prefill(prompt_ids());
  decoder.decode(5);  // a first continuation, overwritten below
  decoder.decode(6);
  decoder.rewind(prompt_ids().size());
  CHECK(decoder.position() == prompt_ids().size());
  torch::NoGradGuard no_grad;
  models::llama::KvCache cache;
  model->decode(as_tensor(prompt_ids()), cache);
  CHECK(max_diff(decoder.decode(9), model->decode(as_tensor({9}), cache)) <= kFp32Tolerance);
  CHECK(max_diff(decoder.decode(2), model->decode(as_tensor({2}), cache)) <= kFp32Tolerance);
  CHECK_THROWS_WITH(decoder.rewind(prompt_ids().size() + 3), "<exported model>: cannot rewind to position 10: only 9 tokens have run");
  CHECK(decoder.position() == prompt_ids().size() + 2);
}

TEST_CASE("decoder errors: context full, unknown token id, not a causal LM", "[engine][decoder]") {
  auto model = small_llama(false, 10);
  const auto loaded = load_bytes(export_bytes(*model, {}));
  engine::Decoder decoder(loaded, {1, false});
  decoder.prefill({1, 2, 3, 4, 5, 6, 7, 8, 9});
  decoder.decode(4);
  CHECK_THROWS_WITH(decoder.decode(4), "<exported model>: the context is full: 10 tokens run and 1 more exceed the model's 10 "
                                       "(sparrow.context_length)");
  CHECK(decoder.position() == 10);
  CHECK_THROWS_WITH(decoder.prefill(std::vector<std::int64_t>(11, 1)), Catch::Contains("0 tokens run and 11 more exceed"));
  CHECK_THROWS_WITH(decoder.prefill({1, 50}), "<exported model>: token id 50 is outside the vocabulary [0, 50)");
  CHECK_THROWS_WITH(decoder.prefill({-1}), Catch::Contains("token id -1 is outside"));
  CHECK_THROWS_AS(decoder.prefill({}), BadInput);
  // A classifier file is not a causal LM.
  torch::manual_seed(1);
  models::MlpOptions mlp;
  CHECK_THROWS_WITH(engine::Decoder(load_bytes(exporter::build_file(exporter::lower_model(*std::make_shared<models::Mlp>(mlp)), {}).serialize()),
                                    {1, false}),
                    "<exported model>: not a causal language model (sparrow.task is not \"causal_lm\")");
}

TEST_CASE("a causal LM's metadata is checked at load: tokenizer, context length", "[engine][decoder]") {
  auto model = small_llama(false, 10);
  const auto file = format::File::parse(export_bytes(*model, {}));
  const auto with_metadata = [&](const std::function<void(nlohmann::json&)>& edit) {
    format::Writer w;
    for (const auto& t : file.tensors()) w.add_tensor(t.name, t.dtype, t.dims, file.data(t), t.nbytes);
    nlohmann::json graph = file.graph();
    edit(graph["metadata"]);
    w.set_graph(graph);
    return load_bytes(w.serialize());
  };
  CHECK(with_metadata([](auto&) {})->bpe_tokenizer() == nullptr);
  CHECK_THROWS_WITH(with_metadata([](auto& m) { m["sparrow.tokenizer"] = {{"type", "bpe"}, {"tokenizer_json", {{"version", "1.0"}}}}; }),
                    "<exported model>: metadata: sparrow.tokenizer.tokenizer_json: (top level).pre_tokenizer: missing");
  CHECK_THROWS_WITH(with_metadata([](auto& m) { m["sparrow.tokenizer"] = {{"type", "wordpiece"}}; }),
                    Catch::Contains("sparrow.tokenizer of a causal LM must be {\"type\": \"bpe\""));
  CHECK_THROWS_WITH(with_metadata([](auto& m) { m.erase("sparrow.context_length"); }),
                    "<exported model>: metadata: sparrow.context_length must be an integer in [1, 1048576]");
  CHECK_THROWS_WITH(with_metadata([](auto& m) { m["sparrow.task"] = "text_classification"; }),
                    "<exported model>: metadata: causal_attention ops need sparrow.task \"causal_lm\"");
}
