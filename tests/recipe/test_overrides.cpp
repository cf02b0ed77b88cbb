// --recipe-args and --set: applied before eval, in a fixed precedence
// (file < --recipe-args < --set, later --set wins), located by the flag.
#include <catch2/catch.hpp>

#include "core/errors.h"
#include "recipe/recipe.h"

using namespace sparrow;
using namespace sparrow::recipe;

namespace {

const char* kRecipe = R"(
num_epochs: 10
final: 0.9
stage_one:
  final: 0.7
  pruning_modifiers:
    - !GMPruningModifier
      params: [fc1.weight]
      start_epoch: 1
      end_epoch: eval(num_epochs - 2)
      final_sparsity: eval(final)
modifiers:
  - !GMPruningModifier
    params: [conv2.weight]
    start_epoch: 1
    end_epoch: eval(num_epochs - 2)
    final_sparsity: eval(final)
train:
  epochs: eval(num_epochs)
  batch_size: 32
)";

Recipe with(const std::vector<std::string>& sets, const std::string& json = "") {
  return parse_recipe(kRecipe, "r.yaml", Overrides{json, sets});
}

std::string error_with(const std::vector<std::string>& sets, const std::string& json = "") {
  try {
    with(sets, json);
  } catch (const BadInput& e) {
    return e.what();
  }
  FAIL("no error");
  return "";
}

double final_of(const Recipe& r, size_t i) { return std::get<GMPruningParams>(r.modifiers.at(i).params).final_sparsity; }
double end_of(const Recipe& r, size_t i) { return std::get<GMPruningParams>(r.modifiers.at(i).params).end_epoch; }

}  // namespace

TEST_CASE("overrides: a variable flows into every eval that uses it", "[recipe][overrides]") {
  const Recipe r = with({"num_epochs=6"});
  CHECK(r.train.epochs == 6.0);
  CHECK(end_of(r, 0) == 4.0);
  CHECK(end_of(r, 1) == 4.0);
}

TEST_CASE("overrides: precedence file < --recipe-args < --set, later --set wins", "[recipe][overrides]") {
  CHECK(with({}).train.epochs == 10.0);
  CHECK(with({}, R"({"num_epochs": 8})").train.epochs == 8.0);
  CHECK(with({"num_epochs=5"}, R"({"num_epochs": 8})").train.epochs == 5.0);
  CHECK(with({"num_epochs=5", "num_epochs=7"}).train.epochs == 7.0);
  // A dotted field beats the eval that would have set it.
  CHECK(with({"num_epochs=5", "train.epochs=3"}).train.epochs == 3.0);
}

TEST_CASE("overrides: a plain name sets the variable everywhere, STAGE.NAME one stage", "[recipe][overrides]") {
  const Recipe base = with({});
  CHECK(final_of(base, 0) == 0.7);  // the stage's own variable
  CHECK(final_of(base, 1) == 0.9);
  const Recipe all = with({"final=0.95"});
  CHECK(final_of(all, 0) == 0.95);
  CHECK(final_of(all, 1) == 0.95);
  const Recipe one = with({"stage_one.final=0.5"});
  CHECK(final_of(one, 0) == 0.5);
  CHECK(final_of(one, 1) == 0.9);
}

TEST_CASE("overrides: dotted fields, list indices, new fields in sections", "[recipe][overrides]") {
  CHECK(with({"train.batch_size=64"}).train.batch_size == 64);
  CHECK(with({"modifiers.0.final_sparsity=0.8"}).modifiers.at(1).params.index() ==
        ModifierParams(GMPruningParams{}).index());
  CHECK(final_of(with({"modifiers.0.final_sparsity=0.8"}), 1) == 0.8);
  CHECK(with({"train.lr=0.5"}).train.lr == 0.5);
  CHECK(with({"data.train_limit=100"}).data.train_limit == 100);
  CHECK(*with({"gates.min_accuracy=0.8"}).gates.min_accuracy == 0.8);
  CHECK(with({"modifiers.0.params=[fc2.weight, fc3.weight]"}).modifiers.at(1).params.index() == 2);
  CHECK(std::get<GMPruningParams>(with({"modifiers.0.params=[a, b]"}).modifiers.at(1).params).params ==
        std::vector<std::string>{"a", "b"});
  CHECK(with({"final=eval(0.5 + 0.25)"}).modifiers.size() == 2);
  CHECK(final_of(with({"final=eval(0.5 + 0.25)"}), 1) == 0.75);
}

TEST_CASE("overrides: errors name the flag", "[recipe][overrides][errors]") {
  CHECK(error_with({"num_epoch=3"}) ==
        "--set num_epoch=3: the recipe has no variable 'num_epoch' (did you mean 'num_epochs'?); a field needs its "
        "dotted path, e.g. train.batch_size");
  CHECK(error_with({"train.batch_size=0"}) == "--set train.batch_size=0: batch_size must be in [1, 65536], got 0");
  CHECK(error_with({"train.bach_size=8"}) ==
        "--set train.bach_size=8: unknown field 'bach_size' in train (did you mean 'batch_size'?)");
  CHECK(error_with({"trian.epochs=3"}) == "--set trian.epochs=3: the recipe has no 'trian' (did you mean 'train'?)");
  CHECK(error_with({"modifiers.5.final_sparsity=0.1"}) ==
        "--set modifiers.5.final_sparsity=0.1: 'modifiers' has 1 items; index 5 is out of range");
  CHECK(error_with({"train.epochs.x=1"}) == "--set train.epochs.x=1: 'train.epochs' is a single value, not a section with fields");
  CHECK(error_with({"final"}) == "--set final: expected NAME=VALUE, e.g. --set final_sparsity=0.95");
  CHECK(error_with({"final="}) == "--set final=: the value is empty");
  CHECK(error_with({}, "[1]") == "--recipe-args: expected a JSON object of variables, e.g. '{\"num_epochs\": 8}'");
  CHECK(error_with({}, "{\"num_epochs\": ").find("--recipe-args: not valid JSON") == 0);
  CHECK(error_with({}, R"({"finale": 0.5})") ==
        "--recipe-args finale: the recipe has no variable 'finale' (did you mean 'final'?); a field needs its dotted "
        "path, e.g. train.batch_size");
  // A flag's wrong value is one error at the flag, not one per eval(...) that uses it.
  CHECK(error_with({"final=high"}) == "--set final=high: variable 'final' must be a number (eval(...) uses it), got 'high'");
  CHECK(error_with({}, R"({"final": [1]})") ==
        "--recipe-args final: variable 'final' must be a number (eval(...) uses it), got a list");
}

TEST_CASE("overrides: each modifier's --set path, and a whole modifier list replaced", "[recipe][overrides]") {
  const Recipe r = with({});
  REQUIRE(r.modifiers.size() == 2u);
  CHECK(r.modifiers[0].path == "stage_one.pruning_modifiers.0");
  CHECK(r.modifiers[1].path == "modifiers.0");
  // The paths reach the modifiers they name.
  const Recipe set = with({r.modifiers[0].path + ".final_sparsity=0.5", r.modifiers[1].path + ".mask_type=[4, 4]"});
  CHECK(std::get<GMPruningParams>(set.modifiers[0].params).final_sparsity == 0.5);
  CHECK(std::get<GMPruningParams>(set.modifiers[1].params).mask.name() == "[4,4]");

  const Recipe emptied = with({"modifiers=[]", "stage_one.pruning_modifiers=[]"});
  CHECK(emptied.modifiers.empty());
  CHECK(error_with({"modifierss=[]"}) == "--set modifierss=[]: the recipe has no modifier list 'modifierss' (did you mean 'modifiers'?)");
}

TEST_CASE("one-shot: 0 epochs and magnitude pruning from epoch 0 to 0 parse", "[recipe][overrides]") {
  const Recipe r = with({"train.epochs=0", "modifiers.0.start_epoch=0", "modifiers.0.end_epoch=0", "stage_one.pruning_modifiers=[]"});
  CHECK(planned_epochs(r) == 0);
  REQUIRE(r.modifiers.size() == 1u);
  const auto& p = std::get<GMPruningParams>(r.modifiers[0].params);
  CHECK(p.start_epoch == 0);
  CHECK(p.end_epoch == 0);
  CHECK(r.warnings.empty());
  // The resolved recipe reads back the same.
  CHECK(resolved_yaml(parse_recipe(resolved_yaml(r), "resolved.yaml")) == resolved_yaml(r));
}
