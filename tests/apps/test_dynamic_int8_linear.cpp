// The INT8 baseline of `sparrow bench --compare` (apps/sparrow/baseline/dynamic_int8_linear.h): on every
// quantized engine this LibTorch has, a linear layer through LibTorch's quantized::linear_dynamic stays within
// the error that quantizing its weights and input can cause, and is not the FP32 result (so INT8 really ran);
// a tiny BERT with the hook runs every linear layer in INT8 and keeps its logits close to FP32's.
#include <catch2/catch.hpp>

#include "apps/sparrow/baseline/dynamic_int8_linear.h"
#include "support/skip.h"
#include "support/small_models.h"

using namespace sparrow;

namespace {

// The largest |INT8 - FP32| each output of y = x W^T + b may show, from first principles: with weights rounded
// to the nearest step s_w[n] = max|W[n,:]| / 127 (error <= s_w / 2) and inputs rounded to a step of at most
// e_x (error <= e_x), x.w - x'.w' = x.(w - w') + w'.(x - x') is at most sum_k |x_k| s_w / 2 + (|w_k| + s_w / 2) e_x;
// plus FP32 rounding. e_x = (max(x, 0) - min(x, 0)) / 127 holds for 8-bit inputs and for FBGEMM's 7-bit
// ones (one step at most, with the zero point rounded to an integer).
torch::Tensor error_bound(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const auto s_w = std::get<0>(w.abs().max(1)) / 127;
  const double e_x = (std::max(x.max().item<double>(), 0.0) - std::min(x.min().item<double>(), 0.0)) / 127;
  const auto x_abs = x.abs().sum(-1, true);                           // [..., 1]
  const auto w_term = w.abs().sum(1) + static_cast<double>(w.size(1)) * s_w / 2;  // [N]
  return x_abs * s_w / 2 + e_x * w_term + 1e-4 * (torch::matmul(x.abs(), w.abs().t()) + b.abs());
}

// The root mean square of that error when rounding errors are uniform and independent (variance step^2 / 12):
// sum_k x_k^2 s_w^2 / 12 + w_k^2 s_x^2 / 12 per output, with the 8-bit input step s_x = (max - min) / 255.
double expected_rms_error(const torch::Tensor& x, const torch::Tensor& w) {
  const auto s_w = std::get<0>(w.abs().max(1)) / 127;
  const double s_x = (std::max(x.max().item<double>(), 0.0) - std::min(x.min().item<double>(), 0.0)) / 255;
  const auto variance = x.pow(2).sum(-1, true) * s_w.pow(2) / 12 + w.pow(2).sum(1) * (s_x * s_x / 12);
  return std::sqrt(variance.mean().item<double>());
}

int linear_layers(torch::nn::Module& model) {
  int n = 0;
  for (const auto& m : model.modules()) n += m->as<torch::nn::Linear>() != nullptr;
  return n;
}

}  // namespace

TEST_CASE("dynamic INT8 baseline: a linear layer is within its quantization error of FP32, and not FP32", "[cli][baseline]") {
  const auto engines = baseline::dynamic_int8_engines();
  if (engines.empty()) {
    testing::skip("this LibTorch has no quantized engine for dynamic INT8");
    return;
  }
  torch::manual_seed(3);
  torch::nn::Linear layer(48, 20);
  torch::NoGradGuard no_grad;
  layer->weight[7].zero_();  // an all-zero row: its outputs are the bias alone
  const auto x = torch::randn({3, 5, 48}) * 2 + 0.5;  // rank 3, as BERT's hidden states; not centred on 0
  const auto fp32 = layer->forward(x);
  const auto bound = error_bound(x, layer->weight, layer->bias);
  for (const at::QEngine engine : engines) {
    INFO("engine " << baseline::engine_name(engine));
    baseline::DynamicInt8Linear hook(engine);
    const auto int8 = hook.linear(*layer, x);
    REQUIRE(int8.sizes() == fp32.sizes());
    REQUIRE(int8.scalar_type() == torch::kFloat32);
    const auto error = (int8 - fp32).abs();
    INFO("largest error " << error.max().item<double>() << ", its bound " << bound.flatten()[error.argmax()].item<double>());
    CHECK((error <= bound).all().item<bool>());
    CHECK(error.max().item<double>() > 1e-4);  // not the FP32 result
    // And in size what rounding noise predicts (FBGEMM's 7-bit inputs double the input term).
    const double rms = std::sqrt(error.pow(2).mean().item<double>()), expected = expected_rms_error(x, layer->weight);
    INFO("error RMS " << rms << ", expected " << expected);
    CHECK(rms < 2.5 * expected);
    CHECK(rms > 0.4 * expected);
    CHECK(torch::allclose(int8.select(-1, 7), layer->bias[7].expand({3, 5}), 0, 1e-6));
    CHECK(hook.packed_layers() == 1);
    (void)hook.linear(*layer, x);
    CHECK(hook.packed_layers() == 1);  // packed once
  }
}

TEST_CASE("dynamic INT8 baseline: a tiny BERT runs every linear layer in INT8, its logits close to FP32's", "[cli][baseline]") {
  const auto engines = baseline::dynamic_int8_engines();
  if (engines.empty()) {
    testing::skip("this LibTorch has no quantized engine for dynamic INT8");
    return;
  }
  testing::TinyBert shape;
  shape.weight_std = 0.1;
  const auto bert = testing::tiny_bert(shape);
  torch::manual_seed(4);
  data::Batch batch;
  batch.inputs = torch::randint(5, shape.config.vocab_size, {4, 8}, torch::kInt64);
  batch.attention_mask = torch::ones({4, 8}, torch::kInt64);
  torch::InferenceMode inference;
  const auto fp32 = bert->logits(batch);
  for (const at::QEngine engine : engines) {
    INFO("engine " << baseline::engine_name(engine));
    const auto hook = std::make_shared<baseline::DynamicInt8Linear>(engine);
    bert->set_linear_hook(hook);
    const auto int8 = bert->logits(batch);
    bert->set_linear_hook(nullptr);
    CHECK(static_cast<int>(hook->packed_layers()) == linear_layers(*bert));
    // Rounding noise of 8-bit steps is a fraction of a percent per linear (the test above predicts it), and the
    // layer norms between the 14 linears (2 encoder layers of 6, the pooler, the classifier) keep it from
    // compounding: 0.13 % measured on oneDNN and QNNPACK; 1 % leaves room for other engines and CPUs and still
    // catches a wrong scale or a layer gone missing.
    const double relative = ((int8 - fp32).norm() / fp32.norm()).item<double>();
    INFO("relative error " << relative);
    CHECK(relative < 0.01);
    CHECK(relative > 1e-5);  // INT8 really ran
  }
}
