// R x 4 tiles end to end: a small CNN whose fc1 and conv2 are masked with [4,4] or [2,4] blocks (SparseML's
// [r, c] magnitude masks, ragged output channels), exported (the exporter packs the tiles it finds) and run
// by the engine, which must compute the trainer's quantized evaluation. Run once per ISA cap (ctest).
#include <catch2/catch.hpp>

#include "compress/masks/magnitude_mask.h"
#include "engine/kernels/isa.h"
#include "format/reader.h"
#include "models/cnn.h"
#include "parity_fixtures.h"
#include "support/small_models.h"

using namespace sparrow;
using namespace sparrow::engine_test;

namespace {

// fc1 with 30 outputs and conv2 with 10 output channels: neither a multiple of 4 (ragged last tile rows).
std::shared_ptr<models::Cnn> masked_cnn(const std::string& mask) {
  testing::SmallCnn s;
  s.options.image_size = 12;
  s.options.conv2_channels = 10;
  s.options.hidden = 30;
  s.options.num_classes = 5;
  auto model = testing::small_cnn(s);
  torch::NoGradGuard g;
  for (const char* name : {"fc1.weight", "conv2.weight"}) {
    torch::Tensor w = model->named_parameters()[name];
    w.mul_(compress::magnitude_mask(w, 0.8, recipe::MaskKind::parse(mask)));
  }
  return model;
}

}  // namespace

TEST_CASE("[4,4] and [2,4] masked CNN: tiles exported, engine equals the trainer's quantized evaluation",
          "[engine][parity][tiles]") {
  for (const auto& [mask, rows] : {std::pair{"[4,4]", 4u}, {"[2,4]", 2u}}) {
    INFO("mask " << mask << ", ISA " << kernels::isa_name(kernels::max_isa()));
    torch::manual_seed(9);
    auto model = masked_cnn(mask);
    exporter::ExportOptions options;
    options.activations = exporter::calibrate(exporter::lower_model(*model), {image_batch(16)});
    options.quantization_source = "calibration";
    const std::string bytes = exporter::build_file(exporter::lower_model(*model), options).serialize();
    const auto file = format::File::parse(bytes);
    for (const auto& op : file.graph()["ops"]) {
      if (op["name"] != "fc1" && op["name"] != "conv2") continue;
      const format::WeightsView w = file.weights(op);
      CHECK(w.format == format::WeightFormat::sparse_int8);
      CHECK(w.block_rows == rows);
    }
    attach_quantization(*model, options);
    engine::Classifier engine(load_bytes(bytes), {2, false});
    check_parity(engine_vs_model(engine, *model, image_batch(9)), kInt8Tolerance);
  }
}
