// params patterns against a model's parameter names, without LibTorch.
#include <catch2/catch.hpp>

#include "recipe/param_patterns.h"

using namespace sparrow::recipe;

namespace {
const ModelParams kCnn{{"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
                        "fc2.weight", "fc2.bias"},
                       {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"}};
}  // namespace

TEST_CASE("params: names, regexes, __ALL__ and __ALL_PRUNABLE__", "[recipe][params]") {
  CHECK(select_params({"fc1.weight"}, kCnn) == std::vector<std::string>{"fc1.weight"});
  CHECK(select_params({"re:fc.*\\.weight"}, kCnn) == std::vector<std::string>{"fc1.weight", "fc2.weight"});
  CHECK(select_params({"re:fc"}, kCnn).empty());  // the whole name must match
  CHECK(select_params({"__ALL_PRUNABLE__"}, kCnn).size() == 4);
  CHECK(select_params({"__ALL__"}, kCnn).size() == 8);
  CHECK(select_params({"fc2.weight", "conv1.weight"}, kCnn) ==
        std::vector<std::string>{"conv1.weight", "fc2.weight"});  // model order
}

TEST_CASE("params: errors against the model", "[recipe][params][errors]") {
  const Recipe r = parse_recipe(R"(modifiers:
  - !GMPruningModifier {params: [fc3.weight, "re:conv.*weight"], final_sparsity: 0.5, start_epoch: 0, end_epoch: 4}
  - !ConstantPruningModifier {params: [conv2.weight], start_epoch: 2, end_epoch: 6}
  - !GMPruningModifier {params: [conv2.weight], final_sparsity: 0.5, start_epoch: 6, end_epoch: 8}
  - !LayerPruningModifier {layers: [conv3]}
  - !QuantizationModifier {submodules: [fc1, fc9]}
)",
                                "r.yaml");
  const auto errors = check_against_model(r, kCnn);
  REQUIRE(errors.size() == 4);
  CHECK(errors[0] ==
        "r.yaml:2:5: params pattern 'fc3.weight' of !GMPruningModifier matches no parameter of the model; prunable "
        "parameters: conv1.weight conv2.weight fc1.weight fc2.weight");
  CHECK(errors[1] == "r.yaml:5:5: layer 'conv3' of !LayerPruningModifier names no module of the model");
  CHECK(errors[2] == "r.yaml:6:5: submodule 'fc9' of !QuantizationModifier names no module of the model");
  // conv2.weight: by regex in the first, by name in the second; [6, 8) touches [2, 6) only at its open end.
  CHECK(errors[3] ==
        "r.yaml:3:5: !ConstantPruningModifier and !GMPruningModifier (at r.yaml:2:5) both prune 'conv2.weight' "
        "during epochs [2, 4); give each parameter to one pruning modifier at a time");
  CHECK(check_shared_patterns(r).empty());  // no pattern is written twice at overlapping epochs
}
