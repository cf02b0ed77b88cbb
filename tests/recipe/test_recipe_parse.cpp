// The recipe language: variables, eval, anchors, front matter, stages, every
// tag's fields, every error kind, and the resolved recipe's round trip.
#include <catch2/catch.hpp>

#include "core/errors.h"
#include "recipe/diagnostics.h"
#include "recipe/recipe.h"

using namespace sparrow;
using namespace sparrow::recipe;

namespace {

Recipe parse(const std::string& text, const std::string& file = "r.yaml") { return parse_recipe(text, file); }

// The BadInput message parsing `text` gives.
std::string error_of(const std::string& text, const std::string& file = "r.yaml") {
  try {
    parse_recipe(text, file);
  } catch (const BadInput& e) {
    return e.what();
  }
  FAIL("no error for:\n" << text);
  return "";
}

template <typename P>
const P& params(const Recipe& r, size_t i) {
  REQUIRE(i < r.modifiers.size());
  const P* p = std::get_if<P>(&r.modifiers[i].params);
  REQUIRE(p != nullptr);
  return *p;
}

const char* kBase = R"(
model: {name: cnn}
)";

}  // namespace

TEST_CASE("parse: variables and eval in any numeric field", "[recipe][parse]") {
  const Recipe r = parse(std::string(kBase) + R"(
num_epochs: 10
prune_start: eval(num_epochs * 0.2)
prune_end: eval(num_epochs - 4)
target: 0.9
modifiers:
  - !GMPruningModifier
    params: [fc1.weight]
    start_epoch: eval(prune_start)
    end_epoch: eval(prune_end)
    init_sparsity: 0.05
    final_sparsity: eval(target)
    update_frequency: eval(1 / 4)
train:
  epochs: eval(num_epochs)
  batch_size: eval(2 ** 7)
)");
  const auto& p = params<GMPruningParams>(r, 0);
  CHECK(p.start_epoch == 2.0);
  CHECK(p.end_epoch == 6.0);
  CHECK(p.final_sparsity == 0.9);
  CHECK(p.update_frequency == 0.25);
  CHECK(r.train.epochs == 10.0);
  CHECK(r.train.batch_size == 128);
}

TEST_CASE("parse: variables may come in any order; anchors are shared", "[recipe][parse]") {
  const Recipe r = parse(std::string(kBase) + R"(
end: eval(start + span)
span: 3
start: 1.5
prune_params: &prune_params [conv2.weight, "re:fc[0-9]\\.weight"]
pruning_modifiers:
  - !GMPruningModifier &gmp
    params: *prune_params
    start_epoch: eval(start)
    end_epoch: eval(end)
    final_sparsity: 0.8
)");
  const auto& p = params<GMPruningParams>(r, 0);
  CHECK(p.end_epoch == 4.5);
  CHECK(p.params == std::vector<std::string>{"conv2.weight", "re:fc[0-9]\\.weight"});
}

TEST_CASE("parse: Markdown front matter keeps the file's line numbers", "[recipe][parse]") {
  const std::string md = "---\nmodel: {name: cnn}\nmodifiers:\n  - !EpochRangeModifier\n    end_epoch: 3\n---\n# Notes\n\nAnything: [here is not YAML\n";
  const Recipe r = parse(md, "r.md");
  CHECK(params<EpochRangeParams>(r, 0).end_epoch == 3.0);
  CHECK(r.modifiers[0].location == "r.md:4:5");
  CHECK(error_of("# no front matter\n", "r.md") == "r.md:1:1: a Markdown recipe starts with YAML front matter between two '---' lines");
  CHECK(error_of("---\nmodel: {name: cnn}\n", "r.md") ==
        "r.md:1:1: the front matter opened by '---' on line 1 is never closed by a '---' line");
}

TEST_CASE("parse: staged recipes, stage variables override global ones", "[recipe][parse]") {
  const Recipe r = parse(R"(
version: 1.1.0
sparsity: 0.5
dense_stage:
  training_modifiers:
    - !EpochRangeModifier
      end_epoch: 2
prune_stage:
  sparsity: 0.9
  pruning_modifiers:
    - !GMPruningModifier
      params: __ALL_PRUNABLE__
      start_epoch: 2
      end_epoch: 4
      final_sparsity: eval(sparsity)
other_stage:
  pruning_modifiers:
    - !ConstantPruningModifier
      params: __ALL_PRUNABLE__
      start_epoch: 4
)");
  CHECK(r.version == "1.1.0");
  CHECK(r.stages == std::vector<std::string>{"dense_stage", "prune_stage", "other_stage"});
  CHECK(r.modifiers[1].stage == "prune_stage");
  CHECK(params<GMPruningParams>(r, 1).final_sparsity == 0.9);
  CHECK(r.model.name.empty());  // a pure SparseML recipe has no model: section
}

TEST_CASE("parse: floats for epochs, -1 unset", "[recipe][parse]") {
  const Recipe r = parse(std::string(kBase) + R"(
modifiers:
  - !SetLearningRateModifier
    start_epoch: -1
    learning_rate: 0.1
  - !EpochRangeModifier
    start_epoch: 0.5
    end_epoch: -1
)");
  CHECK(params<SetLearningRateParams>(r, 0).start_epoch == 0.0);  // -1: start immediately
  CHECK(params<EpochRangeParams>(r, 1).start_epoch == 0.5);
  CHECK(params<EpochRangeParams>(r, 1).end_epoch == -1.0);
}

TEST_CASE("parse: every SparseML tag Sparrow reads", "[recipe][parse]") {
  const Recipe r = parse(std::string(kBase) + R"(
modifiers:
  - !LearningRateFunctionModifier
    start_epoch: 0
    end_epoch: 10
    lr_func: cyclic_linear
    cycle_epochs: 2.5
    init_lr: 0.01
    final_lr: 0.0
  - !LearningRateModifier
    start_epoch: 0
    end_epoch: 10
    lr_class: MultiStepLR
    lr_kwargs: {milestones: [3, 6], gamma: 0.5}
    init_lr: 0.1
  - !SetWeightDecayModifier
    start_epoch: 1
    weight_decay: 0.0001
    param_groups: [0]
  - !MagnitudePruningModifier
    params: [fc1.weight]
    init_sparsity: __FROM_PARAM__
    final_sparsity: 0.7
    start_epoch: 1
    end_epoch: 3
    mask_type: block4
    inter_func: inverse_cubic
    leave_enabled: false
  - !GlobalMagnitudePruningModifier
    params: __ALL_PRUNABLE__
    final_sparsity: 0.5
    start_epoch: 3
    end_epoch: 5
    mask_type: "2:4"
  - !GMPruningModifier
    params: [conv2.weight]
    final_sparsity: 0.5
    start_epoch: 5
    end_epoch: 6
    mask_type: [2, 4]
  - !ConstantPruningModifier
    params: [conv1.weight]
  - !LayerPruningModifier
    layers: [conv1]
    start_epoch: 2
  - !QuantizationModifier
    start_epoch: 7
    submodules: [conv2, fc1]
    disable_quantization_observer_epoch: 8
    freeze_bn_stats_epoch: 8
    quantize_embeddings: false
    quantize_linear_activations: true
    exclude_module_types: [LayerNorm]
    activation_bits: 8
    weight_bits: 8
    num_calibration_steps: 100
  - !QuantizationModifier
    start_epoch: 9
    scheme:
      weights: {num_bits: 8, symmetric: true, strategy: channel, type: int}
      input_activations: {num_bits: 8, symmetric: false}
    ignore: [classifier, LayerNorm]
    quantize_attention: true
  - !DistillationModifier
    start_epoch: 0
    hardness: 0.9
    temperature: 4
    distill_output_keys: [logits]
)");
  REQUIRE(r.modifiers.size() == 11);
  const auto& f = params<LearningRateFunctionParams>(r, 0);
  CHECK(f.lr_func == LrFunc::CyclicLinear);
  CHECK(f.cycle_epochs == 2.5);
  const auto& lr = params<LearningRateParams>(r, 1);
  CHECK(lr.lr_class == LrClass::MultiStepLR);
  CHECK(lr.milestones == std::vector<double>{3, 6});
  CHECK(lr.gamma == 0.5);
  CHECK(params<SetWeightDecayParams>(r, 2).param_groups == std::vector<int64_t>{0});
  const auto& mag = params<GMPruningParams>(r, 3);
  CHECK(r.modifiers[3].tag == "MagnitudePruningModifier");
  CHECK(mag.init_sparsity_from_param);
  CHECK(mag.mask.name() == "block4");
  CHECK(mag.mask.type == MaskKind::Type::Block);
  CHECK(mag.mask.rows == 1);
  CHECK(mag.mask.cols == 4);
  CHECK(mag.inter_func == InterFunc::InverseCubic);
  CHECK_FALSE(mag.leave_enabled);
  const auto& global = params<GlobalMagnitudePruningParams>(r, 4);
  CHECK(global.mask.type == MaskKind::Type::NofM);
  CHECK(global.mask.n == 2);
  CHECK(global.mask.m == 4);
  CHECK(params<GMPruningParams>(r, 5).mask.name() == "[2,4]");
  CHECK(params<GMPruningParams>(r, 5).mask.rows == 2);
  CHECK(params<ConstantPruningParams>(r, 6).params == std::vector<std::string>{"conv1.weight"});
  CHECK(params<LayerPruningParams>(r, 7).layers == std::vector<std::string>{"conv1"});
  const auto& q = params<QuantizationParams>(r, 8);
  CHECK(q.submodules == std::vector<std::string>{"conv2", "fc1"});
  CHECK(q.disable_quantization_observer_epoch == 8.0);
  CHECK_FALSE(q.quantize_embeddings);
  CHECK(q.num_calibration_steps == 100);
  CHECK(params<QuantizationParams>(r, 9).ignore == std::vector<std::string>{"classifier", "LayerNorm"});
  CHECK_FALSE(q.quantize_attention);  // off unless a recipe sets it
  CHECK(params<QuantizationParams>(r, 9).quantize_attention);
  const auto& d = params<DistillationParams>(r, 10);
  CHECK(d.hardness == 0.9);
  CHECK(d.temperature == 4.0);
  CHECK(d.distill_output_keys == std::vector<std::string>{"logits"});
  // Distillation without a teacher: a warning now, an error when training.
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("needs a teacher") != std::string::npos);
}

TEST_CASE("parse: final_sparsity mapping expands to one modifier per sparsity", "[recipe][parse]") {
  const Recipe r = parse(std::string(kBase) + R"(
modifiers:
  - !GMPruningModifier
    start_epoch: 0
    end_epoch: 4
    final_sparsity:
      0.9: [fc1.weight, conv2.weight]
      0.5: conv1.weight
)");
  REQUIRE(r.modifiers.size() == 2);
  CHECK(params<GMPruningParams>(r, 0).final_sparsity == 0.9);
  CHECK(params<GMPruningParams>(r, 0).params == std::vector<std::string>{"fc1.weight", "conv2.weight"});
  CHECK(params<GMPruningParams>(r, 1).final_sparsity == 0.5);
  CHECK(r.modifiers[0].location == r.modifiers[1].location);
}

TEST_CASE("parse: Sparrow sections", "[recipe][parse]") {
  const Recipe r = parse(R"(
model: {name: cnn, hidden: eval(64 * 2)}
data: {dataset: fashion_mnist, train_limit: 1000}
teacher: self
train: {epochs: 2.5, optimizer: adamw, lr: 0.001, seed: 7}
export: {file: cnn.sparrow}
gates: {min_accuracy: 0.85, max_accuracy_drop: 0.01, min_accuracy_ratio: 0.99, min_sparsity: 0.8, min_speedup: 10,
        speedup_batch: 1, speedup_threads: 1}
)");
  CHECK(r.model.options["hidden"] == 128);
  CHECK(r.data.train_limit == 1000);
  CHECK(r.teacher.self);
  CHECK(r.train.epochs == 2.5);
  CHECK(r.train.seed == 7);
  CHECK(r.export_spec.enabled);
  CHECK(r.export_spec.file == "cnn.sparrow");
  CHECK(*r.gates.min_accuracy == 0.85);
  CHECK(*r.gates.max_accuracy_drop == 0.01);
  CHECK(*r.gates.min_sparsity == 0.8);
  CHECK(*r.gates.min_speedup == 10.0);
  CHECK(*r.gates.min_accuracy_ratio == 0.99);
  CHECK(r.gates.speedup_batch == 1);
  CHECK(r.gates.speedup_threads == 1);
  // The resolved recipe keeps them; by default the gate reads batch 32 at all threads.
  const Recipe again = parse(resolved_yaml(r), "resolved.yaml");
  CHECK(*again.gates.min_accuracy_ratio == 0.99);
  CHECK(again.gates.speedup_batch == 1);
  CHECK(again.gates.speedup_threads == 1);
  const Recipe all = parse("gates: {min_speedup: 10, speedup_threads: all}\n");
  CHECK(all.gates.speedup_batch == 32);
  CHECK(all.gates.speedup_threads == 0);
  CHECK(parse("teacher: {checkpoint: runs/dense/checkpoint}\n").teacher.checkpoint == "runs/dense/checkpoint");
}

TEST_CASE("parse: text corpora for language models, split by document", "[recipe][parse][corpus]") {
  const Recipe sotu = parse("data: {dataset: sotu}\n");
  CHECK(sotu.data.dataset == "sotu");
  CHECK(sotu.data.validation_fraction == 0.1);
  CHECK(sotu.data.test_fraction == 0.1);
  CHECK(sotu.data.split_seed == 0);
  const Recipe moby = parse("data: {dataset: moby_dick, validation_fraction: 0.05, test_fraction: 0.2, split_seed: 3}\n");
  CHECK(moby.data.validation_fraction == 0.05);
  CHECK(moby.data.test_fraction == 0.2);
  CHECK(moby.data.split_seed == 3);
  const Recipe text = parse("data: {dataset: text, path: corpus/, test_fraction: 0}\n");
  CHECK(text.data.path == "corpus/");
  CHECK(text.data.test_fraction == 0.0);
  // The split fields survive the resolved recipe.
  const Recipe again = parse(resolved_yaml(moby), "resolved.yaml");
  CHECK(again.data.validation_fraction == 0.05);
  CHECK(again.data.test_fraction == 0.2);
  CHECK(again.data.split_seed == 3);
  CHECK(resolved_yaml(parse("data: {dataset: fashion_mnist}\n")).find("fraction") == std::string::npos);

  CHECK(error_of("data: {dataset: text}\n") ==
        "r.yaml:1:7: data needs field 'path' (a .txt file, a .jsonl file of {\"text\": ...} lines, or a folder of them)");
  CHECK(error_of("data:\n  dataset: sotu\n  validation_fraction: 1\n") ==
        "r.yaml:3:24: validation_fraction must be in [0, 1), got 1");
  CHECK(error_of("data:\n  dataset: sotu\n  validation_fraction: 0.5\n  test_fraction: 0.5\n") ==
        "r.yaml:4:18: validation_fraction + test_fraction must be < 1 (train keeps the rest), got 0.5 + 0.5");
  CHECK(error_of("data:\n  dataset: moby_dick\n  split_seed: -1\n") == "r.yaml:3:15: split_seed must be >= 0, got -1");
  CHECK(error_of("data:\n  dataset: fashion_mnist\n  test_fraction: 0.2\n") ==
        "r.yaml:3:18: test_fraction splits a text corpus (sotu, moby_dick, text) by document; dataset 'fashion_mnist' "
        "comes split");
  CHECK(error_of("data:\n  dataset: sotu\n  tests_fraction: 0.2\n") ==
        "r.yaml:3:3: unknown field 'tests_fraction' in data (did you mean 'test_fraction'?)");
}

TEST_CASE("parse: error kinds, each with file:line:column", "[recipe][parse][errors]") {
  const std::string gmp = "modifiers:\n  - !GMPruningModifier\n    params: [w]\n    end_epoch: 2\n";
  CHECK(error_of(gmp + "    final_sparsty: 0.9\n") ==
        "r.yaml: 2 errors:\n"
        "  r.yaml:2:5: !GMPruningModifier needs field 'final_sparsity' (a number in [0, 1), or a mapping {sparsity: [params]})\n"
        "  r.yaml:5:5: unknown field 'final_sparsty' in !GMPruningModifier (did you mean 'final_sparsity'?)");
  CHECK(error_of(gmp + "    final_sparsity: high\n") == "r.yaml:5:21: field 'final_sparsity' must be a number, got 'high'");
  CHECK(error_of(gmp + "    final_sparsity: 1.0\n") == "r.yaml:5:21: final_sparsity must be in [0, 1), got 1");
  CHECK(error_of(gmp + "    final_sparsity: 0.5\n    start_epoch: 3\n") ==
        "r.yaml:4:16: end_epoch (2) must be >= start_epoch (3); equal prunes to final_sparsity at once (one-shot)");
  CHECK(error_of("modifiers:\n  - !ConstantPruningModifier\n    params: [w]\n    start_epoch: 1\n    end_epoch: 1\n") ==
        "r.yaml:5:16: end_epoch (1) must be greater than start_epoch (1), or -1 for unset");
  CHECK(error_of(gmp + "    final_sparsity: 0.5\n    inter_func: cubik\n") ==
        "r.yaml:6:17: inter_func must be linear, cubic or inverse_cubic; got 'cubik' (did you mean 'cubic'?)");
  CHECK(error_of(gmp + "    final_sparsity: 0.5\n    mask_type: \"4:2\"\n") ==
        "r.yaml:6:16: an N:M mask_type needs 0 < N < M <= 64, got '4:2'");
  CHECK(error_of(gmp + "    final_sparsity: 0.5\n    mask_type: [1, 8]\n") ==
        "r.yaml:6:16: block masks are 4 columns wide ([r, 4]: the engine's INT8 lane), got [1, 8]");
  CHECK(error_of(gmp + "    final_sparsity: 0.5\n    init_sparsity: 0.7\n") ==
        "r.yaml:6:20: init_sparsity (0.7) must not exceed final_sparsity (0.5)");
  CHECK(error_of(gmp + "    final_sparsity: 0.5\n    update_frequency: 0\n") ==
        "r.yaml:6:23: update_frequency must be > 0 (epochs between updates) or -1, got 0");
  CHECK(error_of("modifiers:\n  - !GMPruningModifier\n    params: [\"re:fc[\"]\n    end_epoch: 2\n    final_sparsity: 0.5\n")
            .find("r.yaml:3:13: params pattern 're:fc[' is not a valid regular expression") == 0);
  // A quantifier's number past an int is undefined behaviour inside std::regex (found by the recipe fuzzer);
  // nine digits are allowed, ten are not.
  CHECK(error_of("modifiers:\n  - !GMPruningModifier\n    params: [\"re:fc{1,0000000001}\"]\n    end_epoch: 2\n    final_sparsity: 0.5\n") ==
        "r.yaml:3:13: params pattern 're:fc{1,0000000001}' has a number of 10 digits; a regular expression's numbers may have at most 9");
  CHECK_NOTHROW(parse_recipe("modifiers:\n  - !GMPruningModifier\n    params: [\"re:fc123456789\"]\n    end_epoch: 2\n    final_sparsity: 0.5\n", "r.yaml"));
  CHECK(error_of(gmp + "    final_sparsity: 0.5\n    final_sparsity: 0.6\n") ==
        "r.yaml:6:5: 'final_sparsity' appears twice in !GMPruningModifier (first at line 5)");
  CHECK(error_of("modifiers: []\nnum_epochs: 3\nmodifiers: []\n") ==
        "r.yaml:3:1: 'modifiers' appears twice in the recipe (first at line 1)");
  CHECK(error_of("modifiers:\n  - !EpochRangeModifier\n  - !SetLearningRateModifier\n") ==
        "r.yaml:3:5: !SetLearningRateModifier needs field 'learning_rate' (a number > 0)");
  CHECK(error_of("modifiers:\n  - !GMPruningModifer\n    params: w\n").find(
            "r.yaml:2:5: unknown modifier tag '!GMPruningModifer' (did you mean '!GMPruningModifier'?); Sparrow reads:") == 0);
  CHECK(error_of("modifiers:\n  - !OBSPruningModifier\n    params: w\n").find(
            "r.yaml:2:5: !OBSPruningModifier is a SparseML modifier that Sparrow does not implement; Sparrow reads: "
            "!ChannelPruningModifier") == 0);
  CHECK(error_of("modifiers:\n  - start_epoch: 1\n").find("r.yaml:2:5: a modifier needs a tag") == 0);
  CHECK(error_of(gmp + "    final_sparsity: 0.5\n    inter_func: eval(1)\n") ==
        "r.yaml:6:17: field 'inter_func' must be a string, got an eval(...), which gives a number");
  CHECK(error_of("modifiers:\n  - !ConstantPruningModifier\n    params: [a, eval(2)]\n") ==
        "r.yaml:3:17: field 'params' must list strings, got 'eval(2)'");
  CHECK(error_of("modifiers: 3\n") == "r.yaml:1:12: 'modifiers' must be a list of modifiers (- !Tag ...) or a mapping of "
                                     "modifier names to their fields (SparseGPTModifier: {...}), got '3'");
  CHECK(error_of("trian:\n  epochs: 3\n") ==
        "r.yaml:1:1: unknown section 'trian' (did you mean 'train'?); a recipe has model, data, teacher, train, export, "
        "gates, *_modifiers lists, stages and variables");
  CHECK(error_of("train:\n  epochs: -1\n  batch_size: 2.5\n  optimizer: adam\n") ==
        "r.yaml: 3 errors:\n"
        "  r.yaml:2:11: epochs must be >= 0 (0: one-shot, no training), got -1\n"
        "  r.yaml:3:15: field 'batch_size' must be an integer, got 2.5\n"
        "  r.yaml:4:14: optimizer must be sgd or adamw, got 'adam' (did you mean 'adamw'?)");
  CHECK(error_of("model: {name: cnn\n").find("r.yaml:") == 0);  // invalid YAML, located
  CHECK(error_of("- a\n- b\n").find("a recipe is a YAML mapping") != std::string::npos);
}

TEST_CASE("parse: eval and variable errors", "[recipe][parse][errors]") {
  CHECK(error_of("num_epochs: 10\ntrain:\n  epochs: eval(num_epoch - 1)\n") ==
        "r.yaml:3:16: in eval(num_epoch - 1): unknown variable 'num_epoch' (did you mean 'num_epochs'?)");
  CHECK(error_of("train:\n  epochs: eval(2 * * 3)\n") == "r.yaml:2:20: in eval(2 * * 3): unexpected '*'");
  CHECK(error_of("train:\n  epochs: \"eval(exp(1))\"\n") ==
        "r.yaml:2:17: in eval(exp(1)): unknown function 'exp'; eval() allows only abs, float, int, min, max and round");
  CHECK(error_of("a: eval(b + 1)\nb: eval(a * 2)\n") == "r.yaml:2:9: in eval(a * 2): variable cycle: a -> b -> a");
  CHECK(error_of("name: bert\ntrain:\n  epochs: eval(name * 2)\n") ==
        "r.yaml:3:16: in eval(name * 2): variable 'name' is not a number (it is 'bert')");
  // A broken variable is reported once, where it is defined, not at each use.
  CHECK(error_of("n: eval(1 / 0)\ntrain:\n  epochs: eval(n)\n  lr: eval(n)\n") ==
        "r.yaml:1:11: in eval(1 / 0): division by zero");
}

TEST_CASE("parse: quantization and distillation ranges", "[recipe][parse][errors]") {
  CHECK(error_of("modifiers:\n  - !QuantizationModifier\n    weight_bits: 4\n") ==
        "r.yaml:3:18: weight_bits must be 8: Sparrow's engine computes in INT8 only; got 4");
  CHECK(error_of("modifiers:\n  - !QuantizationModifier\n    scheme: {weights: {num_bits: 8, symmetric: false}}\n") ==
        "r.yaml:3:48: weights are symmetric in Sparrow's scheme; symmetric must be true");
  CHECK(error_of("modifiers:\n  - !QuantizationModifier\n    ignore: [fc]\n    submodules: [fc]\n").find(
            "r.yaml:4:17: field 'submodules' belongs to the legacy form") == 0);
  CHECK(error_of("modifiers:\n  - !QuantizationModifier\n    quantize_attention: maybe\n").find("r.yaml:3:25:") == 0);
  CHECK(error_of("modifiers:\n  - !DistillationModifier\n    hardness: 1.5\n    temperature: 0\n") ==
        "r.yaml: 2 errors:\n"
        "  r.yaml:3:15: hardness must be in [0, 1], got 1.5\n"
        "  r.yaml:4:18: temperature must be > 0, got 0");
  CHECK(error_of("gates:\n  min_acuracy: 0.9\n") ==
        "r.yaml:2:3: unknown field 'min_acuracy' in gates (did you mean 'min_accuracy'?)");
  CHECK(error_of("gates:\n  min_accuracy: 90\n") == "r.yaml:2:17: min_accuracy must be in [0, 1], got 90");
}

TEST_CASE("parse: overlapping pruning on a shared pattern", "[recipe][parse][errors]") {
  const std::string text = R"(modifiers:
  - !GMPruningModifier
    params: [fc1.weight]
    final_sparsity: 0.5
    start_epoch: 0
    end_epoch: 4
  - !ConstantPruningModifier
    params: [conv2.weight, fc1.weight]
    start_epoch: 3
)";
  CHECK(error_of(text) ==
        "r.yaml:7:5: !ConstantPruningModifier and !GMPruningModifier (at r.yaml:2:5) both prune 'fc1.weight' during "
        "epochs [3, 4); give each parameter to one pruning modifier at a time");
}

TEST_CASE("parse: warnings for what is read but not honoured", "[recipe][parse]") {
  const Recipe r = parse(R"(modifiers:
  - !SetLearningRateModifier
    learning_rate: 0.1
    constant_logging: true
  - !EpochRangeModifier
    end_epoch: 2
  - !DistillationModifier
    start_epoch: 3
teacher: self
)");
  REQUIRE(r.warnings.size() == 2);
  CHECK(r.warnings[0] == "r.yaml:4:23: field 'constant_logging' only steers SparseML's loggers; Sparrow ignores it");
  CHECK(r.warnings[1] == "r.yaml:7:5: !DistillationModifier reaches epoch 3 but training stops at epoch 2");
}

TEST_CASE("resolved recipe parses back to the same recipe", "[recipe][writer]") {
  const Recipe r = parse(R"(
version: 1.1.0
model: {name: cnn, hidden: 64}
teacher: {checkpoint: "runs/dense ckpt"}
data: {train_limit: 100}
train: {epochs: 4, lr: 0.05}
export: {}
gates: {min_accuracy: 0.8, min_speedup: 10}
s: 0.8
modifiers:
  - !EpochRangeModifier {end_epoch: 4}
  - !LearningRateFunctionModifier {start_epoch: 0, end_epoch: 4, lr_func: cosine, init_lr: 0.05, final_lr: 0.001}
  - !LearningRateModifier {start_epoch: 1, lr_class: StepLR, lr_kwargs: {step_size: 1, gamma: 0.5}, init_lr: 0.01}
  - !SetWeightDecayModifier {weight_decay: 0.001}
  - !GMPruningModifier {params: [fc1.weight], final_sparsity: eval(s), start_epoch: 1, end_epoch: 3, mask_type: [2, 4]}
  - !GMPruningModifier {params: [conv2.weight], final_sparsity: 0.5, init_sparsity: __FROM_PARAM__, start_epoch: 1, end_epoch: 3, mask_type: "2:4"}
  - !GMPruningModifier {params: [conv1.weight], global_sparsity: true, final_sparsity: 0.5, start_epoch: 1, end_epoch: 3}
  - !LayerPruningModifier {layers: [conv1], start_epoch: 3}
  - !QuantizationModifier {start_epoch: 3, ignore: [fc2]}
  - !QuantizationModifier {start_epoch: 3.5, submodules: [fc1], quantize_attention: true}
  - !DistillationModifier {hardness: 0.7, temperature: 3, hidden_state_gain: 0.5, student_layer_names: [bert.embeddings, bert.encoder.layer.0], teacher_layer_names: [bert.embeddings, bert.encoder.layer.3]}
)");
  const std::string text = resolved_yaml(r);
  const Recipe again = parse(text, "resolved.yaml");
  CHECK(resolved_yaml(again) == text);
  REQUIRE(again.modifiers.size() == r.modifiers.size());
  for (size_t i = 0; i < r.modifiers.size(); ++i) {
    CHECK(again.modifiers[i].tag == r.modifiers[i].tag);
    CHECK(again.modifiers[i].params.index() == r.modifiers[i].params.index());
  }
  CHECK(params<GMPruningParams>(again, 4).final_sparsity == 0.8);
  CHECK(again.modifiers[6].tag == "GlobalMagnitudePruningModifier");
  CHECK(again.teacher.checkpoint == "runs/dense ckpt");
  CHECK(*again.gates.min_speedup == 10.0);
  CHECK_FALSE(params<QuantizationParams>(again, 8).quantize_attention);
  CHECK(params<QuantizationParams>(again, 9).quantize_attention);
  const auto& distill = params<DistillationParams>(again, 10);
  CHECK(distill.hidden_state_gain == 0.5);
  CHECK(distill.student_layer_names == std::vector<std::string>{"bert.embeddings", "bert.encoder.layer.0"});
  CHECK(distill.teacher_layer_names == std::vector<std::string>{"bert.embeddings", "bert.encoder.layer.3"});
}

TEST_CASE("parse: sizes and epochs have ranges, named in the message (limits.h)", "[recipe][parse][errors][limits]") {
  CHECK(error_of("train: {epochs: 1e19}\n") ==
        "r.yaml:1:17: epochs must be at most 100000 (epochs: the longest run a recipe may plan), got 1e+19");
  CHECK(parse("train: {epochs: 100000}\n").train.epochs == 100000.0);
  CHECK(error_of("modifiers:\n  - !EpochRangeModifier {end_epoch: 1e308}\n") ==
        "r.yaml:2:37: end_epoch must be at most 100000 (epochs: the longest run a recipe may plan), got 1e+308");
  CHECK(error_of("modifiers:\n  - !EpochRangeModifier {start_epoch: 9.3e18}\n") ==
        "r.yaml:2:39: start_epoch must be at most 100000 (epochs: the longest run a recipe may plan), got 9.3e+18");
  CHECK(error_of("train: {batch_size: 100000}\n") == "r.yaml:1:21: batch_size must be in [1, 65536], got 100000");
  CHECK(error_of("train: {eval_batch_size: 0}\n") == "r.yaml:1:26: eval_batch_size must be in [1, 65536], got 0");
  const std::string gmp = "modifiers:\n  - !GMPruningModifier\n    params: [w]\n    end_epoch: 2\n    final_sparsity: 0.5\n";
  CHECK(error_of(gmp + "    mask_type: [99999999999, 4]\n") ==
        "r.yaml:6:16: a block mask_type [r, 4] has 1 <= r <= 256 rows, got [99999999999, 4]");
  CHECK(error_of(gmp + "    mask_type: \"99999999999999999999999:4\"\n") ==
        "r.yaml:6:16: an N:M mask_type needs 0 < N < M <= 64, got '99999999999999999999999:4'");
  CHECK(parse(gmp + "    mask_type: [256, 4]\n").modifiers.size() == 1u);
  CHECK(error_of("modifiers:\n  - !QuantizationModifier {num_calibration_steps: 1e7}\n") ==
        "r.yaml:2:51: num_calibration_steps must be in [1, 1000000], or -1; got 10000000");
  CHECK(error_of("modifiers:\n  - !LearningRateModifier {lr_class: MultiStepLR, init_lr: 0.1, lr_kwargs: {gamma: 0.5, "
                 "milestones: [1, 1e9]}}\n")
            .find("milestone must be at most 100000") != std::string::npos);
}

TEST_CASE("parse: nesting deeper than 100 levels is refused, with the limit named", "[recipe][parse][errors][limits]") {
  const auto nested = [](int depth) { return "x: " + std::string(depth, '[') + std::string(depth, ']') + "\n"; };
  CHECK(parse(nested(99)).modifiers.empty());
  CHECK(error_of(nested(100)) == "r.yaml: the recipe is nested more than 100 levels deep (the most a recipe or a flag may nest)");
  // Beyond the YAML reader's own limit, the same words.
  CHECK(error_of(nested(5000)) ==
        "r.yaml:1:10004: invalid YAML: nested more than 100 levels deep (the most a recipe or a flag may nest)");
}

TEST_CASE("parse: aliases expanding beyond 100 000 values are refused before anything walks them", "[recipe][parse][errors][limits]") {
  // Found by tests/fuzz (fuzz_recipe): nine lines of nested aliases expand to 10^9 values, and parsing never ended.
  const auto laughs = [](int lines) {
    std::string text = "x0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
    for (int i = 1; i < lines; ++i) {
      text += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
      for (int k = 0; k < 10; ++k) text += (k ? ", *a" : "*a") + std::to_string(i - 1);
      text += "]\n";
    }
    return text;
  };
  CHECK(parse(laughs(4)).modifiers.empty());  // 11 110 values once expanded: aliases still work
  CHECK(error_of(laughs(9)) == "r.yaml: the recipe expands to more than 100000 values, each alias counted where it is used "
                               "(the most a recipe or a flag may hold)");
}

TEST_CASE("parse: a wrong final_sparsity is one error, not also init_sparsity's", "[recipe][parse][errors]") {
  const std::string gmp = "modifiers:\n  - !GMPruningModifier\n    params: [w]\n    end_epoch: 2\n    init_sparsity: 0.05\n";
  CHECK(error_of(gmp + "    final_sparsity: 1.5\n") == "r.yaml:6:21: final_sparsity must be in [0, 1), got 1.5");
  CHECK(error_of("modifiers:\n  - !NeuronPruningModifier {init_sparsity: 0.05, final_sparsity: -1}\n") ==
        "r.yaml:2:66: final_sparsity must be in [0, 1), got -1");
}

TEST_CASE("parse: user text in messages is cut to 80 characters", "[recipe][parse][errors]") {
  CHECK(excerpt("short") == "short");
  CHECK(excerpt(std::string(80, 'a')) == std::string(80, 'a'));
  CHECK(excerpt(std::string(200000, 'a')) == std::string(80, 'a') + "\u2026 (200000 characters)");
  CHECK(excerpt(std::string(100, 'x') + "\u00e9") == std::string(80, 'x') + "\u2026 (101 characters)");
  const std::string huge = "eval(" + std::string(200000, '1') + " +)";
  const std::string e = error_of("x: " + huge + "\n");
  CHECK(e.size() < 300);
  CHECK(e.find("(200008 characters)") != std::string::npos);
}

TEST_CASE("parse: a params regex longer than 1000 characters is refused before std::regex sees it", "[recipe][parse][limits]") {
  const std::string gmp = "modifiers:\n  - !GMPruningModifier {end_epoch: 2, final_sparsity: 0.5, params: [\"re:";
  CHECK(parse(gmp + std::string(1000, 'a') + "\"]}\n").modifiers.size() == 1u);
  CHECK(error_of(gmp + std::string(100000, 'a') + "\"]}\n").find("is longer than the 1000 characters a regular expression may have") !=
        std::string::npos);
}
