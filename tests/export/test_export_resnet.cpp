// A ResNet exported: BatchNorms folded into the convs, each block's add and global average pooling in the
// graph. The FP32 graph computes what the model computes, the engine runs the FP32 file as LibTorch runs the
// model, and the INT8 file (sparse 1x4-block convs) as the trainer's quantized evaluation does, with its
// feature maps channels-last and, between convolutions, in UINT8.
#include <catch2/catch.hpp>

#include "engine/ops/ops.h"
#include "engine/runtime/parity_fixtures.h"
#include "export/exporter.h"
#include "export/interpret.h"
#include "format/reader.h"
#include "models/model_factory.h"
#include "models/resnet.h"
#include "support/small_models.h"

using namespace sparrow;
using namespace sparrow::engine_test;

namespace {

// 12x12 single-channel images (image_batch's), BatchNorms far from the identity, and ~85 % zero 1x4 blocks in
// every conv but the first.
std::shared_ptr<models::Classifier> small_resnet(const std::string& block, const std::string& stem) {
  torch::manual_seed(5);
  auto m = models::build_model({{"name", "resnet"},
                                {"block", block},
                                {"layers", {2, 1}},
                                {"width", 8},
                                {"stem", stem},
                                {"in_channels", 1},
                                {"image_size", 12},
                                {"num_classes", 5}},
                               "test");
  testing::randomize_batch_norms(*m);
  std::vector<std::string> pruned;
  for (const auto& name : m->prunable_parameters())
    if (name != "conv1.weight" && name != "fc.weight") pruned.push_back(name);
  testing::zero_random_blocks(*m, pruned, 0.85);
  m->eval();
  return m;
}

std::size_t count_ops(const engine::Model& model, engine::OpKind kind) {
  return static_cast<std::size_t>(std::count_if(model.ops().begin(), model.ops().end(), [&](const engine::Op& op) { return op.kind == kind && !op.folded; }));
}

}  // namespace

TEST_CASE("ResNet export: the FP32 graph and the FP32 engine equal the model", "[export][resnet][engine]") {
  for (const auto& [block, stem] : {std::pair{"basic", "imagenet"}, std::pair{"bottleneck", "small"}}) {
    INFO(block << " blocks, " << stem << " stem");
    auto model = small_resnet(block, stem);
    const auto graph = exporter::lower_model(*model);
    for (const auto& op : graph.ops) CHECK(op.op.find("norm") == std::string::npos);
    const auto batch = image_batch(6);
    torch::NoGradGuard g;
    CHECK(torch::allclose(exporter::interpret(graph, batch).at("logits"), model->logits(batch), 1e-5, 1e-5));
    engine::Classifier engine(load_bytes(exporter::build_file(graph, {}).serialize()), {2, false});
    check_parity(engine_vs_model(engine, *model, batch), kFp32Tolerance);
  }
}

TEST_CASE("ResNet INT8 export: the engine equals the trainer's quantized evaluation", "[export][resnet][engine]") {
  for (const auto& [block, stem] : {std::pair{"basic", "imagenet"}, std::pair{"bottleneck", "small"}}) {
    INFO(block << " blocks, " << stem << " stem");
    auto model = small_resnet(block, stem);
    exporter::ExportOptions options;
    options.activations = exporter::calibrate(exporter::lower_model(*model), {image_batch(16)});
    options.quantization_source = "calibration";
    const std::string bytes = exporter::build_file(exporter::lower_model(*model), options).serialize();
    const auto loaded = load_bytes(bytes);
    // Every residual add is folded into the last conv of its block, which adds the shortcut and applies the
    // relu after it in its epilogue; every other relu is its conv's too.
    CHECK(count_ops(*loaded, engine::OpKind::add) == 0);
    CHECK(std::count_if(loaded->ops().begin(), loaded->ops().end(), [](const engine::Op& op) {
            return op.kind == engine::OpKind::conv2d && op.inputs.size() == 2 && op.activation == kernels::Activation::relu;
          }) == 3);
    CHECK(count_ops(*loaded, engine::OpKind::relu) == 0);
    CHECK(count_ops(*loaded, engine::OpKind::global_avg_pool) == 1);
    // UINT8 maps between convs: inside each block (basic: conv2 reads bytes; bottleneck: conv2 and conv3), and
    // with the small stem also from conv1 to layer1.0's conv1 and shortcut conv (its only readers).
    std::size_t u8_convs = 0;
    for (const auto& op : loaded->ops()) u8_convs += op.kind == engine::OpKind::conv2d && op.reads_u8;
    CHECK(u8_convs == (std::string(block) == "bottleneck" ? 3 * 2 + 2u : 3u));
    attach_quantization(*model, options);
    const auto batch = image_batch(9);
    engine::Classifier engine(loaded, {2, false});
    check_parity(engine_vs_model(engine, *model, batch), kInt8Tolerance);
    // An engine keeping every FP32 value in NCHW (keep_values) gives the same logits, bit for bit.
    engine::Classifier kept(loaded, {2, false, true});
    check_identical_logits(engine, kept, batch);
  }
}

TEST_CASE("a convolutional network's batch run in chunks of items gives the logits of one run", "[engine][resnet]") {
  auto model = small_resnet("bottleneck", "small");
  exporter::ExportOptions options;
  options.activations = exporter::calibrate(exporter::lower_model(*model), {image_batch(16)});
  options.quantization_source = "calibration";
  const auto loaded = load_bytes(exporter::build_file(exporter::lower_model(*model), options).serialize());
  engine::EngineOptions whole{2, false}, one_by_one{2, false};
  one_by_one.chunk_arena_bytes = 1;  // every item alone
  engine::Classifier a(loaded, whole), b(loaded, one_by_one);
  CHECK(a.engine().chunk_items(7, 0) == 7);
  CHECK(b.engine().chunk_items(7, 0) == 1);
  check_identical_logits(a, b, image_batch(7));
}

TEST_CASE("a residual add of feature maps stored in different layouts adds pixel to pixel", "[engine][resnet]") {
  const std::size_t B = 2, C = 3, H = 2, W = 5, image = C * H * W;
  std::vector<float> nchw(B * image), nhwc(B * image), sum(B * image);
  for (std::size_t i = 0; i < nchw.size(); ++i) nchw[i] = static_cast<float>(i);
  // nhwc holds the image 1000 + nchw, channels-last.
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t p = 0; p < H * W; ++p) nhwc[b * image + p * C + c] = 1000.0f + nchw[b * image + c * H * W + p];
  const std::vector<std::size_t> shape = {B, C, H, W};
  engine::Op op;
  op.kind = engine::OpKind::add;
  for (const bool first_last : {false, true}) {
    engine::ops::OpArgs a{op, {}, {&shape, &shape}, sum.data(), &shape, sum.size() * 4};
    a.in = first_last ? std::vector<const void*>{nhwc.data(), nchw.data()} : std::vector<const void*>{nchw.data(), nhwc.data()};
    a.in_channels_last = a.out_channels_last = first_last;
    a.in1_channels_last = !first_last;
    engine::ops::add(a);
    // Output in input 0's layout: 2 * nchw + 1000 at every element.
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t c = 0; c < C; ++c)
        for (std::size_t p = 0; p < H * W; ++p) {
          const std::size_t at = b * image + (first_last ? p * C + c : c * H * W + p);
          REQUIRE(sum[at] == 1000.0f + 2.0f * nchw[b * image + c * H * W + p]);
        }
  }
}
