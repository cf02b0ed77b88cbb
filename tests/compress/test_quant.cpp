#include <catch2/catch.hpp>

#include <cfenv>
#include <cmath>
#include <limits>

#include "compress/modifiers/distillation_modifier.h"
#include "compress/quant/activation_observer.h"
#include "compress/quant/qat_hook.h"
#include "compress/quant/quant_scheme.h"
#include "models/cnn.h"
#include "support/small_models.h"

using namespace sparrow;
using namespace sparrow::compress;

namespace {

// DESIGN.md's formulas written out with scalar loops and std::nearbyint
// (round half to even in the default rounding mode), independent of the
// tensor code under test and of lib/quant.
int ref_qw(float w, float scale) { return static_cast<int>(std::fmin(127.f, std::fmax(-127.f, std::nearbyint(w / scale)))); }
int ref_qx(float x, float scale, int zp) {
  return static_cast<int>(std::fmin(255.f, std::fmax(0.f, std::nearbyint(x / scale) + static_cast<float>(zp))));
}
// The per-row weight scales of a 2-D weight.
std::vector<float> ref_scales(const torch::Tensor& w) {
  const auto a = w.accessor<float, 2>();
  std::vector<float> s;
  for (int64_t n = 0; n < w.size(0); ++n) {
    float max_abs = 0;
    for (int64_t k = 0; k < w.size(1); ++k) max_abs = std::fmax(max_abs, std::fabs(a[n][k]));
    s.push_back(max_abs == 0 ? 1.0f : max_abs / 127.0f);
  }
  return s;
}

}  // namespace

TEST_CASE("weight quantization matches the scheme, per output channel", "[compress][quant]") {
  REQUIRE(std::fegetround() == FE_TONEAREST);
  torch::manual_seed(7);
  auto w = torch::randn({6, 10});
  w[3].zero_();  // an all-zero row takes scale 1
  w[4][2] = 0.5f * 127;  // ties: 63.5 and -2.5 after scaling by 0.5 round to 64 and -2
  w[4][3] = 63.5f * 0.5f;
  w[4][4] = -2.5f * 0.5f;
  const auto scales = weight_scales(w);
  const auto q = quantize_weight(w, scales);
  REQUIRE(q.scalar_type() == torch::kInt8);
  const auto wa = w.accessor<float, 2>();
  const auto s = ref_scales(w);
  for (int n = 0; n < 6; ++n) {
    CHECK(scales[n].item<float>() == s[n]);
    for (int k = 0; k < 10; ++k) CHECK(q[n][k].item<int>() == ref_qw(wa[n][k], s[n]));
  }
  CHECK(scales[3].item<float>() == 1.0f);
  CHECK(q[4][3].item<int>() == 64);
  CHECK(q[4][4].item<int>() == -2);
  CHECK(q[3].abs().sum().item<int>() == 0);
}

TEST_CASE("activation quantization of a tensor clamps and rounds ties to even", "[compress][quant]") {
  const quant::ActivationParams tie{0.5f, 10};
  const auto x = torch::tensor({-100.0f, -5.0f, 0.25f, 0.75f, 1.25f, 200.0f, -2.5f});
  const auto qx = quantize_activation(x, tie);
  const auto xa = x.accessor<float, 1>();
  for (int i = 0; i < x.size(0); ++i) CHECK(qx[i].item<int>() == ref_qx(xa[i], 0.5f, 10));
  CHECK(qx[0].item<int>() == 0);    // clamped low
  CHECK(qx[5].item<int>() == 255);  // clamped high
  CHECK(qx[2].item<int>() == 10);   // 0.5 rounds to 0
  CHECK(qx[3].item<int>() == 12);   // 1.5 rounds to 2
  CHECK(qx[4].item<int>() == 12);   // 2.5 rounds to 2
  // An FP32 division, as quant::quantize_activation: 1.55f / 0.1f = 15.499999 -> 15 (a reciprocal gives 16).
  CHECK(quantize_activation(torch::tensor({1.55f}), {0.1f, 0})[0].item<int>() == 15);
}

TEST_CASE("fake quantization equals quantize-dequantize and passes gradients straight through", "[compress][quant]") {
  torch::manual_seed(8);
  auto x = torch::randn({4, 9}).requires_grad_(true);
  const quant::ActivationParams q{4.5f / 255.0f, 113};
  const auto y = fake_quantize_activation(x, q);
  const auto xd = x.detach(), yd = y.detach();
  const auto xa = xd.accessor<float, 2>();
  const auto ya = yd.accessor<float, 2>();
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 9; ++k)
      CHECK(ya[i][k] == static_cast<float>(ref_qx(xa[i][k], q.scale, q.zero_point) - q.zero_point) * q.scale);
  y.sum().backward();
  CHECK(torch::equal(x.grad(), torch::ones_like(x)));

  auto w = torch::randn({5, 9}).requires_grad_(true);
  const auto fw = fake_quantize_weight(w);
  const auto wd = w.detach(), fd = fw.detach();
  const auto s = ref_scales(wd);
  const auto wa = wd.accessor<float, 2>();
  const auto fa = fd.accessor<float, 2>();
  for (int n = 0; n < 5; ++n)
    for (int k = 0; k < 9; ++k) CHECK(fa[n][k] == static_cast<float>(ref_qw(wa[n][k], s[n])) * s[n]);
  fw.sum().backward();
  CHECK(torch::equal(w.grad(), torch::ones_like(w)));
}

TEST_CASE("exact quantized linear equals integer arithmetic done by hand", "[compress][quant]") {
  torch::manual_seed(9);
  const auto x = torch::randn({3, 37}) * 2;
  const auto w = torch::randn({5, 37});
  const auto b = torch::randn({5});
  const quant::ActivationParams q{7.0f / 255.0f, 109};
  const auto y = quantized_linear_exact(x, q, w, b);
  const auto s = ref_scales(w);
  const auto xa = x.accessor<float, 2>();
  const auto wa = w.accessor<float, 2>();
  for (int m = 0; m < 3; ++m)
    for (int n = 0; n < 5; ++n) {
      int32_t acc = 0, row_sum = 0;
      for (int k = 0; k < 37; ++k) {
        acc += ref_qx(xa[m][k], q.scale, q.zero_point) * ref_qw(wa[n][k], s[n]);
        row_sum += ref_qw(wa[n][k], s[n]);
      }
      const float v = static_cast<float>(acc - q.zero_point * row_sum) * (q.scale * s[n]) + b[n].item<float>();
      CHECK(y[m][n].item<float>() == v);
    }
}

TEST_CASE("exact quantized attention equals integer arithmetic done by hand", "[compress][quant]") {
  torch::manual_seed(12);
  const int64_t heads = 2, len = 5, dim = 6;
  const auto q = torch::randn({1, heads, len, dim}), k = torch::randn({1, heads, len, dim}) * 0.7;
  const auto v = torch::randn({1, heads, len, dim}) * 1.3;
  // Key 4 is padding: the mask bias BERT adds.
  auto mask = torch::zeros({1, 1, 1, len});
  mask[0][0][0][4] = std::numeric_limits<float>::lowest();
  const AttentionQParams p{{6.0f / 255.0f, 120}, {2.5f / 127.0f, 128}, {4.0f / 127.0f, 128}};
  const auto out = quantized_attention_exact({q, k, v, mask, dim, torch::nn::Dropout(nullptr)}, p);
  // docs/format.md "INT8 attention": exact sums, the scales grouped s_q * (s_k * c), softmax (here in double),
  // P in steps of 1/255, P V exact times s_p * s_v.
  const float c = 1.0f / std::sqrt(static_cast<float>(dim)), s_p = 1.0f / 255.0f;
  const auto qa = q.accessor<float, 4>(), ka = k.accessor<float, 4>(), va = v.accessor<float, 4>();
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < len; ++i) {
      std::vector<double> e(len - 1);
      double mx = -1e30, sum = 0;
      for (int64_t j = 0; j < len - 1; ++j) {
        int32_t acc = 0, key_sum = 0;
        for (int64_t d = 0; d < dim; ++d) {
          const int k8 = ref_qx(ka[0][h][j][d], p.k.scale, 128) - 128;
          acc += ref_qx(qa[0][h][i][d], p.q.scale, p.q.zero_point) * k8;
          key_sum += k8;
        }
        e[j] = static_cast<float>(acc - p.q.zero_point * key_sum) * (p.q.scale * (p.k.scale * c));
        mx = std::max(mx, e[j]);
      }
      for (auto& x : e) sum += (x = std::exp(x - mx));
      for (int64_t d = 0; d < dim; ++d) {
        int32_t acc = 0;
        for (int64_t j = 0; j < len - 1; ++j) {
          const int qp = ref_qx(static_cast<float>(e[j] / sum), s_p, 0);
          acc += qp * (ref_qx(va[0][h][j][d], p.v.scale, 128) - 128);
        }
        const float want = static_cast<float>(acc) * (s_p * p.v.scale);
        INFO("head " << h << " query " << i << " column " << d);
        // Equal unless a probability lies on a rounding boundary (torch's float softmax against double here).
        CHECK(std::fabs(out[0][h][i][d].item<float>() - want) <= s_p * p.v.scale * 127.0f);
      }
    }
  }
}

TEST_CASE("QAT hook on BERT attention: training fake-quantizes, evaluation is exact, ranges round-trip", "[compress][quant]") {
  testing::TinyBert spec;
  auto model = testing::tiny_bert(spec);
  const auto blocks = model->attention_blocks();
  REQUIRE(blocks == std::vector<std::string>{"bert.encoder.layer.0.attention.self", "bert.encoder.layer.1.attention.self"});
  auto hook = std::make_shared<QatHook>(*model, quantizable_layers(*model), blocks);
  CHECK(hook->attention_blocks() == blocks);
  model->set_linear_hook(hook);
  torch::manual_seed(4);
  const data::Batch batch{torch::randint(5, 40, {3, 8}, torch::kInt64), torch::ones({3, 8}, torch::kInt64),
                          torch::zeros({3}, torch::kInt64)};
  model->train();
  for (auto& m : model->modules()) {
    if (auto* d = m->as<torch::nn::Dropout>()) d->options.p(0.0);
  }
  const auto train_logits = model->logits(batch);
  hook->freeze_observers();
  model->eval();
  const auto eval_logits = model->logits(batch);
  // The same quantization, FP32 over dequantized values against exact integers: equal to rounding (a
  // probability on a step boundary may move by one step of 1/255).
  CHECK(torch::allclose(train_logits, eval_logits, 1e-3, 1e-3));
  // quantization.json holds each block's q, k (zero point 128) and v ranges and reads back into the same hook.
  const auto j = hook->to_json();
  const auto& entry = j.at(blocks[0]);
  CHECK(entry.at("k").at("zero_point").get<int>() == 128);
  CHECK(entry.at("v").at("zero_point").get<int>() == 128);
  CHECK(entry.at("q").at("lo").get<float>() < 0.0f);
  auto again = std::make_shared<QatHook>(*model, hook->layers(), blocks);
  again->load_json(j, "quantization.json");
  CHECK(again->to_json() == j);
  model->set_linear_hook(again);
  CHECK(torch::equal(model->logits(batch), eval_logits));
  auto broken = j;
  broken[blocks[1]].erase("v");
  CHECK_THROWS_WITH(again->load_json(broken, "q.json"),
                    "q.json: attention 'bert.encoder.layer.1.attention.self' needs \"v\"");
}

TEST_CASE("observers average min and max with momentum 0.01 until frozen", "[compress][quant]") {
  ActivationObserver o;
  o.observe(-1.0f, 2.0f);
  CHECK(o.lo() == -1.0f);
  CHECK(o.hi() == 2.0f);
  o.observe(-3.0f, 4.0f);
  CHECK(o.lo() == Approx(-1.02f));
  CHECK(o.hi() == Approx(2.02f));
  o.freeze();
  o.observe(-100.0f, 100.0f);
  CHECK(o.hi() == Approx(2.02f));
}

TEST_CASE("QAT hook: training fake-quantizes, evaluation is exact integer math, conv included", "[compress][quant]") {
  torch::manual_seed(10);
  models::Cnn model(models::CnnOptions{1, 8, 4, 6, 16, 3, 0.0});
  auto hook = std::make_shared<QatHook>(model, quantizable_layers(model));
  CHECK(hook->layers() == std::vector<std::string>{"conv1", "conv2", "fc1", "fc2"});
  model.set_linear_hook(hook);
  const data::Batch batch{torch::randn({2, 1, 8, 8}), {}, torch::zeros({2}, torch::kInt64)};
  model.train();
  const auto train_logits = model.logits(batch);
  hook->freeze_observers();
  model.eval();
  const auto eval_logits = model.logits(batch);
  // Same quantization, different arithmetic (FP32 over dequantized values vs exact integers):
  // equal to rounding, not bit for bit.
  CHECK(torch::allclose(train_logits, eval_logits, 1e-4, 1e-5));
  // Without the hook the model is plain FP32 and differs by the quantization error.
  model.set_linear_hook(nullptr);
  CHECK_FALSE(torch::equal(model.logits(batch), eval_logits));
  // conv1 sees the batch itself: one training step set its range to the batch's; its parameters are the
  // scheme's, worked out here from that range.
  const auto j = hook->to_json();
  CHECK(j.size() == 4u);
  const float lo = batch.inputs.min().item<float>(), hi = batch.inputs.max().item<float>();
  REQUIRE(lo < 0.0f);
  REQUIRE(hi > 0.0f);
  CHECK(j["conv1"]["lo"].get<float>() == lo);
  CHECK(j["conv1"]["hi"].get<float>() == hi);
  const float scale = (hi - lo) / 255.0f;
  CHECK(j["conv1"]["scale"].get<float>() == scale);
  CHECK(j["conv1"]["zero_point"].get<int>() == static_cast<int>(std::nearbyint(-lo / scale)));
}

TEST_CASE("distillation loss is T^2 KL(teacher || student)", "[compress][distill]") {
  const auto student = torch::tensor({{1.0f, 2.0f, 0.5f}});
  const auto teacher = torch::tensor({{0.2f, 3.0f, -1.0f}});
  const double T = 2.0;
  double kl = 0;
  double zs = 0, zt = 0;
  for (int i = 0; i < 3; ++i) {
    zs += std::exp(student[0][i].item<float>() / T);
    zt += std::exp(teacher[0][i].item<float>() / T);
  }
  for (int i = 0; i < 3; ++i) {
    const double pt = std::exp(teacher[0][i].item<float>() / T) / zt;
    const double ps = std::exp(student[0][i].item<float>() / T) / zs;
    kl += pt * std::log(pt / ps);
  }
  CHECK(DistillationModifier::kd_loss(student, teacher, T).item<double>() == Approx(T * T * kl).epsilon(1e-5));
  CHECK(DistillationModifier::kd_loss(teacher, teacher, T).item<double>() == Approx(0.0).margin(1e-7));
}

TEST_CASE("distillation loss of a causal LM's [B, T, V] logits: the KL over the vocabulary, averaged over positions",
          "[compress][distill]") {
  torch::manual_seed(2);
  const auto student = torch::randn({2, 3, 5}), teacher = torch::randn({2, 3, 5});
  const double T = 1.5;
  double sum = 0;
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t) {
      double zs = 0, zt = 0;
      for (int v = 0; v < 5; ++v) {
        zs += std::exp(student[b][t][v].item<float>() / T);
        zt += std::exp(teacher[b][t][v].item<float>() / T);
      }
      for (int v = 0; v < 5; ++v) {
        const double pt = std::exp(teacher[b][t][v].item<float>() / T) / zt;
        const double ps = std::exp(student[b][t][v].item<float>() / T) / zs;
        sum += pt * std::log(pt / ps);
      }
    }
  CHECK(DistillationModifier::kd_loss(student, teacher, T).item<double>() == Approx(T * T * sum / 6).epsilon(1e-5));
}
