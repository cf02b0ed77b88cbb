// `compress analyze --write-recipe`: the per-layer allocation against an exhaustive search on hand-made
// analyses, and the written recipe parsed back.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <variant>

#include "core/errors.h"
#include "pipeline/recipe_from_analysis.h"
#include "pipeline/sparsity_allocation.h"
#include "recipe/recipe.h"

namespace fs = std::filesystem;
using nlohmann::json;
using sparrow::pipeline::AllocationTarget;

namespace {

// Three layers: A [100, 10] and C [100, 10] share a shape, B is [100, 30]. Losses are absolute (dense 1.0);
// times are per layer's GEMM, the same for a shape.
json hand_analysis() {
  json a = {{"dense", {{"loss", 1.0}, {"accuracy", 0.9}}},
            {"layers", {{{"name", "A"}, {"shape", {100, 10}}}, {{"name", "B"}, {"shape", {100, 30}}}, {{"name", "C"}, {"shape", {100, 10}}}}},
            {"sensitivity", json::array()},
            {"timing", json::array()}};
  const std::map<std::string, std::pair<double, double>> loss = {{"A", {1.01, 1.05}}, {"B", {1.02, 1.40}}, {"C", {1.30, 1.90}}};
  for (const auto& [layer, l] : loss) {
    a["sensitivity"].push_back({{"layer", layer}, {"mask", "block4"}, {"sparsity", 0.5}, {"loss", l.first}, {"accuracy", 0.0}});
    a["sensitivity"].push_back({{"layer", layer}, {"mask", "block4"}, {"sparsity", 0.9}, {"loss", l.second}, {"accuracy", 0.0}});
  }
  const auto timing = [&](int n, int k, double fp32, double int8, double s5, double s9) {
    for (const auto& [s, t] : {std::pair{0.5, s5}, std::pair{0.9, s9}})
      a["timing"].push_back({{"n", n}, {"k", k}, {"mask", "block4"}, {"sparsity", s}, {"sparse_int8_s", t},
                             {"dense_int8_s", int8}, {"dense_fp32_s", fp32}});
  };
  timing(100, 10, 10, 5, 4, 2);
  timing(100, 30, 30, 12, 8, 3);
  return a;
}

// The least predicted loss over every choice of {dense, 0.5, 0.9} per layer that meets the target, by trying
// them all, written from the hand analysis's numbers.
std::vector<double> exhaustive(const AllocationTarget& target) {
  const double params[3] = {1000, 3000, 1000}, fp32 = 50;
  const double loss[3][3] = {{0, 0.01, 0.05}, {0, 0.02, 0.40}, {0, 0.30, 0.90}};
  const double time[3][3] = {{5, 4, 2}, {12, 8, 3}, {5, 4, 2}};
  const double level[3] = {0, 0.5, 0.9};
  double best = std::numeric_limits<double>::infinity();
  std::vector<double> choice;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 3; ++c) {
        const int at[3] = {a, b, c};
        double pruned = 0, t = 0, l = 0;
        for (int i = 0; i < 3; ++i) {
          pruned += params[i] * level[at[i]];
          t += time[i][at[i]];
          l += loss[i][at[i]];
        }
        const bool met = target.kind == AllocationTarget::Kind::sparsity ? pruned / 5000 >= target.value : fp32 / t >= target.value;
        if (met && l < best) {
          best = l;
          choice = {level[a], level[b], level[c]};
        }
      }
  return choice;
}

std::vector<double> chosen(const sparrow::pipeline::Allocation& a) {
  std::vector<double> s;
  for (const auto& l : a.layers) s.push_back(l.sparsity);
  return s;
}

}  // namespace

TEST_CASE("write-recipe allocation: the least predicted loss that meets the target, as an exhaustive search finds",
          "[analyze][write-recipe]") {
  const json analysis = hand_analysis();
  for (const AllocationTarget target : {AllocationTarget{AllocationTarget::Kind::sparsity, 0.7},
                                        AllocationTarget{AllocationTarget::Kind::sparsity, 0.5},
                                        AllocationTarget{AllocationTarget::Kind::speedup, 4.0},
                                        AllocationTarget{AllocationTarget::Kind::speedup, 3.0}}) {
    INFO("target " << (target.kind == AllocationTarget::Kind::sparsity ? "sparsity " : "speed-up ") << target.value);
    const auto a = sparrow::pipeline::allocate_sparsities(analysis, "block4", {}, target);
    CHECK(chosen(a) == exhaustive(target));
  }
  // Worked by hand: sparsity 0.7 (3 500 of 5 000 weights) is met by A and B at 0.9 (3 600, loss 1.45); any
  // choice with C pruned, or B not at 0.9, costs more or falls short.
  const auto a = sparrow::pipeline::allocate_sparsities(analysis, "block4", {}, {AllocationTarget::Kind::sparsity, 0.7});
  CHECK(a.sparsity == Approx(0.72));
  CHECK(a.predicted_loss == Approx(1.45));
  CHECK(a.predicted_speedup == Approx(50.0 / 10.0));
  // A speed-up of 4 needs 12.5 s or less: A 0.5, B 0.9 (12 s, 4.17x, loss 1.41) beats A 0.9, B 0.9 (10 s, loss 1.45).
  const auto s = sparrow::pipeline::allocate_sparsities(analysis, "block4", {}, {AllocationTarget::Kind::speedup, 4.0});
  CHECK(chosen(s) == std::vector<double>{0.5, 0.9, 0.0});
  CHECK(s.predicted_loss == Approx(1.41));
  CHECK(s.predicted_speedup == Approx(50.0 / 12.0));
  // Only the layers the base recipe prunes are allocated.
  const auto only_ab = sparrow::pipeline::allocate_sparsities(analysis, "block4", {"A", "B"}, {AllocationTarget::Kind::sparsity, 0.6});
  REQUIRE(only_ab.layers.size() == 2);
  CHECK(only_ab.layers[1].layer == "B");
}

TEST_CASE("write-recipe allocation: a speed-up of the whole model, its other ops' time kept", "[analyze][write-recipe]") {
  json analysis = hand_analysis();
  // LibTorch FP32 100 s. The engine: dense 34 s (linear ops 26 s), every layer at 0.9 19 s (linear 11 s). The
  // kernels sum to 22 s dense and 7 s at 0.9 (A 2, B 3, C 2), so the linear time is 4 + 1 x the kernels' (26 =
  // 4 + 22, 11 = 4 + 7), and 8 s are outside the linear ops: the engine takes 12 s + the kernels' sum.
  analysis["model_timing"] = {{"fp32_s", 100.0},
                              {"dense", {{"total_s", 34.0}, {"linear_s", 26.0}}},
                              {"pruned", {{"total_s", 19.0}, {"linear_s", 11.0}, {"mask", "block4"}, {"sparsity", 0.9}}}};
  // 4x needs 25 s: the kernels at 13 s or less, 9 s below dense. B at 0.9 alone (loss +0.40) is the cheapest:
  // A 0.9 and B 0.5 save 7 s, adding C costs at least +0.30 more, A 0.5 and B 0.9 +0.41.
  const auto a = sparrow::pipeline::allocate_sparsities(analysis, "block4", {}, {AllocationTarget::Kind::speedup, 4.0});
  CHECK(a.whole_model);
  CHECK(chosen(a) == std::vector<double>{0.0, 0.9, 0.0});
  CHECK(a.predicted_speedup == Approx(4.0));
  CHECK(a.predicted_loss == Approx(1.40));
  // Allocating A and B only, C counts at its dense INT8 time: the same choice.
  const auto ab = sparrow::pipeline::allocate_sparsities(analysis, "block4", {"A", "B"}, {AllocationTarget::Kind::speedup, 4.0});
  CHECK(chosen(ab) == std::vector<double>{0.0, 0.9});
  CHECK(ab.predicted_speedup == Approx(4.0));
  // At best 100 / (12 + 2 + 3 + 2) = 5.263x.
  CHECK_THROWS_WITH(sparrow::pipeline::allocate_sparsities(analysis, "block4", {}, {AllocationTarget::Kind::speedup, 6.0}),
                    Catch::Contains("reaches 5.263x over LibTorch FP32 for the whole model"));
  // The whole model was timed pruned with block4: an allocation for another mask cannot use it.
  json other_mask = analysis;
  other_mask["model_timing"]["pruned"]["mask"] = "[4,4]";
  CHECK_THROWS_WITH(sparrow::pipeline::allocate_sparsities(other_mask, "block4", {}, {AllocationTarget::Kind::speedup, 4.0}),
                    Catch::Contains("timed the whole model pruned with [4,4], not block4"));
  // A sparsity target reports the whole model's speed-up of its choice: A and B at 0.9.
  const auto by_sparsity = sparrow::pipeline::allocate_sparsities(analysis, "block4", {}, {AllocationTarget::Kind::sparsity, 0.7});
  CHECK(by_sparsity.predicted_speedup == Approx(100.0 / (12 + 2 + 3 + 5)));
}

TEST_CASE("write-recipe allocation: random analyses, against trying every choice", "[analyze][write-recipe]") {
  const std::vector<double> sparsities = {0.5, 0.7, 0.9, 0.95};
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int round = 0; round < 40; ++round) {
    const std::size_t layers = 2 + round % 3;
    json a = {{"dense", {{"loss", 0.5}}}, {"layers", json::array()}, {"sensitivity", json::array()}, {"timing", json::array()}};
    std::vector<std::vector<double>> loss(layers), time(layers);
    std::vector<double> params(layers), fp32(layers);
    for (std::size_t i = 0; i < layers; ++i) {
      // Each layer its own shape (k = 1000 + i keeps shapes apart); losses mostly rising with sparsity, not convexly.
      const int n = 16 * (1 + static_cast<int>(unit(rng) * 8)), k = 1000 + static_cast<int>(i);
      const std::string name = "L" + std::to_string(i);
      a["layers"].push_back({{"name", name}, {"shape", {n, k}}});
      params[i] = static_cast<double>(n) * k;
      loss[i] = {0.0};
      time[i] = {1.0 + unit(rng)};
      fp32[i] = time[i][0] * (2 + unit(rng));
      for (const double s : sparsities) {
        loss[i].push_back(loss[i].back() + unit(rng) * unit(rng) - 0.05);
        time[i].push_back(time[i][0] * (1 - s) + 0.05 * unit(rng));
        a["sensitivity"].push_back({{"layer", name}, {"mask", "block4"}, {"sparsity", s}, {"loss", 0.5 + loss[i].back()}});
        a["timing"].push_back({{"n", n}, {"k", k}, {"mask", "block4"}, {"sparsity", s}, {"sparse_int8_s", time[i].back()},
                               {"dense_int8_s", time[i][0]}, {"dense_fp32_s", fp32[i]}});
      }
    }
    const bool by_sparsity = round % 2 == 0;
    const AllocationTarget target{by_sparsity ? AllocationTarget::Kind::sparsity : AllocationTarget::Kind::speedup,
                                  by_sparsity ? 0.3 + 0.6 * unit(rng) : 1.5 + 3 * unit(rng)};
    // Every choice of level per layer.
    double best = std::numeric_limits<double>::infinity();
    std::vector<std::size_t> at(layers, 0);
    for (;;) {
      double pruned = 0, total = 0, t = 0, f = 0, l = 0;
      for (std::size_t i = 0; i < layers; ++i) {
        pruned += params[i] * (at[i] == 0 ? 0.0 : sparsities[at[i] - 1]);
        total += params[i];
        t += time[i][at[i]];
        f += fp32[i];
        l += loss[i][at[i]];
      }
      const bool met = by_sparsity ? pruned / total >= target.value : f / t >= target.value;
      if (met) best = std::min(best, l);
      std::size_t i = 0;
      while (i < layers && ++at[i] == sparsities.size() + 1) at[i++] = 0;
      if (i == layers) break;
    }
    INFO("round " << round << (by_sparsity ? " sparsity " : " speed-up ") << target.value);
    if (best == std::numeric_limits<double>::infinity()) {
      CHECK_THROWS_AS(sparrow::pipeline::allocate_sparsities(a, "block4", {}, target), sparrow::BadInput);
      continue;
    }
    const auto chosen = sparrow::pipeline::allocate_sparsities(a, "block4", {}, target);
    CHECK(chosen.predicted_loss == Approx(0.5 + best).margin(1e-12));
    if (by_sparsity) CHECK(chosen.sparsity >= target.value);
    else CHECK(chosen.predicted_speedup >= target.value);
  }
}

TEST_CASE("write-recipe allocation: targets out of reach and missing measurements are BadInput", "[analyze][write-recipe]") {
  const json analysis = hand_analysis();
  CHECK_THROWS_WITH(sparrow::pipeline::allocate_sparsities(analysis, "block4", {}, {AllocationTarget::Kind::speedup, 30}),
                    Catch::Contains("--target-speedup 30 cannot be met") && Catch::Contains("reaches 7.143x over dense FP32"));
  CHECK_THROWS_WITH(sparrow::pipeline::allocate_sparsities(analysis, "block4", {}, {AllocationTarget::Kind::sparsity, 0.95}),
                    Catch::Contains("--target-sparsity 0.95 cannot be met") && Catch::Contains("reaches 0.9 average sparsity"));
  CHECK_THROWS_AS(sparrow::pipeline::allocate_sparsities(analysis, "[4,4]", {}, {AllocationTarget::Kind::sparsity, 0.5}),
                  sparrow::BadInput);
  CHECK_THROWS_WITH(sparrow::pipeline::allocate_sparsities(analysis, "block4", {"D"}, {AllocationTarget::Kind::sparsity, 0.5}),
                    Catch::Contains("the analysis has no layer 'D'"));
}

TEST_CASE("write-recipe: the base recipe with one pruning modifier per chosen sparsity, parsed back", "[analyze][write-recipe]") {
  const fs::path dir = fs::temp_directory_path() / "sparrow_written_recipe";
  fs::remove_all(dir);
  fs::create_directories(dir / "base");
  fs::create_directories(dir / "out");
  const std::string base_text = R"(model:
  name: bert
  from: teacher.yaml
data:
  dataset: spam_assassin
train:
  epochs: 3
  lr: 0.0003
training_modifiers:
  - !EpochRangeModifier
    start_epoch: 0.0
    end_epoch: 3.0
pruning_modifiers:
  - !GMPruningModifier
    params: [__ALL_PRUNABLE__]
    init_sparsity: 0.05
    final_sparsity: 0.9
    start_epoch: 0.0
    end_epoch: 2.0
    update_frequency: 0.125
    mask_type: block4
quantization_modifiers:
  - !QuantizationModifier
    start_epoch: 2.0
)";
  std::ofstream(dir / "base" / "r.yaml") << base_text;
  const sparrow::recipe::Recipe base = sparrow::recipe::load_recipe(dir / "base" / "r.yaml");
  const std::size_t index = sparrow::pipeline::rewritable_pruning_modifier(base, "--recipe", {"block4"});
  CHECK(index == 1);
  CHECK(sparrow::pipeline::selected_layers(base, index, {"A", "B", "C"}) == std::vector<std::string>{"A", "B", "C"});

  sparrow::pipeline::Allocation a;
  a.mask = "block4";
  a.target = {AllocationTarget::Kind::sparsity, 0.7};
  a.layers = {{"A", 1000, 0.5, 0.01, 4, 10}, {"B", 3000, 0.9, 0.4, 3, 30}, {"C", 1000, 0.0, 0.0, 5, 10}, {"D", 1000, 0.9, 0.1, 2, 10}};
  const fs::path out = dir / "out" / "w.yaml";
  const std::string text = sparrow::pipeline::recipe_from_allocation(base, index, a, out, "a hand-made allocation");
  CHECK(text.rfind("# Written by compress analyze --write-recipe", 0) == 0);
  CHECK(text.find("#   C: dense, +0.0000") != std::string::npos);

  const sparrow::recipe::Recipe written = sparrow::recipe::parse_recipe(text, out.string());
  REQUIRE(written.modifiers.size() == 4);  // epoch range, 0.9 {B, D}, 0.5 {A}, quantization
  CHECK(written.modifiers[0].tag == "EpochRangeModifier");
  CHECK(written.modifiers[3].tag == "QuantizationModifier");
  const auto& p9 = std::get<sparrow::recipe::GMPruningParams>(written.modifiers[1].params);
  const auto& p5 = std::get<sparrow::recipe::GMPruningParams>(written.modifiers[2].params);
  CHECK(p9.final_sparsity == 0.9);
  CHECK(p9.params == std::vector<std::string>{"B", "D"});
  CHECK(p5.final_sparsity == 0.5);
  CHECK(p5.params == std::vector<std::string>{"A"});
  for (const auto* p : {&p9, &p5}) {
    CHECK(p->init_sparsity == 0.05);
    CHECK(p->end_epoch == 2.0);
    CHECK(p->update_frequency == 0.125);
    CHECK(p->mask.name() == "block4");
  }
  // model.from was relative to base/; it is now relative to out/.
  CHECK(written.model.options["from"] == "../base/teacher.yaml");
  CHECK(written.train.epochs == 3);
  CHECK(written.train.lr == 0.0003);

  CHECK_THROWS_WITH(sparrow::pipeline::rewritable_pruning_modifier(base, "--recipe", {"[4,4]"}),
                    Catch::Contains("has mask_type block4, which --mask does not analyse"));
  fs::remove_all(dir);
}
