// The per-epoch plan: GMP sparsity against the cubic formula, the LR
// functions, and when quantization and distillation are active.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/errors.h"
#include "recipe/recipe.h"
#include "recipe/schedule.h"

using namespace sparrow::recipe;

namespace {

// DESIGN.md's formula, written out independently of gmp_schedule.cpp.
double cubic(double t, double t0, double t1, double si, double sf) {
  if (t < t0) return si;
  if (t >= t1) return sf;
  return sf + (si - sf) * std::pow(1.0 - (t - t0) / (t1 - t0), 3.0);
}

const char* kBert = R"(
num_epochs: 10
modifiers:
  - !EpochRangeModifier {end_epoch: eval(num_epochs)}
  - !LearningRateFunctionModifier {start_epoch: 0, end_epoch: 2, lr_func: linear, init_lr: 0.0, final_lr: 0.0001}
  - !LearningRateFunctionModifier {start_epoch: 2, end_epoch: 10, lr_func: cosine, init_lr: 0.0001, final_lr: 0.00001}
  - !GMPruningModifier
    params: ["re:bert.encoder.layer.*.(query|key|value).weight"]
    init_sparsity: 0.05
    final_sparsity: 0.9
    start_epoch: 1
    end_epoch: 7
    update_frequency: 0.01
  - !QuantizationModifier {start_epoch: 8, disable_quantization_observer_epoch: 9}
  - !DistillationModifier {start_epoch: 0, end_epoch: 9, hardness: 1.0, temperature: 2.0}
teacher: self
)";

}  // namespace

TEST_CASE("schedule: GMP sparsity matches the cubic formula to 1e-6", "[recipe][schedule]") {
  const Recipe r = parse_recipe(kBert, "bert.yaml");
  const Schedule s = make_schedule(r, 0.25);
  CHECK(s.epochs == 10.0);
  REQUIRE(s.rows.size() == 41);
  REQUIRE(s.pruning.size() == 1);
  for (const auto& row : s.rows) {
    INFO("epoch " << row.epoch);
    if (row.epoch < 1.0) {
      CHECK_FALSE(row.sparsity[0].has_value());
    } else {
      REQUIRE(row.sparsity[0].has_value());
      CHECK(std::fabs(*row.sparsity[0] - cubic(row.epoch, 1, 7, 0.05, 0.9)) < 1e-6);
    }
  }
  // Spot values worked by hand: half way, 1 - 0.5^3 = 0.875 of the way.
  CHECK(std::fabs(*sparsity_at(r.modifiers[3].params, 4.0) - (0.05 + 0.85 * 0.875)) < 1e-12);
  CHECK(*sparsity_at(r.modifiers[3].params, 7.0) == 0.9);
  CHECK(*sparsity_at(r.modifiers[3].params, 9.5) == 0.9);  // leave_enabled keeps the mask
}

TEST_CASE("schedule: linear and inverse cubic curves", "[recipe][schedule]") {
  GMPruningParams p;
  p.start_epoch = 2;
  p.end_epoch = 6;
  p.init_sparsity = 0.0;
  p.final_sparsity = 0.8;
  p.inter_func = InterFunc::Linear;
  CHECK(*sparsity_at(p, 3.0) == Approx(0.2));
  p.inter_func = InterFunc::InverseCubic;
  CHECK(*sparsity_at(p, 3.0) == Approx(0.8 * (1.0 - std::cbrt(0.75))));
  p.leave_enabled = false;
  CHECK_FALSE(sparsity_at(p, 6.0).has_value());
  CHECK(*sparsity_at(p, 5.0) == Approx(0.8 * (1.0 - std::cbrt(0.25))));
}

TEST_CASE("schedule: learning-rate functions", "[recipe][schedule]") {
  const Recipe r = parse_recipe(kBert, "bert.yaml");
  CHECK(learning_rate_at(r, 0.0) == 0.0);
  CHECK(learning_rate_at(r, 1.0) == Approx(0.00005));
  CHECK(learning_rate_at(r, 2.0) == Approx(0.0001));  // the cosine starts
  CHECK(learning_rate_at(r, 6.0) == Approx(0.000055));  // cosine half way: the mean
  CHECK(learning_rate_at(r, 10.0) == Approx(0.00001));
}

TEST_CASE("schedule: cyclic_linear, StepLR, MultiStepLR, ExponentialLR, SetLearningRate", "[recipe][schedule]") {
  const Recipe r = parse_recipe(R"(
train: {lr: 0.5}
modifiers:
  - !LearningRateFunctionModifier {start_epoch: 1, end_epoch: 5, lr_func: cyclic_linear, cycle_epochs: 2, init_lr: 0.1, final_lr: 0.0}
  - !LearningRateModifier {start_epoch: 5, end_epoch: 9, lr_class: StepLR, lr_kwargs: {step_size: 2, gamma: 0.5}, init_lr: 0.08}
  - !LearningRateModifier {start_epoch: 9, end_epoch: 12, lr_class: MultiStepLR, lr_kwargs: {milestones: [10, 11], gamma: 0.1}, init_lr: 0.01}
  - !LearningRateModifier {start_epoch: 12, lr_class: ExponentialLR, lr_kwargs: {gamma: 0.5}, init_lr: 0.04}
  - !SetLearningRateModifier {start_epoch: 20, learning_rate: 0.003}
)",
                                "lr.yaml");
  CHECK(learning_rate_at(r, 0.5) == 0.5);  // train.lr before any modifier
  CHECK(learning_rate_at(r, 1.0) == Approx(0.1));
  CHECK(learning_rate_at(r, 2.0) == Approx(0.05));
  CHECK(learning_rate_at(r, 3.0) == Approx(0.1));  // the cycle restarts
  CHECK(learning_rate_at(r, 5.0) == Approx(0.08));
  CHECK(learning_rate_at(r, 7.5) == Approx(0.04));
  CHECK(learning_rate_at(r, 9.5) == Approx(0.01));
  CHECK(learning_rate_at(r, 10.0) == Approx(0.001));
  CHECK(learning_rate_at(r, 11.5) == Approx(0.0001));
  CHECK(learning_rate_at(r, 14.0) == Approx(0.01));
  CHECK(learning_rate_at(r, 20.0) == Approx(0.003));
}

TEST_CASE("schedule: quantization and distillation windows", "[recipe][schedule]") {
  const Recipe r = parse_recipe(kBert, "bert.yaml");
  CHECK(quantization_at(r, 7.9) == QatState::Off);
  CHECK(quantization_at(r, 8.0) == QatState::Training);
  CHECK(quantization_at(r, 9.0) == QatState::ObserversFrozen);
  CHECK(distillation_at(r, 0.0));
  CHECK(distillation_at(r, 8.99));
  CHECK_FALSE(distillation_at(r, 9.0));  // end_epoch is exclusive
}

TEST_CASE("schedule: constant pruning keeps zeros without a target", "[recipe][schedule]") {
  const Recipe r = parse_recipe(R"(modifiers:
  - !GMPruningModifier {params: [w], final_sparsity: 0.5, start_epoch: 0, end_epoch: 2, leave_enabled: false}
  - !ConstantPruningModifier {params: [w], start_epoch: 2, end_epoch: 3}
  - !EpochRangeModifier {end_epoch: 4}
)",
                                "c.yaml");
  const auto j = schedule_json(make_schedule(r));
  CHECK(j["rows"][1]["sparsity"][0] == 0.5 * (1.0 - 0.125));
  CHECK(j["rows"][2]["sparsity"][0].is_null());  // leave_enabled: false drops the mask at end_epoch
  CHECK(j["rows"][2]["sparsity"][1] == "keep");
  CHECK(j["rows"][3]["sparsity"][1].is_null());
}

TEST_CASE("schedule: rows, JSON and text", "[recipe][schedule]") {
  const Recipe r = parse_recipe("train: {epochs: 2.5}\n", "short.yaml");
  const Schedule s = make_schedule(r);
  REQUIRE(s.rows.size() == 4);  // 0, 1, 2 and the end, 2.5
  CHECK(s.rows.back().epoch == 2.5);
  const auto j = schedule_json(make_schedule(parse_recipe(kBert, "bert.yaml")));
  CHECK(j["pruning"][0]["tag"] == "GMPruningModifier");
  CHECK(j["rows"][8]["quantization"] == "on");
  CHECK(j["rows"][0]["sparsity"][0].is_null());
  CHECK(j["rows"][0]["distillation"] == true);
  const std::string text = schedule_text(make_schedule(parse_recipe(kBert, "bert.yaml")));
  CHECK(text.find("[1] !GMPruningModifier at bert.yaml:7:5:") != std::string::npos);
  CHECK(text.find("0.900000") != std::string::npos);
}

TEST_CASE("schedule: structured pruning shows what is removed when (golden text and JSON)", "[recipe][schedule]") {
  const Recipe r = parse_recipe(R"(modifiers:
  - !EpochRangeModifier {end_epoch: 3}
  - !GMPruningModifier {params: [w], final_sparsity: 0.5, start_epoch: 0, end_epoch: 2}
  - !HeadPruningModifier {final_sparsity: 0.5, start_epoch: 0, end_epoch: 2, update_frequency: 0.5}
  - !NeuronPruningModifier {final_sparsity: 0.25, start_epoch: 1, modules: ["re:.*layer.0.*"], score: first_order, inter_func: linear}
  - !ChannelPruningModifier {init_sparsity: 0.1, final_sparsity: 0.4, start_epoch: 0.5, end_epoch: 1.5}
  - !LayerPruningModifier {layers: [bert.encoder.layer.1], start_epoch: 1}
)",
                                "s.yaml");
  const Schedule s = make_schedule(r, 0.5);
  CHECK(schedule_text(s) == R"(Plan over 3 epochs. Pruning modifiers:
  [1] !GMPruningModifier at s.yaml:3:5: w
Structured pruning modifiers (cells: fraction of each group's units removed):
  [2] !HeadPruningModifier at s.yaml:4:5: removes 0.5 of the heads of every group, lowest magnitude first
  [3] !NeuronPruningModifier at s.yaml:5:5: removes 0.25 of the neurons of re:.*layer.0.*, lowest first-order importance first
  [4] !ChannelPruningModifier at s.yaml:6:5: removes 0.4 of the channels of every group, lowest magnitude first
  [5] !LayerPruningModifier at s.yaml:7:5: removes bert.encoder.layer.1

   epoch            lr         [1]         [2]         [3]         [4]         [5]  quantization  distillation
   0.000          0.01    0.000000    0.000000           -           -           -           off           off
   0.500          0.01    0.289062    0.289062           -    0.100000           -           off           off
   1.000          0.01    0.437500    0.437500    0.000000    0.100000     removed           off           off
   1.500          0.01    0.492188    0.492188    0.000000    0.400000     removed           off           off
   2.000          0.01    0.500000    0.500000    0.000000    0.400000     removed           off           off
   2.500          0.01    0.500000    0.500000    0.000000    0.400000     removed           off           off
   3.000          0.01    0.500000    0.500000    0.250000    0.400000     removed           off           off
)");
  const auto j = schedule_json(s);
  CHECK(j["structured"][0] == nlohmann::json::parse(R"({"tag": "HeadPruningModifier", "location": "s.yaml:4:5",
      "structure": "heads", "modules": [], "final_sparsity": 0.5, "score": "magnitude"})"));
  CHECK(j["structured"][3] == nlohmann::json::parse(R"({"tag": "LayerPruningModifier", "location": "s.yaml:7:5",
      "structure": "layers", "layers": ["bert.encoder.layer.1"]})"));
  CHECK(j["rows"][0]["removed"] == nlohmann::json::parse("[0.0, null, null, null]"));
  CHECK(j["rows"][2]["removed"] == nlohmann::json::parse(R"([0.4375, 0.0, 0.1, ["bert.encoder.layer.1"]])"));
  CHECK(j["rows"][6]["removed"][1] == 0.25);  // an open end: the final fraction when training ends
}

TEST_CASE("schedule: a plan has at most 100001 rows, refused before any is made", "[recipe][schedule][limits]") {
  const Recipe r = parse_recipe("train: {epochs: 100000}\n", "r.yaml");
  CHECK(make_schedule(r, 1.0).rows.size() == 100001u);
  try {
    make_schedule(r, 0.5);
    FAIL("no error");
  } catch (const sparrow::BadInput& e) {
    CHECK(std::string(e.what()) ==
          "a plan over 100000 epochs with a row every 0.5 epochs would have more than the 100001 rows a plan may have; "
          "use a step of at least 1");
  }
  CHECK_THROWS_AS(make_schedule(r, 1e-300), sparrow::BadInput);
}
