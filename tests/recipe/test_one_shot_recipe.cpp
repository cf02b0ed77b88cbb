// The LLM tools' modifiers: one-shot pruning (!SparseGPTModifier, !WandaPruningModifier), SquareHead distillation
// (!OutputDistillationModifier), and the second modifier form those tools write: a stage holding a mapping of
// group name to a mapping of modifier name to fields.
#include <catch2/catch.hpp>

#include "core/errors.h"
#include "recipe/recipe.h"

using namespace sparrow;
using namespace sparrow::recipe;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_recipe(text, "r.yaml");
  } catch (const BadInput& e) {
    return e.what();
  }
  FAIL("no error for:\n" << text);
  return "";
}

// The resolved YAML of `r` parses back to itself (what tests/fuzz/fuzz_recipe.cpp asks of every recipe).
void check_round_trip(const Recipe& r) {
  const std::string text = resolved_yaml(r);
  const Recipe again = parse_recipe(text, "resolved.yaml");
  CHECK(resolved_yaml(again) == text);
  REQUIRE(again.modifiers.size() == r.modifiers.size());
  for (size_t i = 0; i < r.modifiers.size(); ++i) {
    CHECK(again.modifiers[i].tag == r.modifiers[i].tag);
    CHECK(again.modifiers[i].params.index() == r.modifiers[i].params.index());
  }
}

}  // namespace

TEST_CASE("one-shot recipe: the stage mapping form (llm-compressor)", "[recipe][one_shot]") {
  const Recipe r = parse_recipe(R"(train: {epochs: 0}
oneshot_stage:
  s: 0.6
  obcq_modifiers:
    SparseGPTModifier:
      sparsity: eval(s)
      mask_structure: "0:0"
      block_size: 64
      dampening_frac: 0.05
      sequential_update: false
      targets: ["re:model.layers.\\d+.mlp.*"]
      ignore: [model.layers.0.mlp.down_proj.weight]
    WandaPruningModifier: {mask_structure: "2:4"}
)",
                                "r.yaml");
  REQUIRE(r.modifiers.size() == 2);
  CHECK(r.stages == std::vector<std::string>{"oneshot_stage"});
  const auto& m = r.modifiers[0];
  CHECK(m.tag == "SparseGPTModifier");
  CHECK(m.location == "r.yaml:5:5");
  CHECK(m.path == "oneshot_stage.obcq_modifiers.SparseGPTModifier");
  const auto& g = std::get<SparseGPTParams>(m.params);
  CHECK(g.sparsity == 0.6);
  CHECK(g.mask.type == MaskKind::Type::Unstructured);
  CHECK(g.block_size == 64);
  CHECK(g.dampening_frac == 0.05);
  CHECK_FALSE(g.sequential_update);
  CHECK(g.targets == std::vector<std::string>{"re:model.layers.\\d+.mlp.*"});
  CHECK(g.ignore == std::vector<std::string>{"model.layers.0.mlp.down_proj.weight"});
  const auto& w = std::get<WandaPruningParams>(r.modifiers[1].params);
  CHECK(r.modifiers[1].path == "oneshot_stage.obcq_modifiers.WandaPruningModifier");
  CHECK(w.mask.name() == "2:4");
  CHECK(w.sparsity == 0.5);  // N:M sets it
  check_round_trip(r);
}

TEST_CASE("one-shot recipe: SparseML's and llm-compressor's defaults, tagged list form", "[recipe][one_shot]") {
  const Recipe r = parse_recipe(R"(train: {epochs: 0}
pruning_modifiers:
  - !SparseGPTModifier {sparsity: 0.5}
  - !SparseGPTModifier {sparsity: 0.7, mask_structure: block4}
  - !SparseGPTModifier {sparsity: 0.7, mask_structure: "[4,4]"}
  - !WandaPruningModifier {sparsity: 0.7, mask_structure: [4, 4], num_calibration_samples: 16}
)",
                                "r.yaml");
  REQUIRE(r.modifiers.size() == 4);
  const auto& g = std::get<SparseGPTParams>(r.modifiers[0].params);
  CHECK(g.block_size == 128);
  CHECK(g.dampening_frac == 0.01);
  CHECK(g.sequential_update);
  CHECK(g.mask.type == MaskKind::Type::Unstructured);
  CHECK(g.targets == std::vector<std::string>{"__ALL_PRUNABLE__"});
  CHECK(g.ignore.empty());
  CHECK(g.num_calibration_samples == 64);
  CHECK(std::get<SparseGPTParams>(r.modifiers[1].params).mask.name() == "block4");
  CHECK(std::get<SparseGPTParams>(r.modifiers[2].params).mask.name() == "[4,4]");
  const auto& w = std::get<WandaPruningParams>(r.modifiers[3].params);
  CHECK(w.mask.name() == "[4,4]");
  CHECK(w.num_calibration_samples == 16);
  check_round_trip(r);
}

TEST_CASE("one-shot recipe: --set reaches a modifier of the mapping form", "[recipe][one_shot]") {
  Overrides o;
  o.sets = {"oneshot_stage.obcq_modifiers.SparseGPTModifier.sparsity=0.7"};
  const Recipe r = parse_recipe("oneshot_stage:\n  obcq_modifiers:\n    SparseGPTModifier: {sparsity: 0.5}\n", "r.yaml", o);
  CHECK(std::get<SparseGPTParams>(r.modifiers.at(0).params).sparsity == 0.7);
}

TEST_CASE("one-shot recipe: golden errors", "[recipe][one_shot][errors]") {
  CHECK(error_of("m:\n  obcq_modifiers:\n    SparseGPTModifier: {sparsity: 1.2}\n") ==
        "r.yaml:3:35: sparsity must be in [0, 1), got 1.2");
  CHECK(error_of("obcq_modifiers:\n  SparseGPTModifier: {sparsity: 0.7, mask_structure: \"2:4\"}\n") ==
        "r.yaml:2:33: a 2:4 mask_structure prunes 2 of every 4 weights, a sparsity of exactly 0.5; got 0.7: set "
        "sparsity: 0.5, or use mask_structure \"0:0\" (unstructured) for a higher one");
  CHECK(error_of("obcq_modifiers:\n  WandaPruningModifier: {}\n") ==
        "r.yaml:2:25: !WandaPruningModifier needs field 'sparsity' (the fraction of each selected weight to prune, in [0, 1))");
  CHECK(error_of("obcq_modifiers:\n  SparseGPTModifier: {sparsity: 0.5, num_calibration_samples: 0}\n") ==
        "r.yaml:2:63: num_calibration_samples must be in [1, 1000000] (training items the layers' inputs are taken from); "
        "got 0");
  CHECK(error_of("obcq_modifiers:\n  SparseGPTModifier: {sparsity: 0.5, mask_structure: \"[4,4]\", block_size: 30}\n") ==
        "r.yaml:2:75: block_size (30) must be a multiple of 4, the width of a [4,4] unit; e.g. block_size: 128");
  CHECK(error_of("obcq_modifiers:\n  SparseGPTModifier: {sparsity: 0.5, dampening_frac: 0}\n") ==
        "r.yaml:2:54: dampening_frac must be in (0, 1] (the share of mean(diag H) added to its diagonal), got 0");
  CHECK(error_of("obcq_modifiers:\n  SparseGPTModifier: {sparsity: 0.5, mask_structure: \"3:2\"}\n") ==
        "r.yaml:2:54: an N:M mask_type needs 0 < N < M <= 64, got '3:2'");
  const std::string unknown = error_of("obcq_modifiers:\n  SparseGPTModifer: {sparsity: 0.5}\n");
  CHECK(unknown.rfind("r.yaml:2:3: unknown modifier 'SparseGPTModifer' (did you mean 'SparseGPTModifier'?); Sparrow reads:", 0) == 0);
  CHECK(error_of("obcq_modifiers:\n  SparseGPTModifier: {sparsity: 0.5}\n  SparseGPTModifier: {sparsity: 0.6}\n") ==
        "r.yaml:3:3: 'SparseGPTModifier' appears twice in 'obcq_modifiers' (first at line 2)");
  CHECK(error_of("obcq_modifiers: 3\n") ==
        "r.yaml:1:17: 'obcq_modifiers' must be a list of modifiers (- !Tag ...) or a mapping of modifier names to their "
        "fields (SparseGPTModifier: {...}), got '3'");
}

TEST_CASE("output distillation recipe: llm-compressor's fields, Sparrow's logit term, and the round trip", "[recipe][distill]") {
  const Recipe r = parse_recipe(R"(teacher: {checkpoint: dense}
finetuning_stage:
  distillation_modifiers:
    OutputDistillationModifier:
      targets: ["re:model\\.layers\\.\\d+$", model.embed_tokens]
      comparison: square_head
      orig_scale: 0.5
      distill_scale: 2
      logits_scale: 1
      temperature: 2
      transforms: identity
      projection: null
      start_epoch: 0.5
)",
                                "r.yaml");
  REQUIRE(r.modifiers.size() == 1);
  CHECK(r.modifiers[0].tag == "OutputDistillationModifier");
  const auto& d = std::get<OutputDistillationParams>(r.modifiers[0].params);
  CHECK(d.targets == std::vector<std::string>{"re:model\\.layers\\.\\d+$", "model.embed_tokens"});
  CHECK(d.comparison == OutputComparison::SquareHead);
  CHECK(d.orig_scale == 0.5);
  CHECK(d.distill_scale == 2.0);
  CHECK(d.logits_scale == 1.0);
  CHECK(d.temperature == 2.0);
  CHECK(d.start_epoch == 0.5);
  CHECK(d.end_epoch == -1.0);
  check_round_trip(r);
  // The defaults: the task loss and the layer term at weight 1, no logit term.
  const auto& m = std::get<OutputDistillationParams>(
      parse_recipe("distillation_modifiers:\n  - !OutputDistillationModifier {targets: __ALL__, comparison: mse}\n", "r.yaml")
          .modifiers.at(0)
          .params);
  CHECK(m.comparison == OutputComparison::Mse);
  CHECK((m.orig_scale == 1.0 && m.distill_scale == 1.0 && m.logits_scale == 0.0 && m.temperature == 1.0));
}

TEST_CASE("output distillation recipe: errors", "[recipe][distill]") {
  const auto one = [](const std::string& fields) {
    return error_of("distillation_modifiers:\n  - !OutputDistillationModifier {" + fields + "}\n");
  };
  CHECK_THAT(one("comparison: square_head"), Catch::Contains("!OutputDistillationModifier needs field 'targets'"));
  CHECK_THAT(one("targets: __ALL__"), Catch::Contains("!OutputDistillationModifier needs field 'comparison' (square_head"));
  CHECK_THAT(one("targets: __ALL__, comparison: kl_divergence"),
             Catch::Contains("comparison must be one of square_head, mse; got 'kl_divergence'"));
  CHECK_THAT(one("targets: model.layers.x, comparison: mse"),
             Catch::Contains("targets: 'model.layers.x' is not a hidden state; expected bert.embeddings, bert.encoder.layer.N, "
                             "model.embed_tokens or model.layers.N (or __ALL__, re:REGEX)"));
  CHECK_THAT(one("targets: \"re:(\", comparison: mse"), Catch::Contains("is not a valid regular expression"));
  CHECK_THAT(one("targets: __ALL__, comparison: mse, distill_scale: -2"), Catch::Contains("distill_scale must be a number >= 0, got -2"));
  CHECK_THAT(one("targets: __ALL__, comparison: mse, transforms: softmax"),
             Catch::Contains("transforms must be identity (layer outputs are compared as they are), got 'softmax'"));
  CHECK_THAT(one("targets: __ALL__, comparison: mse, projection: linear"), Catch::Contains("projection is not supported"));
  CHECK_THAT(error_of("distillation_modifiers:\n  - !DistillationModifier {}\n  - !OutputDistillationModifier {targets: __ALL__, "
                      "comparison: mse}\n"),
             Catch::Contains("r.yaml:3:5: a second distillation modifier (!OutputDistillationModifier; the first is at r.yaml:2:5)"));
}
