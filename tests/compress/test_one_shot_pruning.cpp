// One-shot pruning from calibration data: SparseGPT's layer step, Wanda's masks, the row-wise mask structures,
// the Hessians taken layer block by block, and SparseGPT against an independent PyTorch implementation
// (tests/compress/sparsegpt_reference.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "compress/masks/magnitude_mask.h"
#include "compress/masks/row_mask.h"
#include "compress/one_shot_pruning/layer_hessians.h"
#include "compress/one_shot_pruning/sparsegpt.h"
#include "compress/one_shot_pruning/wanda.h"
#include "core/files.h"
#include "models/llama/llama.h"
#include "models/mlp.h"
#include "models/model_config.h"
#include "models/safetensors.h"
#include "support/run_command.h"
#include "support/skip.h"
#include "support/small_models.h"

using namespace sparrow;
using compress::SparseGptOptions;
using recipe::MaskKind;
namespace fs = std::filesystem;

namespace {

// Synthetic correlated calibration inputs [n, in]: a few shared factors mixed into every input, plus noise,
// each input at its own scale (so that |W| alone is a poor guide, as in real activations).
torch::Tensor correlated_inputs(int64_t n, int64_t in, uint64_t seed) {
  torch::manual_seed(seed);
  const auto factors = torch::randn({n, 8}, torch::kFloat64);
  const auto mixing = torch::randn({8, in}, torch::kFloat64);
  const auto scales = torch::exp(torch::randn({in}, torch::kFloat64));
  return (factors.mm(mixing) + 0.3 * torch::randn({n, in}, torch::kFloat64)) * scales;
}

torch::Tensor hessian_of(const torch::Tensor& x) { return 2.0 * x.t().mm(x) / static_cast<double>(x.size(0)); }

// ||(W - W') X^T||^2 / n, the output error per input row.
double output_error(const torch::Tensor& w, const torch::Tensor& pruned, const torch::Tensor& x) {
  return (w.to(torch::kFloat64) - pruned.to(torch::kFloat64)).mm(x.t()).square().sum().item<double>() / static_cast<double>(x.size(0));
}

// Zeros per row and group of `width` inputs, counted directly.
std::vector<int64_t> zeros_per_group(const torch::Tensor& w, int64_t row, int64_t width) {
  std::vector<int64_t> out;
  for (int64_t c = 0; c < w.size(1); c += width) out.push_back((w[row].slice(0, c, c + width) == 0).sum().item<int64_t>());
  return out;
}

}  // namespace

TEST_CASE("one-shot: sparsity 0 leaves the weights unchanged", "[one_shot]") {
  const auto x = correlated_inputs(256, 32, 1);
  const auto w = torch::randn({12, 32});
  for (const auto* kind : {"unstructured", "block4", "[4,4]"}) {  // N:M has no sparsity 0: 1 - N/M is its sparsity
    SparseGptOptions o;
    o.mask = MaskKind::parse(kind);
    const auto r = compress::sparsegpt_prune(w, hessian_of(x), o, "layer");
    CHECK(torch::equal(r.weight, w));
    CHECK(r.error_estimate == 0.0);
    CHECK(torch::equal(compress::wanda_mask(w, hessian_of(x), 0.0, o.mask), torch::ones_like(w)));
  }
}

TEST_CASE("one-shot: N:M and block masks are exact per group and block", "[one_shot]") {
  const auto x = correlated_inputs(512, 64, 2);
  const auto h = hessian_of(x);
  torch::manual_seed(3);
  const auto w = torch::randn({16, 64});
  SparseGptOptions o;
  o.block_size = 32;  // two column blocks: each chooses its own mask

  SECTION("2:4 keeps 2 of every 4 in every row") {
    o.mask = MaskKind::parse("2:4");
    o.sparsity = 0.5;
    for (const auto& pruned : {compress::sparsegpt_prune(w, h, o, "l").weight, w * compress::wanda_mask(w, h, 0.5, o.mask)})
      for (int64_t r = 0; r < 16; ++r)
        for (const auto zeros : zeros_per_group(pruned, r, 4)) CHECK(zeros == 2);
  }
  SECTION("unstructured: every row prunes the same share of every column block") {
    o.sparsity = 0.75;
    const auto pruned = compress::sparsegpt_prune(w, h, o, "l").weight;
    for (int64_t r = 0; r < 16; ++r)
      for (const auto zeros : zeros_per_group(pruned, r, 32)) CHECK(zeros == 24);
  }
  SECTION("column blocks that do not divide the sparsity: each row still prunes round(s * its units)") {
    // 100 inputs in column blocks of 32, 32, 32, 4 at 70 %: rounding each block alone would prune 22 + 22 + 22
    // + 3 = 69 weights (block4: 6 + 6 + 6 + 1 = 19 blocks of 25); a whole row prunes round(70) = 70 weights,
    // round(17.5) = 18 blocks.
    const auto x100 = correlated_inputs(512, 100, 13);
    const auto w100 = torch::randn({8, 100});
    o.sparsity = 0.7;
    for (const auto& [kind, zeros] : std::vector<std::pair<std::string, int64_t>>{{"unstructured", 70}, {"block4", 72}}) {
      o.mask = MaskKind::parse(kind);
      const auto pruned = compress::sparsegpt_prune(w100, hessian_of(x100), o, "l").weight;
      for (int64_t r = 0; r < 8; ++r) CHECK((pruned[r] == 0).sum().item<int64_t>() == zeros);
    }
  }
  SECTION("block4 and [4,4]: whole blocks, the same count per row (group) and column block") {
    for (const auto* kind : {"block4", "[4,4]"}) {
      o.mask = MaskKind::parse(kind);
      o.sparsity = 0.5;
      const auto r = compress::sparsegpt_prune(w, h, o, "l");
      CHECK(compress::mask_respects_kind(r.mask, o.mask));
      CHECK(torch::equal(r.weight == 0, r.mask == 0));  // random weights: kept ones are not 0
      for (int64_t row = 0; row < 16; ++row) {
        // 8 blocks of 4 per column block of 32: 4 pruned in each.
        for (const auto zeros : zeros_per_group(r.weight, row, 32)) CHECK(zeros == 16);
        for (int64_t c = 0; c < 64; c += 4) {
          const auto zeros = (r.weight[row].slice(0, c, c + 4) == 0).sum().item<int64_t>();
          CHECK((zeros == 0 || zeros == 4));
          if (o.mask.rows == 4)  // the 4 rows of a group share the pattern
            CHECK(torch::equal(r.weight[row].slice(0, c, c + 4) == 0, r.weight[row - row % 4].slice(0, c, c + 4) == 0));
        }
      }
      const auto wanda = compress::wanda_mask(w, h, 0.5, o.mask);
      CHECK(compress::mask_respects_kind(wanda, o.mask));
      CHECK(wanda.sum().item<double>() == 16 * 64 / 2);
    }
  }
}

TEST_CASE("one-shot: on correlated inputs SparseGPT <= Wanda <= magnitude in output error", "[one_shot]") {
  const auto x = correlated_inputs(1024, 128, 4);
  const auto h = hessian_of(x);
  torch::manual_seed(5);
  const auto w = torch::randn({64, 128});
  for (const auto* kind : {"unstructured", "2:4", "block4"}) {
    SparseGptOptions o;
    o.mask = MaskKind::parse(kind);
    o.sparsity = 0.5;
    const double gpt = output_error(w, compress::sparsegpt_prune(w, h, o, "l").weight, x);
    const double wanda = output_error(w, w * compress::wanda_mask(w, h, 0.5, o.mask), x);
    const double magnitude = output_error(w, w * compress::magnitude_mask(w, 0.5, o.mask), x);
    INFO(kind << ": SparseGPT " << gpt << ", Wanda " << wanda << ", magnitude " << magnitude);
    CHECK(gpt <= wanda);
    CHECK(wanda <= magnitude);
  }
}

TEST_CASE("one-shot: SparseGPT's error estimate is the measured output error", "[one_shot]") {
  // The estimate 1/2 sum (w - q)^2 / U_ii^2 is the error in the damped Hessian H' = H + lambda mean(diag H) I:
  // 1/2 tr(dW H' dW^T) = ||dW X^T||^2 / n + 1/2 lambda mean(diag H) ||dW||^2. Checked against that, with the
  // measured output error on the right, for a negligible and for the default damping.
  const auto x = correlated_inputs(1024, 96, 6);
  const auto h = hessian_of(x);
  const double mean_diag = h.diagonal().mean().item<double>();
  torch::manual_seed(7);
  const auto w = torch::randn({32, 96}, torch::kFloat64);  // FP64: only rounding separates the two sides
  for (const auto* kind : {"unstructured", "2:4", "[4,4]"}) {
    SparseGptOptions o;
    o.mask = MaskKind::parse(kind);
    o.sparsity = 0.5;
    o.block_size = 32;
    for (const double lambda : {1e-9, 0.01}) {
      o.dampening_frac = lambda;
      const auto r = compress::sparsegpt_prune(w, h, o, "l");
      const double measured = output_error(w, r.weight, x);
      const double damping = 0.5 * lambda * mean_diag * (w - r.weight).square().sum().item<double>();
      INFO(kind << ", lambda " << lambda << ": estimate " << r.error_estimate << ", measured " << measured << " + damping term "
                << damping);
      CHECK(r.error_estimate == Approx(measured + damping).epsilon(1e-5));
      // Without damping the estimate is the output error itself.
      if (lambda < 1e-6) CHECK(r.error_estimate == Approx(measured).epsilon(1e-5));
    }
  }
}

TEST_CASE("one-shot: GPTQ puts every row on its INT8 grid, the largest weight at 127 steps, and beats rounding", "[one_shot][gptq]") {
  const auto x = correlated_inputs(1024, 128, 12);
  const auto h = hessian_of(x);
  torch::manual_seed(13);
  const auto w = torch::randn({48, 128});
  for (const auto* kind : {"unstructured", "2:4", "block4"}) {
    for (const double sparsity : {0.0, 0.5}) {
      if (sparsity == 0 && std::string(kind) != "unstructured") continue;
      SparseGptOptions o;
      o.mask = MaskKind::parse(kind);
      o.sparsity = sparsity;
      o.block_size = 32;
      o.quantize = true;
      const auto r = compress::sparsegpt_prune(w, h, o, "l");
      INFO(kind << " at " << sparsity);
      // The mask is SparseGPT's without rounding; each row's grid, computed here, the largest |w| that SparseGPT
      // ends with / 127.
      o.quantize = false;
      const auto pruned_only = compress::sparsegpt_prune(w, h, o, "l");
      CHECK(torch::equal(r.mask, pruned_only.mask));
      const auto step = std::get<0>(pruned_only.weight.abs().max(1)) / 127.0f;
      const auto rounded = [&](const torch::Tensor& v) { return torch::round(v / step.unsqueeze(1)).clamp(-127, 127) * step.unsqueeze(1); };
      CHECK(torch::allclose(r.scale.to(torch::kFloat32), step));
      // Integers times the row's step, within [-127, 127], and the row's largest at exactly 127 steps.
      const auto units = r.weight / step.unsqueeze(1);
      CHECK((units - units.round()).abs().max().item<double>() < 1e-4);
      CHECK(units.abs().max().item<double>() <= 127.0001);
      CHECK(torch::allclose(std::get<0>(units.abs().max(1)), torch::full({48}, 127.0f)));
      // What the exporter does (a row's scale from its largest weight, then rounding) changes nothing.
      const auto export_scale = std::get<0>(r.weight.abs().max(1)) / 127.0f;
      CHECK(torch::allclose(torch::round(r.weight / export_scale.unsqueeze(1)) * export_scale.unsqueeze(1), r.weight, 1e-6, 1e-7));
      // The compensation beats rounding the same mask's weights (SparseGPT without quantize, then rounded).
      const double gptq = output_error(w, r.weight, x), rtn = output_error(w, rounded(pruned_only.weight), x);
      INFO("GPTQ " << gptq << ", SparseGPT then rounding " << rtn);
      CHECK(gptq < rtn);
      if (sparsity == 0) CHECK(gptq < 0.5 * rtn);
    }
  }
}

TEST_CASE("one-shot: dead inputs are zeroed, a singular Hessian is damped", "[one_shot]") {
  auto x = correlated_inputs(16, 64, 8);  // fewer rows than inputs: H is singular
  x.select(1, 5).zero_();
  const auto w = torch::randn({8, 64});
  SparseGptOptions o;
  o.sparsity = 0.5;
  const auto r = compress::sparsegpt_prune(w, hessian_of(x), o, "l");
  CHECK(r.weight.select(1, 5).abs().sum().item<double>() == 0.0);
  CHECK(std::isfinite(r.weight.abs().sum().item<double>()));
}

TEST_CASE("one-shot: a Hessian that will not factor raises the damping tenfold until it does", "[one_shot]") {
  // diag(1, -0.5): mean(diag H) = 0.25, so H + lambda * 0.25 * I is positive definite once lambda > 2, i.e. after
  // three raises from 0.01 (0.1, 1 fail; 10 works). A real H = 2 X^T X / n only fails by rounding.
  const auto h = torch::diag(torch::tensor({1.0, -0.5}, torch::kFloat64));
  SparseGptOptions o;
  o.sparsity = 0.5;
  o.block_size = 2;
  const auto r = compress::sparsegpt_prune(torch::tensor({{1.0f, 2.0f}}), h, o, "l");
  CHECK(r.dampening_frac == Approx(10.0));
  CHECK(compress::zero_fraction(r.weight) == 0.5);
}

TEST_CASE("one-shot: layer blocks group a decoder layer's linears", "[one_shot]") {
  CHECK(compress::layer_block("model.layers.3.self_attn.q_proj") == "model.layers.3");
  CHECK(compress::layer_block("bert.encoder.layer.11.output.dense") == "bert.encoder.layer.11");
  CHECK(compress::layer_block("fc1") == "fc1");
  CHECK(compress::layer_block("head.2x") == "head.2x");
}

TEST_CASE("one-shot: Hessians follow the layers already pruned (sequential update)", "[one_shot]") {
  // An MLP: fc2 sees relu(fc1(x)). Sequential: fc2's Hessian comes through fc1 already pruned; not sequential:
  // through the dense fc1. The expectation is computed here from the weights, by plain tensor algebra.
  for (const bool sequential : {true, false}) {
    torch::manual_seed(9);
    models::Mlp model(models::MlpOptions{20, {16, 12}, 4, 0.0});
    const auto x = torch::randn({48, 20});
    std::vector<data::Batch> batches;
    for (int64_t b = 0; b < 48; b += 16) batches.push_back({x.slice(0, b, b + 16), {}, torch::zeros({16}, torch::kInt64)});
    auto params = model.named_parameters();
    const auto dense_fc1 = params["fc1.weight"].detach().clone();
    std::map<std::string, torch::Tensor> seen;
    compress::prune_with_hessians(model, batches, {"fc1.weight", "fc2.weight"}, sequential, "r.yaml:1:1",
                                  [&](const std::string& name, torch::Tensor& weight, const torch::Tensor& hessian) {
                                    seen[name] = hessian;
                                    weight.mul_(compress::magnitude_mask(weight, 0.5));
                                  });
    REQUIRE(seen.size() == 2);
    CHECK(torch::allclose(seen["fc1.weight"], hessian_of(x.to(torch::kFloat64)), 1e-9, 1e-9));
    const auto fc1 = sequential ? params["fc1.weight"].detach() : dense_fc1;
    const auto hidden = torch::relu(x.mm(fc1.t()) + params["fc1.bias"].detach()).to(torch::kFloat64);
    CHECK(torch::allclose(seen["fc2.weight"], hessian_of(hidden), 1e-5, 1e-6));
    CHECK(compress::zero_fraction(params["fc2.weight"]) == 0.5);
  }
}

TEST_CASE("one-shot: padding positions give no Hessian rows", "[one_shot]") {
  // A causal Llama: the tokens before the padding do not see it, so a padded batch must give the Hessians of
  // the same items run unpadded, one batch each.
  torch::manual_seed(12);
  models::llama::LlamaForCausalLM model(testing::small_llama_config(50, 16));
  const auto ids = torch::randint(0, 50, {2, 8}, torch::kInt64);
  const auto mask = torch::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, torch::kInt64).view({2, 8});
  const std::vector<data::Batch> padded{{ids, mask, torch::zeros({2}, torch::kInt64)}};
  const std::vector<data::Batch> unpadded{{ids.slice(0, 0, 1), torch::ones({1, 8}, torch::kInt64), torch::zeros({1}, torch::kInt64)},
                                          {ids.slice(0, 1, 2).slice(1, 0, 5), torch::ones({1, 5}, torch::kInt64),
                                           torch::zeros({1}, torch::kInt64)}};
  const auto weights = model.prunable_parameters();
  const auto hessians = [&](const std::vector<data::Batch>& batches) {
    std::map<std::string, torch::Tensor> out;
    compress::prune_with_hessians(model, batches, weights, true, "r.yaml:1:1",
                                  [&](const std::string& name, torch::Tensor&, const torch::Tensor& h) { out[name] = h; });
    return out;
  };
  const auto a = hessians(padded), b = hessians(unpadded);
  REQUIRE(a.size() == weights.size());
  for (const auto& name : weights) {
    INFO(name);
    CHECK(torch::allclose(a.at(name), b.at(name), 1e-5, 1e-6));
  }
}

TEST_CASE("one-shot: a target that is not a linear weight is refused, naming it", "[one_shot][errors]") {
  models::Mlp model(models::MlpOptions{20, {16}, 4, 0.0});
  const std::vector<data::Batch> batches{{torch::randn({4, 20}), {}, torch::zeros({4}, torch::kInt64)}};
  CHECK_THROWS_WITH(compress::prune_with_hessians(model, batches, {"fc1.bias"}, true, "r.yaml:3:5",
                                                  [](const std::string&, torch::Tensor&, const torch::Tensor&) {}),
                    "r.yaml:3:5: 'fc1.bias' is not the weight of a linear layer; one-shot pruning prunes linear layers "
                    "(set targets to them, or ignore this one)");
}

TEST_CASE("one-shot: SparseGPT matches an independent PyTorch implementation to 1e-5", "[one_shot][pytorch]") {
  std::string python;
  for (const auto* candidate : {"/usr/bin/python3", "python3"})
    if (testing::run_command(std::string(candidate) + " -c 'import torch'").exit_code == 0) {
      python = candidate;
      break;
    }
  if (python.empty()) return testing::skip("no python3 with torch (Debian's python3-torch; third_party/setup.sh installs it)");
  const fs::path dir = fs::temp_directory_path() / "sparrow_test_sparsegpt_reference";
  fs::create_directories(dir);
  const auto x = correlated_inputs(300, 40, 10).contiguous();
  torch::manual_seed(11);
  const auto w = torch::randn({12, 40}, torch::kFloat64);
  const auto view = [](const std::string& name, const torch::Tensor& t) {
    return models::SafeTensorView{name, models::SafeDType::F64, t.sizes().vec(),
                                  std::string_view(static_cast<const char*>(t.data_ptr()), t.nbytes())};
  };
  write_file_atomic(dir / "layer.safetensors", models::serialize_safetensors({view("weight", w), view("inputs", x)}, {}));
  const std::string script = std::string(SPARROW_SOURCE_DIR) + "/tests/compress/sparsegpt_reference.py";
  for (const auto& [kind, python_kind] : std::vector<std::pair<std::string, std::string>>{
           {"unstructured", "unstructured"}, {"2:4", "2:4"}, {"block4", "1x4"}, {"[4,4]", "4x4"}}) {
    for (const bool quantize : {false, true}) {  // SparseGPT, then GPTQ (rounding to INT8 too)
      SparseGptOptions o;
      o.mask = MaskKind::parse(kind);
      o.sparsity = 0.5;
      o.block_size = 16;  // 40 inputs: two whole column blocks and a narrower one
      o.quantize = quantize;
      const auto ours = compress::sparsegpt_prune(w, hessian_of(x), o, "l").weight;
      const auto result = testing::run_command(python + " " + script + " " + (dir / "layer.safetensors").string() + " " +
                                               (dir / "out.safetensors").string() + " 0.5 " + python_kind + " 16 0.01" +
                                               (quantize ? " quantize" : ""));
      INFO(kind << (quantize ? " quantized" : "") << ": " << result.output);
      REQUIRE(result.exit_code == 0);
      const auto file = models::read_safetensors(dir / "out.safetensors");
      const auto* t = file.find("weight");
      REQUIRE(t != nullptr);
      const auto theirs = torch::from_blob(const_cast<char*>(t->bytes.data()), {12, 40}, torch::kFloat64).clone();
      CHECK(torch::equal(ours == 0, theirs == 0));
      CHECK((ours - theirs).abs().max().item<double>() < 1e-5);
    }
  }
  fs::remove_all(dir);
}
