// A CNN with BatchNorm exported: the BatchNorms are folded into their convs (the file has no BatchNorm op),
// the folded FP32 graph computes what the model computes, and the INT8 export runs in the engine and
// agrees with the trainer's quantized evaluation of the model (the QAT hook folds the same way).
#include <catch2/catch.hpp>

#include "compress/quant/quant_scheme.h"
#include "engine/runtime/parity_fixtures.h"
#include "export/exporter.h"
#include "export/interpret.h"
#include "format/reader.h"
#include "models/cnn.h"
#include "models/conv_bn.h"
#include "support/small_models.h"

using namespace sparrow;
using namespace sparrow::engine_test;

namespace {

// The parity CNN's shapes with BatchNorm after each conv, statistics far from the identity, and ~85 %
// zero 1x4 blocks in fc1 and conv2.
std::shared_ptr<models::Cnn> bn_cnn() {
  testing::SmallCnn s;
  s.options.image_size = 12;
  s.options.hidden = 32;
  s.options.num_classes = 5;
  s.options.batch_norm = true;
  s.block_pruned = {"fc1.weight", "conv2.weight"};
  s.zero_fraction = 0.85;
  auto m = testing::small_cnn(s);
  testing::randomize_batch_norms(*m);
  return m;
}

}  // namespace

TEST_CASE("BN CNN export: BatchNorm folded into the convs, FP32 graph equals the model", "[export][bn]") {
  auto model = bn_cnn();
  const auto graph = exporter::lower_model(*model);
  for (const auto& op : graph.ops) CHECK(op.op.find("norm") == std::string::npos);
  const auto batch = image_batch(6);
  torch::NoGradGuard g;
  CHECK(torch::allclose(exporter::interpret(graph, batch).at("logits"), model->logits(batch), 1e-5, 1e-6));
  auto modules = model->named_modules("", false);
  const auto folded = models::fold_batch_norm(*modules["conv2"]->as<torch::nn::Conv2d>(), *modules["bn2"]->as<torch::nn::BatchNorm2d>());
  for (const auto& op : graph.ops)
    if (op.name == "conv2") {
      // conv2 reads 4 channels: its patch runs (ky, kx, c), channels innermost.
      CHECK(op.attrs.at("patch_order") == "hwc");
      CHECK(torch::equal(op.weights.at("weight"), folded.weight.permute({0, 2, 3, 1}).reshape({folded.weight.size(0), -1})));
      CHECK(torch::equal(op.weights.at("bias"), folded.bias));
    }
}

TEST_CASE("BN CNN INT8 export: the engine equals the trainer's quantized evaluation", "[export][bn][engine]") {
  auto model = bn_cnn();
  exporter::ExportOptions options;
  options.activations = exporter::calibrate(exporter::lower_model(*model), {image_batch(16)});
  options.quantization_source = "calibration";
  const std::string bytes = exporter::build_file(exporter::lower_model(*model), options).serialize();
  const auto file = format::File::parse(bytes);
  for (const auto& op : file.graph()["ops"]) CHECK(op["op"].get<std::string>().find("norm") == std::string::npos);
  // conv2 holds the trainer's quantization of the folded weight.
  auto modules = model->named_modules("", false);
  torch::Tensor folded;
  {
    torch::NoGradGuard g;
    const auto f = models::fold_batch_norm(*modules["conv2"]->as<torch::nn::Conv2d>(), *modules["bn2"]->as<torch::nn::BatchNorm2d>());
    folded = f.weight.permute({0, 2, 3, 1}).reshape({f.weight.size(0), -1}).contiguous();  // patch order hwc
  }
  for (const auto& op : file.graph()["ops"])
    if (op["name"] == "conv2") {
      const format::WeightsView v = file.weights(op);
      const auto q = compress::quantize_weight(folded, compress::weight_scales(folded)).contiguous();
      CHECK(format::unpack_int8(v) == std::vector<std::int8_t>(q.data_ptr<std::int8_t>(), q.data_ptr<std::int8_t>() + q.numel()));
    }
  attach_quantization(*model, options);
  engine::Classifier engine(load_bytes(bytes), {2, false});
  check_parity(engine_vs_model(engine, *model, image_batch(9)), kInt8Tolerance);
}
