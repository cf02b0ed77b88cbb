#include <catch2/catch.hpp>

#include <cmath>

#include "compress/masks/magnitude_mask.h"
#include "compress/modifiers/gm_pruning_modifier.h"
#include "compress/param_selection.h"
#include "core/errors.h"
#include "models/mlp.h"
#include "recipe/gmp_schedule.h"

using namespace sparrow;
using namespace sparrow::compress;

namespace {

recipe::GMPruningParams gmp(double init, double final_s, double start, double end, double freq) {
  recipe::GMPruningParams p;
  p.init_sparsity = init;
  p.final_sparsity = final_s;
  p.start_epoch = start;
  p.end_epoch = end;
  p.update_frequency = freq;
  p.params = {"fc1.weight", "fc2.weight"};
  return p;
}

}  // namespace

TEST_CASE("GMP schedule follows the cubic formula at fractional epochs", "[compress][schedule]") {
  const auto p = gmp(0.05, 0.9, 2.0, 6.0, 0.25);
  CHECK(recipe::target_sparsity(p, 0.0) == 0.05);
  CHECK(recipe::target_sparsity(p, 2.0) == Approx(0.05).margin(1e-12));
  for (double e : {2.25, 3.0, 3.7, 4.5, 5.99}) {
    const double t = (e - 2.0) / 4.0;
    const double expected = 0.9 + (0.05 - 0.9) * std::pow(1 - t, 3);
    CHECK(recipe::target_sparsity(p, e) == Approx(expected).margin(1e-12));
  }
  CHECK(recipe::target_sparsity(p, 6.0) == 0.9);
  CHECK(recipe::target_sparsity(p, 10.0) == 0.9);
}

TEST_CASE("GMP linear and inverse cubic interpolations", "[compress][schedule]") {
  auto p = gmp(0.0, 0.8, 0.0, 4.0, 1.0);
  p.inter_func = recipe::InterFunc::Linear;
  CHECK(recipe::target_sparsity(p, 1.0) == Approx(0.2).margin(1e-12));
  p.inter_func = recipe::InterFunc::InverseCubic;
  CHECK(recipe::target_sparsity(p, 1.0) == Approx(0.8 * (1 - std::cbrt(0.75))).margin(1e-12));
}

TEST_CASE("magnitude masks remove exactly round(s*n) of the smallest weights", "[compress][mask]") {
  torch::manual_seed(1);
  const auto w = torch::randn({37, 29});
  for (double s : {0.0, 0.1, 0.5, 0.9, 0.95}) {
    const auto mask = magnitude_mask(w, s);
    const auto zeros = (mask == 0).sum().item<int64_t>();
    CHECK(zeros == std::llround(s * 37 * 29));
    if (zeros > 0 && zeros < w.numel()) {
      const float largest_removed = (w.abs() * (1 - mask)).max().item<float>();
      const float smallest_kept = (w.abs() + (1 - mask) * 1e9).min().item<float>();
      CHECK(largest_removed <= smallest_kept);
    }
  }
}

TEST_CASE("pruned weights stay zero across SGD steps with momentum and weight decay", "[compress][mask]") {
  torch::manual_seed(2);
  models::Mlp model(models::MlpOptions{20, {16}, 3, 0.0});
  torch::optim::SGD opt(model.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(0.01));
  TrainState state(model, opt, 10);
  GMPruningModifier pruning(gmp(0.3, 0.8, 0.0, 1.0, 0.1), "test");
  pruning.initialize(state);

  const auto x = torch::randn({32, 20});
  const auto y = torch::randint(0, 3, {32}, torch::kInt64);
  for (int step = 0; step < 25; ++step) {
    state.epoch = step / 10.0;
    pruning.on_event(state, {EventType::BatchStart, state.epoch});
    opt.zero_grad();
    state.loss = torch::nn::functional::cross_entropy(model.forward({x, {}, y}), y);
    state.loss.backward();
    pruning.on_event(state, {EventType::OptimizerPreStep, state.epoch});
    opt.step();
    pruning.on_event(state, {EventType::BatchEnd, state.epoch});
    for (const auto& [name, mask] : pruning.masks()) {
      const auto w = parameter(model, name);
      // Every masked position is exactly zero after the step.
      CHECK((w * (1 - mask)).abs().max().item<float>() == 0.0f);
    }
  }
  state.epoch = 2.5;
  pruning.finalize(state);
  for (const auto& name : {"fc1.weight", "fc2.weight"})
    CHECK(zero_fraction(parameter(model, name)) == Approx(0.8).margin(0.5 / parameter(model, name).numel() + 1e-9));
}

TEST_CASE("GMP updates only at its update frequency", "[compress][schedule]") {
  models::Mlp model(models::MlpOptions{10, {8}, 2, 0.0});
  torch::optim::SGD opt(model.parameters(), torch::optim::SGDOptions(0.1));
  TrainState state(model, opt, 8);
  GMPruningModifier pruning(gmp(0.1, 0.9, 1.0, 3.0, 0.5), "test");
  pruning.initialize(state);
  std::vector<double> applied;
  for (int step = 0; step < 40; ++step) {
    state.epoch = step / 8.0;
    const double before = pruning.applied_sparsity();
    pruning.on_event(state, {EventType::BatchStart, state.epoch});
    if (pruning.applied_sparsity() != before) applied.push_back(state.epoch);
  }
  CHECK(applied == std::vector<double>{1.0, 1.5, 2.0, 2.5, 3.0});
  CHECK(pruning.applied_sparsity() == 0.9);
}

TEST_CASE("modifier lifecycle misuse is an error", "[compress][lifecycle]") {
  models::Mlp model(models::MlpOptions{10, {8}, 2, 0.0});
  torch::optim::SGD opt(model.parameters(), torch::optim::SGDOptions(0.1));
  TrainState state(model, opt, 8);
  GMPruningModifier pruning(gmp(0.1, 0.9, 1.0, 3.0, 0.5), "test");
  CHECK_THROWS_AS(pruning.on_event(state, {EventType::BatchStart, 0.0}), LifecycleError);
  pruning.initialize(state);
  CHECK_THROWS_AS(pruning.initialize(state), LifecycleError);
  pruning.finalize(state);
  CHECK_THROWS_WITH(pruning.on_event(state, {EventType::BatchStart, 0.0}), Catch::Contains("finalized"));
}

TEST_CASE("params selection by name, regex and keywords", "[compress][params]") {
  models::Mlp model(models::MlpOptions{10, {8, 6}, 2, 0.0});
  CHECK(select_parameters(model, {"re:fc[12]\\.weight"}, "r") == std::vector<std::string>{"fc1.weight", "fc2.weight"});
  CHECK(select_parameters(model, {"__ALL_PRUNABLE__"}, "r").size() == 3u);
  CHECK(select_parameters(model, {"__ALL__"}, "r").size() == 6u);
  CHECK_THROWS_WITH(select_parameters(model, {"fc9.weight"}, "recipe.yaml:4:5"),
                    Catch::Contains("recipe.yaml:4:5") && Catch::Contains("fc9.weight") &&
                        Catch::Contains("fc1.weight fc2.weight fc3.weight"));
  CHECK_THROWS_AS(select_parameters(model, {"re:fc[1"}, "r"), BadInput);
}
