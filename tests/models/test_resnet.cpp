// The zoo's ResNet: torchvision's state-dict names and shapes (counted from torchvision's ResNet-18 and
// ResNet-50 as published: 122 and 320 entries, 11 689 512 and 25 557 032 parameters), a checkpoint folder
// holding such a state dict loads, and one with a key too many, too few or of another shape is BadInput
// naming the key.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/errors.h"
#include "core/files.h"
#include "models/checkpoint.h"
#include "models/model_factory.h"
#include "models/resnet.h"

using namespace sparrow;
using Catch::Matchers::Contains;

namespace {

std::map<std::string, std::vector<int64_t>> state_shapes(torch::nn::Module& m) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : m.named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  for (const auto& b : m.named_buffers()) shapes[b.key()] = b.value().sizes().vec();
  return shapes;
}

int64_t parameter_count(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

const nlohmann::json kSmallConfig = {{"name", "resnet"}, {"block", "basic"}, {"layers", {1, 1}}, {"width", 4},
                                     {"stem", "small"},  {"in_channels", 1},  {"image_size", 8},  {"num_classes", 3}};

// A folder with the small config and these tensors as model.safetensors.
std::filesystem::path folder_with(const std::string& name, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  const auto dir = std::filesystem::temp_directory_path() / ("sparrow_test_resnet_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write_file_atomic(dir / "model.safetensors", models::serialize_tensors(tensors));
  write_file_atomic(dir / "config.json", kSmallConfig.dump());
  return dir;
}

std::vector<std::pair<std::string, torch::Tensor>> small_state() {
  auto model = models::build_model(kSmallConfig, "test");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& p : model->named_parameters()) tensors.emplace_back(p.key(), p.value().detach().clone());
  for (const auto& b : model->named_buffers()) tensors.emplace_back(b.key(), b.value().clone());
  return tensors;
}

}  // namespace

TEST_CASE("ResNet-18 and ResNet-50 have torchvision's state-dict names and shapes", "[models][resnet]") {
  auto r18 = models::build_model({{"name", "resnet"}}, "test");
  const auto s18 = state_shapes(*r18);
  CHECK(s18.size() == 122);
  CHECK(parameter_count(*r18) == 11689512);
  CHECK(s18.at("conv1.weight") == std::vector<int64_t>{64, 3, 7, 7});
  CHECK(s18.at("layer2.0.downsample.0.weight") == std::vector<int64_t>{128, 64, 1, 1});
  CHECK(s18.at("layer2.0.downsample.1.running_var") == std::vector<int64_t>{128});
  CHECK(s18.at("layer4.1.bn2.num_batches_tracked").empty());
  CHECK(s18.at("fc.weight") == std::vector<int64_t>{1000, 512});
  CHECK_FALSE(s18.count("layer1.0.downsample.0.weight"));

  auto r50 = models::build_model({{"name", "resnet"}, {"block", "bottleneck"}, {"layers", {3, 4, 6, 3}}}, "test");
  const auto s50 = state_shapes(*r50);
  CHECK(s50.size() == 320);
  CHECK(parameter_count(*r50) == 25557032);
  CHECK(s50.at("layer1.0.conv3.weight") == std::vector<int64_t>{256, 64, 1, 1});
  CHECK(s50.at("layer1.0.downsample.0.weight") == std::vector<int64_t>{256, 64, 1, 1});
  CHECK(s50.at("layer3.5.conv2.weight") == std::vector<int64_t>{256, 256, 3, 3});
  CHECK(s50.at("fc.weight") == std::vector<int64_t>{1000, 2048});
  // Prunable: the 53 convs and the classifier.
  CHECK(r50->prunable_parameters().size() == 54);
}

TEST_CASE("a ResNet config out of range is BadInput naming the field", "[models][resnet]") {
  const auto error = [](nlohmann::json config) {
    config["name"] = "resnet";
    try {
      models::build_model(config, "r.yaml");
    } catch (const BadInput& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(error({{"block", "wide"}}) == "r.yaml: model.block must be \"basic\" or \"bottleneck\", found \"wide\"");
  CHECK(error({{"stem", "cifar"}}) == "r.yaml: model.stem must be \"imagenet\" or \"small\", found \"cifar\"");
  CHECK(error({{"layers", nlohmann::json::array()}}) == "r.yaml: model.layers must be a list of 1 to 8 block counts, found []");
  CHECK_THAT(error({{"layers", {2, 0}}}), Contains("model.layers"));
  CHECK_THAT(error({{"width", 65536}, {"layers", {1, 1, 1, 1, 1, 1, 1, 1}}}), Contains("model.width * 2^(stages - 1) * expansion"));
  CHECK_THAT(error({{"width", 4096}, {"layers", {1, 1, 1, 1, 1, 1, 1, 1}}}), Contains("parameters, more than"));
  CHECK_THAT(error({{"depth", 50}}), Contains("unknown field model.depth for model 'resnet'"));
}

TEST_CASE("a torchvision-style state dict loads; unexpected, missing or mis-shaped keys are BadInput naming them",
          "[models][resnet]") {
  const auto state = small_state();
  // The folder's weights, not a fresh initialisation's (the convs are random).
  const auto loaded = models::load_checkpoint(folder_with("good", state));
  std::map<std::string, torch::Tensor> got;
  for (const auto& p : loaded->named_parameters()) got[p.key()] = p.value();
  for (const auto& b : loaded->named_buffers()) got[b.key()] = b.value();
  REQUIRE(got.size() == state.size());
  for (const auto& [name, tensor] : state) CHECK(torch::equal(got.at(name), tensor));

  auto extra = state;
  extra.emplace_back("layer1.0.conv3.weight", torch::zeros({4, 4, 1, 1}));
  CHECK_THROWS_WITH(models::load_checkpoint(folder_with("extra", extra)),
                    Contains("tensor 'layer1.0.conv3.weight' does not belong to this model"));

  auto missing = state;
  missing.erase(std::find_if(missing.begin(), missing.end(), [](const auto& t) { return t.first == "layer1.0.bn1.running_mean"; }));
  CHECK_THROWS_WITH(models::load_checkpoint(folder_with("missing", missing)), Contains("tensor 'layer1.0.bn1.running_mean' is missing"));

  auto reshaped = state;
  for (auto& [name, tensor] : reshaped)
    if (name == "layer2.0.conv1.weight") tensor = torch::zeros({8, 3, 3, 3});
  CHECK_THROWS_WITH(models::load_checkpoint(folder_with("reshaped", reshaped)),
                    Contains("tensor 'layer2.0.conv1.weight' has shape [8,3,3,3], the model expects [8,4,3,3]"));
}
