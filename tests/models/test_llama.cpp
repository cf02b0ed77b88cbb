// The zoo Llama against an independent plain-tensor Llama computed in FP64 from the formulas (RMSNorm,
// rotary embeddings as rotations of (x[m], x[m + d/2]) pairs, one head at a time with its key/value head
// chosen by index, SwiGLU), on Hugging Face folders this test writes and on a committed fixture whose
// config.json is as transformers writes it. The reference reads the folders' safetensors files with the
// project's parser (read_safetensors) and its own dtype conversion, and config.json with nlohmann directly.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <map>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/files.h"
#include "models/checkpoint.h"
#include "models/llama/llama.h"
#include "models/llama/llama_folder.h"
#include "models/model_factory.h"
#include "models/safetensors.h"

using namespace sparrow;
using namespace sparrow::models;
using namespace sparrow::models::llama;
namespace fs = std::filesystem;

namespace {

const fs::path kFixture = fs::path(SPARROW_SOURCE_DIR) / "tests/models/data/llama_tiny_hf";

// A shape to test, written to config.json by hand with HF's keys.
struct Shape {
  int64_t vocab = 40, hidden = 32, intermediate = 40, layers = 2, heads = 4, kv_heads = 2, head_dim = 8;
  double theta = 10000.0, eps = 1e-6;
  bool tied = false, bias = false;
};

nlohmann::json hf_config(const Shape& s) {
  return {{"architectures", {"LlamaForCausalLM"}}, {"attention_bias", s.bias}, {"attention_dropout", 0.0},
          {"bos_token_id", 1}, {"eos_token_id", 2}, {"head_dim", s.head_dim}, {"hidden_act", "silu"},
          {"hidden_size", s.hidden}, {"initializer_range", 0.02}, {"intermediate_size", s.intermediate},
          {"max_position_embeddings", 64}, {"mlp_bias", s.bias}, {"model_type", "llama"},
          {"num_attention_heads", s.heads}, {"num_hidden_layers", s.layers}, {"num_key_value_heads", s.kv_heads},
          {"pretraining_tp", 1}, {"rms_norm_eps", s.eps}, {"rope_scaling", nullptr}, {"rope_theta", s.theta},
          {"tie_word_embeddings", s.tied}, {"torch_dtype", "float32"}, {"transformers_version", "4.46.3"},
          {"use_cache", true}, {"vocab_size", s.vocab}};
}

// Random weights under HF's names, far from the tiny default initialisation so that mistakes show.
std::vector<std::pair<std::string, torch::Tensor>> random_weights(const Shape& s, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<std::pair<std::string, torch::Tensor>> w;
  const auto matrix = [&](const std::string& name, int64_t out, int64_t in, double scale) {
    w.emplace_back(name, torch::randn({out, in}) * scale);
  };
  const auto vector = [&](const std::string& name, int64_t n, double mean, double scale) {
    w.emplace_back(name, mean + torch::randn({n}) * scale);
  };
  matrix("model.embed_tokens.weight", s.vocab, s.hidden, 1.0);
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    matrix(p + "self_attn.q_proj.weight", s.heads * s.head_dim, s.hidden, 0.3);
    matrix(p + "self_attn.k_proj.weight", s.kv_heads * s.head_dim, s.hidden, 0.3);
    matrix(p + "self_attn.v_proj.weight", s.kv_heads * s.head_dim, s.hidden, 0.3);
    matrix(p + "self_attn.o_proj.weight", s.hidden, s.heads * s.head_dim, 0.2);
    if (s.bias) {
      vector(p + "self_attn.q_proj.bias", s.heads * s.head_dim, 0.0, 0.2);
      vector(p + "self_attn.k_proj.bias", s.kv_heads * s.head_dim, 0.0, 0.2);
      vector(p + "self_attn.v_proj.bias", s.kv_heads * s.head_dim, 0.0, 0.2);
      vector(p + "self_attn.o_proj.bias", s.hidden, 0.0, 0.2);
    }
    matrix(p + "mlp.gate_proj.weight", s.intermediate, s.hidden, 0.3);
    matrix(p + "mlp.up_proj.weight", s.intermediate, s.hidden, 0.3);
    matrix(p + "mlp.down_proj.weight", s.hidden, s.intermediate, 0.2);
    if (s.bias) {
      vector(p + "mlp.gate_proj.bias", s.intermediate, 0.0, 0.2);
      vector(p + "mlp.up_proj.bias", s.intermediate, 0.0, 0.2);
      vector(p + "mlp.down_proj.bias", s.hidden, 0.0, 0.2);
    }
    vector(p + "input_layernorm.weight", s.hidden, 1.0, 0.2);
    vector(p + "post_attention_layernorm.weight", s.hidden, 1.0, 0.2);
  }
  vector("model.norm.weight", s.hidden, 1.0, 0.2);
  if (!s.tied) matrix("lm_head.weight", s.vocab, s.hidden, 0.2);
  return w;
}

// Writes tensors in `dtype` (F32, F16 or BF16) to `file` as safetensors.
void write_tensors(const fs::path& file, const std::vector<std::pair<std::string, torch::Tensor>>& w, SafeDType dtype) {
  const auto type = dtype == SafeDType::F16 ? torch::kFloat16 : dtype == SafeDType::BF16 ? torch::kBFloat16 : torch::kFloat32;
  std::vector<torch::Tensor> keep;
  std::vector<SafeTensorView> views;
  for (const auto& [name, t] : w) {
    keep.push_back(t.to(type).contiguous());
    views.push_back({name, dtype, t.sizes().vec(), std::string_view(static_cast<const char*>(keep.back().data_ptr()), keep.back().nbytes())});
  }
  write_file_atomic(file, serialize_safetensors(views, {{"format", "pt"}}));
}

fs::path make_folder(const std::string& name, const Shape& s, uint64_t seed, SafeDType dtype = SafeDType::F32) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_test_llama_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_file_atomic(dir / "config.json", hf_config(s).dump(2) + "\n");
  write_tensors(dir / "model.safetensors", random_weights(s, seed), dtype);
  return dir;
}

// ---- The reference ---------------------------------------------------------------------------------

// Every tensor of every .safetensors file in `dir`, as FP64.
std::map<std::string, torch::Tensor> reference_weights(const fs::path& dir) {
  std::map<std::string, torch::Tensor> w;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".safetensors") continue;
    const auto file = read_safetensors(entry.path());
    for (const auto& v : file.tensors) {
      auto* bytes = const_cast<char*>(v.bytes.data());
      torch::Tensor t;
      if (v.dtype == SafeDType::F32) {
        t = torch::from_blob(bytes, v.shape, torch::kFloat32);
      } else if (v.dtype == SafeDType::F16) {
        t = torch::from_blob(bytes, v.shape, torch::kFloat16);
      } else {
        // BF16 is the upper half of an FP32: widen the 16 bits by hand.
        REQUIRE(v.dtype == SafeDType::BF16);
        const auto n = static_cast<int64_t>(v.bytes.size() / 2);
        std::vector<float> f(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
          const uint32_t bits = uint32_t{static_cast<unsigned char>(v.bytes[2 * i])} |
                                uint32_t{static_cast<unsigned char>(v.bytes[2 * i + 1])} << 8;
          const uint32_t wide = bits << 16;
          std::memcpy(&f[static_cast<size_t>(i)], &wide, 4);
        }
        t = torch::from_blob(f.data(), v.shape, torch::kFloat32).clone();
      }
      w[v.name] = t.to(torch::kFloat64);
    }
  }
  return w;
}

struct RefConfig {
  int64_t vocab, hidden, layers, heads, kv_heads, head_dim;
  double eps, theta;
  bool tied;
};

RefConfig reference_config(const fs::path& dir) {
  const auto j = nlohmann::json::parse(read_file(dir / "config.json"));
  RefConfig c;
  c.vocab = j["vocab_size"];
  c.hidden = j["hidden_size"];
  c.layers = j["num_hidden_layers"];
  c.heads = j["num_attention_heads"];
  c.kv_heads = j["num_key_value_heads"];
  c.head_dim = j.contains("head_dim") ? j["head_dim"].get<int64_t>() : c.hidden / c.heads;
  c.eps = j["rms_norm_eps"];
  c.theta = j["rope_theta"];
  c.tied = j["tie_word_embeddings"];
  return c;
}

// Logits [T, vocab] of one sequence, in FP64.
torch::Tensor reference_logits(std::map<std::string, torch::Tensor>& w, const RefConfig& c, const std::vector<int64_t>& ids) {
  const auto T = static_cast<int64_t>(ids.size());
  const int64_t d = c.head_dim, half = d / 2;
  const auto dense = [&](const torch::Tensor& x, const std::string& n) {
    auto y = torch::matmul(x, w.at(n + ".weight").t());
    return w.count(n + ".bias") ? y + w.at(n + ".bias") : y;
  };
  const auto rms_norm = [&](const torch::Tensor& x, const std::string& n) {
    return x / torch::sqrt((x * x).mean(-1, true) + c.eps) * w.at(n + ".weight");
  };
  // Position t turns pair (x[m], x[m + d/2]) by the angle t / theta^(2m/d).
  const auto rotate = [&](const torch::Tensor& x) {
    auto out = x.clone();
    for (int64_t t = 0; t < T; ++t)
      for (int64_t m = 0; m < half; ++m) {
        const double angle = static_cast<double>(t) / std::pow(c.theta, 2.0 * static_cast<double>(m) / static_cast<double>(d));
        const double a = x[t][m].item<double>(), b = x[t][m + half].item<double>();
        out[t][m] = a * std::cos(angle) - b * std::sin(angle);
        out[t][m + half] = b * std::cos(angle) + a * std::sin(angle);
      }
    return out;
  };
  auto x = torch::zeros({T, c.hidden}, torch::kFloat64);
  for (int64_t t = 0; t < T; ++t) x[t] = w.at("model.embed_tokens.weight")[ids[static_cast<size_t>(t)]];
  for (int64_t l = 0; l < c.layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const auto h = rms_norm(x, p + "input_layernorm");
    const auto q = dense(h, p + "self_attn.q_proj"), k = dense(h, p + "self_attn.k_proj"), v = dense(h, p + "self_attn.v_proj");
    std::vector<torch::Tensor> heads;
    for (int64_t i = 0; i < c.heads; ++i) {
      const int64_t j = i / (c.heads / c.kv_heads);
      const auto qi = rotate(q.slice(1, i * d, (i + 1) * d)), kj = rotate(k.slice(1, j * d, (j + 1) * d));
      const auto vj = v.slice(1, j * d, (j + 1) * d);
      auto scores = torch::matmul(qi, kj.t()) / std::sqrt(static_cast<double>(d));
      for (int64_t a = 0; a < T; ++a)
        for (int64_t b = a + 1; b < T; ++b) scores[a][b] = -std::numeric_limits<double>::infinity();
      const auto e = torch::exp(scores - std::get<0>(scores.max(1, true)));
      heads.push_back(torch::matmul(e / e.sum(1, true), vj));
    }
    x = x + dense(torch::cat(heads, 1), p + "self_attn.o_proj");
    const auto h2 = rms_norm(x, p + "post_attention_layernorm");
    const auto g = dense(h2, p + "mlp.gate_proj");
    x = x + dense(g / (1.0 + torch::exp(-g)) * dense(h2, p + "mlp.up_proj"), p + "mlp.down_proj");
  }
  x = rms_norm(x, "model.norm");
  return torch::matmul(x, w.at(c.tied ? "model.embed_tokens.weight" : "lm_head.weight").t());
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

std::vector<int64_t> random_ids(int64_t n, int64_t vocab, uint64_t seed) {
  torch::manual_seed(seed);
  const auto t = torch::randint(vocab, {n}, torch::kInt64);
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
}

torch::Tensor as_batch(const std::vector<std::vector<int64_t>>& rows, int64_t length, int64_t pad) {
  auto t = torch::full({static_cast<int64_t>(rows.size()), length}, pad, torch::kInt64);
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t i = 0; i < rows[r].size(); ++i) t[static_cast<int64_t>(r)][static_cast<int64_t>(i)] = rows[r][i];
  return t;
}

std::string bad_input_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const BadInput& e) {
    return e.what();
  }
  FAIL("no BadInput");
  return "";
}

}  // namespace

TEST_CASE("Llama parameter names are Hugging Face's LlamaForCausalLM keys", "[llama]") {
  Shape s;
  const auto expected = random_weights(s, 1);
  auto model = load_llama_folder(make_folder("names", s, 1));
  std::vector<std::string> names, want;
  for (const auto& p : model->named_parameters()) names.push_back(p.key());
  for (const auto& [name, t] : expected) want.push_back(name);
  CHECK(names == want);
  CHECK(model->prunable_parameters().size() == static_cast<size_t>(7 * s.layers));
  CHECK(model->prunable_parameters().front() == "model.layers.0.self_attn.q_proj.weight");
}

TEST_CASE("Llama logits equal a plain FP64 reference on HF folders of several shapes", "[llama]") {
  Shape gqa;  // 4 query heads over 2 key/value heads, untied
  Shape tied_mqa;
  tied_mqa.tied = true;
  tied_mqa.kv_heads = 1;  // one key/value head for all four query heads
  tied_mqa.head_dim = 12;  // not hidden_size / heads
  tied_mqa.theta = 500000.0;
  tied_mqa.bias = true;
  Shape mha;
  mha.heads = 2;
  mha.kv_heads = 2;
  mha.head_dim = 16;
  mha.layers = 3;
  mha.theta = 1000.0;
  mha.eps = 1e-5;
  const auto [name, shape, length] = GENERATE_COPY(table<std::string, Shape, int64_t>(
      {{"gqa", gqa, 7}, {"tied_mqa_head_dim_12", tied_mqa, 5}, {"mha", mha, 1}, {"gqa_long", gqa, 33}}));
  INFO(name);
  const fs::path dir = make_folder(name, shape, 7);
  const auto model = load_llama_folder(dir);
  auto w = reference_weights(dir);
  const RefConfig rc = reference_config(dir);
  const auto a = random_ids(length, shape.vocab, 11), b = random_ids(length, shape.vocab, 12);
  torch::NoGradGuard no_grad;
  data::Batch batch;
  batch.inputs = as_batch({a, b}, length, 0);
  const auto logits = model->logits(batch);
  REQUIRE(logits.sizes() == std::vector<int64_t>{2, length, shape.vocab});
  CHECK(max_diff(logits[0], reference_logits(w, rc, a)) < 1e-5);
  CHECK(max_diff(logits[1], reference_logits(w, rc, b)) < 1e-5);

  // Right padding: the real tokens' logits are those of the unpadded sequence.
  if (length > 2) {
    const std::vector<int64_t> shorter(a.begin(), a.end() - 2);
    batch.inputs = as_batch({a, shorter}, length, 0);
    batch.attention_mask = torch::ones({2, length}, torch::kInt64);
    batch.attention_mask[1].slice(0, length - 2).zero_();
    const auto padded = model->logits(batch);
    CHECK(max_diff(padded[0], reference_logits(w, rc, a)) < 1e-5);
    CHECK(max_diff(padded[1].slice(0, 0, length - 2), reference_logits(w, rc, shorter)) < 1e-5);
  }
}

TEST_CASE("Llama decoding with a KV cache equals the full forward", "[llama]") {
  Shape s;
  s.theta = 50000.0;
  const auto model = load_llama_folder(make_folder("kv", s, 3));
  torch::NoGradGuard no_grad;
  const auto a = random_ids(12, s.vocab, 5), b = random_ids(12, s.vocab, 6);
  data::Batch batch;
  batch.inputs = as_batch({a, b}, 12, 0);
  const auto full = model->logits(batch);
  KvCache cache;
  const auto prefill = model->decode(batch.inputs.slice(1, 0, 5), cache);
  CHECK(cache.length() == 5);
  CHECK(max_diff(prefill, full.slice(1, 0, 5)) < 1e-5);
  for (int64_t t = 5; t < 12; ++t) {
    const auto step = model->decode(batch.inputs.slice(1, t, t + 1), cache);
    CHECK(cache.length() == t + 1);
    CHECK(max_diff(step.select(1, 0), full.select(1, t)) < 1e-5);
  }
  CHECK(cache.keys.size() == static_cast<size_t>(s.layers));
  CHECK(cache.keys[0].sizes() == std::vector<int64_t>{2, s.kv_heads, 12, s.head_dim});
  // Past the context: BadInput, as for a prompt that is too long.
  KvCache full_cache;
  const auto long_ids = torch::zeros({1, 64}, torch::kInt64);
  model->decode(long_ids, full_cache);
  CHECK_THROWS_AS(model->decode(long_ids.slice(1, 0, 1), full_cache), BadInput);
  CHECK_THROWS_WITH(model->decode(torch::full({1, 1}, s.vocab, torch::kInt64), cache),
                    Catch::Contains("token id 40 is outside the vocabulary [0, 40)"));
}

TEST_CASE("Llama trains: every parameter gets a gradient and next-token loss falls", "[llama]") {
  const bool tied = GENERATE(false, true);
  INFO("tied " << tied);
  LlamaConfig c;
  c.vocab_size = 30;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 4;
  c.max_position_embeddings = 32;
  c.tie_word_embeddings = tied;
  torch::manual_seed(5);
  LlamaForCausalLM model(c);
  model.train();
  data::Batch batch;
  batch.inputs = torch::randint(c.vocab_size, {4, 12}, torch::kInt64);
  const auto loss_of = [&] {
    const auto logits = model.logits(batch);
    return torch::nn::functional::cross_entropy(logits.slice(1, 0, -1).reshape({-1, c.vocab_size}),
                                                batch.inputs.slice(1, 1).reshape({-1}));
  };
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));
  const double first = loss_of().item<double>();
  for (int step = 0; step < 30; ++step) {
    optimizer.zero_grad();
    auto loss = loss_of();
    loss.backward();
    if (step == 0)
      for (const auto& p : model.named_parameters()) {
        INFO(p.key());
        REQUIRE(p.value().grad().defined());
        CHECK(p.value().grad().abs().sum().item<double>() > 0);
      }
    optimizer.step();
  }
  CHECK(loss_of().item<double>() < 0.5 * first);
}

TEST_CASE("Greedy generation through the KV cache picks what the full forward picks", "[llama]") {
  Shape s;
  s.vocab = 24;  // a small vocabulary makes the sequences revisit tokens
  const auto model = load_llama_folder(make_folder("greedy", s, 8));
  torch::NoGradGuard no_grad;
  const auto prompt = as_batch({random_ids(6, s.vocab, 1), random_ids(6, s.vocab, 2)}, 6, 0);
  const auto generated = model->generate_greedy(prompt, 40);
  REQUIRE(generated.sizes() == std::vector<int64_t>{2, 40});
  const auto flat = generated.contiguous();
  const std::set<int64_t> distinct(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
  CHECK(distinct.size() > 3);  // not a model stuck on one token
  // Without a cache: the whole sequence so far each step, the argmax of its last position.
  auto sequence = prompt;
  for (int64_t i = 0; i < 40; ++i) {
    data::Batch batch;
    batch.inputs = sequence;
    const auto next = model->logits(batch).select(1, -1).argmax(-1, true);
    CHECK(torch::equal(next, generated.slice(1, i, i + 1)));
    sequence = torch::cat({sequence, next}, 1);
  }
  CHECK(model->generate_greedy(prompt, 0).sizes() == std::vector<int64_t>{2, 0});
  CHECK_THROWS_WITH(model->generate_greedy(prompt, 59),
                    Catch::Contains("a prompt [batch, length] and 59 new tokens must fit in max_position_embeddings 64"));
}

TEST_CASE("The committed transformers-written Llama fixture loads and gives the reference logits", "[llama]") {
  const auto model = load_llama_folder(kFixture);
  const auto& c = model->llama_config();
  CHECK(c.tie_word_embeddings);
  CHECK(c.num_key_value_heads == 2);
  CHECK(c.rope_theta == 500000.0);
  CHECK(c.torch_dtype == "bfloat16");
  CHECK(model->folder_files.count("generation_config.json") == 1);
  auto w = reference_weights(kFixture);
  CHECK(w.count("lm_head.weight") == 0);
  const auto ids = random_ids(9, c.vocab_size, 21);
  torch::NoGradGuard no_grad;
  data::Batch batch;
  batch.inputs = as_batch({ids}, 9, 0);
  CHECK(max_diff(model->logits(batch)[0], reference_logits(w, reference_config(kFixture), ids)) < 1e-5);

  // Saved, its config.json is byte for byte what transformers wrote, but for the dtype: the weights are now FP32.
  const fs::path out = fs::temp_directory_path() / "sparrow_test_llama_fixture_saved";
  fs::remove_all(out);
  save_llama_folder(out, *model);
  std::string expected = read_file(kFixture / "config.json");
  const std::string dtype = "\"torch_dtype\": \"bfloat16\"";
  REQUIRE(expected.find(dtype) != std::string::npos);
  expected.replace(expected.find(dtype), dtype.size(), "\"torch_dtype\": \"float32\"");
  CHECK(read_file(out / "config.json") == expected);
  CHECK(read_file(out / "generation_config.json") == read_file(kFixture / "generation_config.json"));
  CHECK(read_safetensors(out / "model.safetensors").find("lm_head.weight") == nullptr);
}

TEST_CASE("F16 and BF16 weights load as FP32 of the same values", "[llama]") {
  Shape s;
  s.tied = true;
  const auto weights = random_weights(s, 9);
  for (const auto dtype : {SafeDType::F16, SafeDType::BF16}) {
    INFO(dtype_name(dtype));
    const auto model = load_llama_folder(make_folder(std::string("dtype_") + dtype_name(dtype), s, 9, dtype));
    const auto type = dtype == SafeDType::F16 ? torch::kFloat16 : torch::kBFloat16;
    size_t i = 0;
    for (const auto& p : model->named_parameters()) {
      INFO(p.key());
      CHECK(torch::equal(p.value(), weights[i++].second.to(type).to(torch::kFloat32)));
    }
  }
}

TEST_CASE("A Llama folder round-trips bit-exactly, whole and sharded", "[llama]") {
  Shape s;
  const bool tied = GENERATE(false, true);
  s.tied = tied;
  const auto model = load_llama_folder(make_folder("roundtrip_src", s, 4));
  model->folder_files["tokenizer.json"] = "{\"model\": {\"type\": \"BPE\"}}\n";
  for (const uint64_t shard_bytes : {kDefaultMaxShardBytes, uint64_t{12000}}) {
    INFO("tied " << tied << ", max shard bytes " << shard_bytes);
    const fs::path dir = fs::temp_directory_path() / "sparrow_test_llama_roundtrip";
    fs::remove_all(dir);
    save_llama_folder(dir, *model, {}, shard_bytes);
    const bool sharded = shard_bytes < kDefaultMaxShardBytes;
    CHECK(fs::exists(dir / "model.safetensors") == !sharded);
    CHECK(fs::exists(dir / "model.safetensors.index.json") == sharded);
    CHECK(read_file(dir / "tokenizer.json") == model->folder_files["tokenizer.json"]);
    if (sharded) {
      const auto index = nlohmann::json::parse(read_file(dir / "model.safetensors.index.json"));
      uint64_t total = 0;
      size_t named = 0;
      for (const auto& p : model->named_parameters()) {
        total += p.value().nbytes();
        ++named;
        const std::string shard = index["weight_map"][p.key()];
        CHECK(read_safetensors(dir / shard).find(p.key()) != nullptr);
      }
      CHECK(index["metadata"]["total_size"] == total);
      CHECK(index["weight_map"].size() == named);
      CHECK(index["weight_map"].count("lm_head.weight") == (tied ? 0u : 1u));
      // Tensors fill shards in order up to 12000 bytes: 7 shards for the untied model, 6 without lm_head.
      std::set<std::string> shards;
      for (const auto& [tensor, shard] : index["weight_map"].items()) shards.insert(shard.get<std::string>());
      const std::string count = tied ? "6" : "7";
      CHECK(shards.size() == (tied ? 6u : 7u));
      CHECK(shards.count("model-00001-of-0000" + count + ".safetensors") == 1);
    }
    const auto loaded = load_llama_folder(dir);
    auto a = model->named_parameters(), b = loaded->named_parameters();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i].value(), b[i].value()));
    CHECK(loaded->config() == model->config());
    // Through the checkpoint functions every stage uses.
    const auto again = load_checkpoint(dir);
    CHECK(dynamic_cast<LlamaForCausalLM*>(again.get()) != nullptr);
  }
}

TEST_CASE("Llama builds from a recipe's model: section and from its own config()", "[llama]") {
  const nlohmann::json recipe = {{"name", "llama"}, {"vocab_size", 50}, {"hidden_size", 24}, {"intermediate_size", 40},
                                 {"num_hidden_layers", 2}, {"num_attention_heads", 6}, {"num_key_value_heads", 2},
                                 {"tie_word_embeddings", true}, {"rope_theta", 20000.0}};
  const auto model = build_model(recipe, "r.yaml");
  const auto* llama = dynamic_cast<LlamaForCausalLM*>(model.get());
  REQUIRE(llama != nullptr);
  CHECK(llama->llama_config().head_dim == 4);
  CHECK(llama->llama_config().bos_token_id == 1);
  const auto copy = build_model(model->config(), "config.json");
  CHECK(copy->config() == model->config());
  CHECK(clone_model(*model)->config() == model->config());
  // transformers 5 moved rope_theta into rope_parameters.
  const auto v5 = build_model({{"name", "llama"}, {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1e6}}}}, "r.yaml");
  CHECK(dynamic_cast<LlamaForCausalLM&>(*v5).llama_config().rope_theta == 1e6);
  CHECK_THROWS_WITH(build_model({{"name", "llama"}, {"hidden_sise", 8}}, "r.yaml"),
                    Catch::Contains("r.yaml: unknown field model.hidden_sise for model 'llama'"));
  CHECK_THROWS_WITH(build_model({{"name", "llama"}, {"num_attention_heads", 4}, {"num_key_value_heads", 3}}, "r.yaml"),
                    Catch::Contains("r.yaml: model: num_attention_heads 4 is not a multiple of num_key_value_heads 3"));
  CHECK_THROWS_WITH(build_model({{"name", "llama"}, {"hidden_size", 2.5}}, "r.yaml"),
                    Catch::Contains("r.yaml: model: hidden_size has the wrong type: expected an integer, found 2.5"));
  CHECK_THROWS_WITH(build_model({{"name", "llama"}, {"num_hidden_layers", 0}}, "r.yaml"),
                    Catch::Contains("r.yaml: model: num_hidden_layers must be from 1 to 1024, got 0"));
  CHECK_THROWS_WITH(build_model({{"name", "llama"}, {"head_dim", 7}}, "r.yaml"),
                    Catch::Contains("r.yaml: model: head_dim must be even for rotary embeddings, got 7"));
}

TEST_CASE("Bad Llama folders are BadInput naming the file and what is wrong", "[llama]") {
  Shape s;
  const auto model = load_llama_folder(make_folder("errors_src", s, 2));
  const fs::path dir = fs::temp_directory_path() / "sparrow_test_llama_errors";
  const auto fresh_sharded = [&] {
    fs::remove_all(dir);
    save_llama_folder(dir, *model, {}, 12000);
  };

  SECTION("a missing shard") {
    fresh_sharded();
    fs::remove(dir / "model-00002-of-00007.safetensors");
    CHECK(bad_input_of([&] { load_llama_folder(dir); }) ==
          (dir / "model-00002-of-00007.safetensors").string() + ": shard named by model.safetensors.index.json is missing");
  }
  SECTION("a corrupt shard") {
    fresh_sharded();
    const auto shard = dir / "model-00003-of-00007.safetensors";
    const auto bytes = read_file(shard);
    write_file_atomic(shard, bytes.substr(0, bytes.size() - 4));
    CHECK_THAT(bad_input_of([&] { load_llama_folder(dir); }), Catch::StartsWith(shard.string() + ": tensor '"));
  }
  SECTION("a shard without a tensor the index places there") {
    fresh_sharded();
    const auto index = nlohmann::json::parse(read_file(dir / "model.safetensors.index.json"));
    const std::string shard = index["weight_map"]["model.layers.1.mlp.up_proj.weight"];
    const auto file = read_safetensors(dir / shard);
    std::vector<SafeTensorView> kept;
    for (const auto& t : file.tensors)
      if (t.name != "model.layers.1.mlp.up_proj.weight") kept.push_back(t);
    write_file_atomic(dir / shard, serialize_safetensors(kept, file.metadata));
    CHECK(bad_input_of([&] { load_llama_folder(dir); }) ==
          (dir / shard).string() + ": has no tensor 'model.layers.1.mlp.up_proj.weight', which model.safetensors.index.json places there");
  }
  SECTION("a tensor in two shards") {
    fresh_sharded();
    const auto first = dir / "model-00001-of-00007.safetensors";
    const auto file = read_safetensors(first);
    auto tensors = file.tensors;
    const auto extra = read_safetensors(dir / "model-00006-of-00007.safetensors");
    tensors.push_back(*extra.find("model.norm.weight"));
    write_file_atomic(first, serialize_safetensors(tensors, file.metadata));
    CHECK(bad_input_of([&] { load_llama_folder(dir); }) ==
          (dir / "model-00006-of-00007.safetensors").string() + ": tensor 'model.norm.weight' is also in " + first.string());
  }
  SECTION("a shard name that leaves the folder") {
    fresh_sharded();
    auto index = nlohmann::json::parse(read_file(dir / "model.safetensors.index.json"));
    index["weight_map"]["model.norm.weight"] = "../model.safetensors";
    write_file_atomic(dir / "model.safetensors.index.json", index.dump());
    CHECK_THAT(bad_input_of([&] { load_llama_folder(dir); }),
               Catch::Contains("weight_map entry 'model.norm.weight' names '../model.safetensors', expected a file name in the folder"));
  }
  SECTION("no weights at all") {
    fs::remove_all(dir);
    fs::create_directories(dir);
    write_file_atomic(dir / "config.json", hf_config(s).dump());
    CHECK(bad_input_of([&] { load_llama_folder(dir); }) ==
          dir.string() + ": no model.safetensors and no model.safetensors.index.json in the model folder");
  }
  SECTION("an untied model without lm_head.weight") {
    const fs::path src = make_folder("errors_untied", s, 2);
    auto w = random_weights(s, 2);
    w.pop_back();
    write_tensors(src / "model.safetensors", w, SafeDType::F32);
    CHECK(bad_input_of([&] { load_llama_folder(src); }) ==
          src.string() + ": tensor 'lm_head.weight' is in none of the folder's safetensors files");
  }
  SECTION("a tensor of the wrong shape") {
    Shape wide = s;
    wide.intermediate = 44;
    const fs::path src = make_folder("errors_shape", s, 2);
    write_tensors(src / "model.safetensors", random_weights(wide, 2), SafeDType::F32);
    CHECK(bad_input_of([&] { load_llama_folder(src); }) ==
          (src / "model.safetensors").string() +
              ": tensor 'model.layers.0.mlp.gate_proj.weight' has shape [44,32], the config expects [40,32]");
  }
  SECTION("an unsupported rope_scaling or hidden_act") {
    const fs::path src = make_folder("errors_config", s, 2);
    auto config = hf_config(s);
    config["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
    write_file_atomic(src / "config.json", config.dump(2));
    CHECK(bad_input_of([&] { load_llama_folder(src); }) ==
          (src / "config.json").string() +
              ": rope_scaling {\"factor\":8.0,\"rope_type\":\"llama3\"} is not supported; Sparrow's Llama supports only null "
              "(plain rotary embeddings)");
    config = hf_config(s);
    config["hidden_act"] = "gelu";
    write_file_atomic(src / "config.json", config.dump(2));
    CHECK(bad_input_of([&] { load_llama_folder(src); }) ==
          (src / "config.json").string() + ": hidden_act \"gelu\" is not supported; Sparrow's Llama uses \"silu\" (SwiGLU)");
    config = hf_config(s);
    config["rope_parameters"] = {{"rope_type", "yarn"}, {"rope_theta", 10000.0}};
    write_file_atomic(src / "config.json", config.dump(2));
    CHECK(bad_input_of([&] { load_llama_folder(src); }) ==
          (src / "config.json").string() + ": rope_parameters: rope_type \"yarn\" is not supported; expected \"default\"");
    config = hf_config(s);
    config["eos_token_id"] = 40;
    write_file_atomic(src / "config.json", config.dump(2));
    CHECK(bad_input_of([&] { load_llama_folder(src); }) ==
          (src / "config.json").string() + ": eos_token_id must be from 0 to 39, got 40");
  }
}
