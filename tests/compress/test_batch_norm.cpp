// Conv + BatchNorm: the folded conv against conv -> BN in evaluation mode, the
// BN CNN's checkpoint round trip, and quantization-aware training of it:
// batch statistics until freeze_bn_stats_epoch, frozen running statistics
// afterwards, and a frozen training forward that agrees with the exact
// (engine) evaluation.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "compress/modifiers/quantization_modifier.h"
#include "compress/quant/qat_hook.h"
#include "models/checkpoint.h"
#include "models/cnn.h"
#include "models/conv_bn.h"
#include "support/small_models.h"

using namespace sparrow;
using namespace sparrow::compress;

namespace {

std::shared_ptr<models::Cnn> bn_cnn() {
  testing::SmallCnn s;
  s.options.batch_norm = true;
  auto m = testing::small_cnn(s);
  testing::randomize_batch_norms(*m);
  return m;
}

data::Batch images(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({n, 1, 8, 8}), {}, torch::zeros({n}, torch::kInt64)};
}

torch::Tensor bn_parameter(models::Cnn& m, const std::string& name) {
  for (const auto& b : m.named_buffers())
    if (b.key() == name) return b.value().clone();
  FAIL("no buffer " << name);
  return {};
}

}  // namespace

TEST_CASE("batch norm: the folded conv equals conv -> BN in evaluation mode within 1e-5", "[compress][bn]") {
  auto m = bn_cnn();
  m->eval();
  auto modules = m->named_modules("", false);
  auto& conv = *modules["conv2"]->as<torch::nn::Conv2d>();
  auto& bn = *modules["bn2"]->as<torch::nn::BatchNorm2d>();
  torch::NoGradGuard g;
  const auto x = torch::randn({3, 4, 6, 6});
  const auto folded = models::fold_batch_norm(conv, bn);
  const auto y = torch::nn::functional::conv2d(x, folded.weight, torch::nn::functional::Conv2dFuncOptions().padding(1).bias(folded.bias));
  const auto expected = bn.forward(conv.forward(x));
  CHECK((y - expected).abs().max().item<float>() < 1e-5f);
  // The BN CNN really is conv -> BN -> ReLU: without the BatchNorm the logits differ.
  const auto batch = images(4, 1);
  const auto logits = m->logits(batch);
  CHECK(logits.sizes() == torch::IntArrayRef({4, 3}));
  CHECK(m->config()["batch_norm"] == true);
}

TEST_CASE("batch norm: a BN CNN's checkpoint keeps its running statistics", "[compress][bn]") {
  auto m = bn_cnn();
  m->eval();
  const auto dir = std::filesystem::temp_directory_path() / ("sparrow_bn_ckpt_" + std::to_string(::getpid()));
  models::save_checkpoint(dir, *m);
  auto back = models::load_checkpoint(dir);
  back->eval();
  const auto batch = images(5, 2);
  torch::NoGradGuard g;
  CHECK(torch::equal(back->logits(batch), m->logits(batch)));
  std::filesystem::remove_all(dir);
}

TEST_CASE("batch norm: QAT uses batch statistics until freeze_bn_stats_epoch, then frozen running ones", "[compress][bn][quant]") {
  auto m = bn_cnn();
  recipe::QuantizationParams p;
  p.start_epoch = 0.0;
  p.freeze_bn_stats_epoch = 1.0;
  p.disable_quantization_observer_epoch = 1.0;
  QuantizationModifier modifier(p, "r.yaml:1:1");
  torch::optim::SGD optimizer(m->parameters(), torch::optim::SGDOptions(0.0));
  TrainState state{*m, optimizer, 4};
  modifier.initialize(state);
  m->train();
  const auto step = [&](double epoch, uint64_t seed) {
    modifier.on_event(state, Event{EventType::BatchStart, epoch});
    return m->logits(images(8, seed));
  };

  const auto mean0 = bn_parameter(*m, "bn1.running_mean");
  step(0.0, 3);
  const auto mean1 = bn_parameter(*m, "bn1.running_mean");
  CHECK_FALSE(torch::equal(mean0, mean1));  // batch statistics update the running ones
  step(0.5, 4);
  const auto mean2 = bn_parameter(*m, "bn1.running_mean");
  const auto var2 = bn_parameter(*m, "bn2.running_var");
  CHECK_FALSE(torch::equal(mean1, mean2));

  // From freeze_bn_stats_epoch on, the running statistics stay as they are.
  const auto frozen_train = step(1.0, 5);
  step(1.25, 6);
  CHECK(torch::equal(bn_parameter(*m, "bn1.running_mean"), mean2));
  CHECK(torch::equal(bn_parameter(*m, "bn2.running_var"), var2));

  // The frozen training forward (fake quantization of the folded weights) is the exact evaluation, up to
  // FP32 rounding of the fake-quantized sums.
  const auto batch = images(8, 5);
  const auto train_logits = m->logits(batch);
  CHECK(torch::allclose(train_logits, frozen_train));
  m->eval();
  torch::NoGradGuard g;
  const auto eval_logits = m->logits(batch);
  CHECK(torch::allclose(train_logits, eval_logits, 1e-4, 1e-5));
  // Without the hook the model is FP32 conv -> BN: it differs by the quantization error.
  m->set_linear_hook(nullptr);
  CHECK_FALSE(torch::allclose(m->logits(batch), eval_logits, 1e-6, 1e-7));
}

TEST_CASE("batch norm: before the freeze, gradients reach gamma and beta through the folded conv", "[compress][bn][quant]") {
  auto m = bn_cnn();
  m->train();
  auto hook = std::make_shared<QatHook>(*m, std::vector<std::string>{"conv1", "conv2", "fc1"});
  m->set_linear_hook(hook);
  const auto batch = images(6, 7);
  m->logits(batch).pow(2).sum().backward();
  const auto params = m->named_parameters();
  for (const char* name : {"bn1.weight", "bn1.bias", "bn2.weight", "conv1.weight", "conv2.weight"}) {
    INFO(name);
    CHECK(params[name].grad().defined());
    CHECK(params[name].grad().abs().sum().item<double>() > 0);
  }
}
