// The command lines: `compress export` on a checkpoint folder and `sparrow inspect` on the result and on
// corrupt copies of it (exit 2 with the reader's message).
#include <catch2/catch.hpp>

#include <unistd.h>

#include "core/files.h"
#include "models/checkpoint.h"
#include "models/cnn.h"
#include "support/run_command.h"

using namespace sparrow;
using sparrow::testing::run_command;

namespace {

const std::string kCompress = std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress";
const std::string kSparrow = std::string(SPARROW_BINARY_DIR) + "/apps/sparrow/sparrow";

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_export_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A small CNN checkpoint whose fc1 is 90 % block sparse, with QAT's quantization.json for fc1.
fs::path write_checkpoint(const fs::path& dir) {
  models::CnnOptions o;
  o.image_size = 8;
  o.conv1_channels = 4;
  o.conv2_channels = 8;
  o.hidden = 32;
  models::Cnn cnn(o);
  {
    torch::NoGradGuard g;
    torch::Tensor w = cnn.named_parameters()["fc1.weight"];  // shares the parameter's storage
    const auto keep = (torch::rand({w.size(0), w.size(1) / 4, 1}) > 0.9).expand({-1, -1, 4}).reshape(w.sizes());
    w.mul_(keep.to(torch::kFloat32));
  }
  models::save_checkpoint(dir / "checkpoint", cnn);
  write_file_atomic(dir / "checkpoint" / "quantization.json", R"({"fc1": {"scale": 0.02, "zero_point": 0, "lo": 0, "hi": 5.1}})");
  return dir / "checkpoint";
}

}  // namespace

TEST_CASE("compress export writes a file sparrow inspect describes", "[cli][export]") {
  const fs::path dir = scratch("ok");
  const fs::path ckpt = write_checkpoint(dir), file = dir / "model.sparrow";
  const auto exported = run_command(kCompress + " export --checkpoint " + ckpt.string() + " --out " + file.string());
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);
  CHECK_THAT(exported.output, Catch::Contains("sparse_int8 1x4"));
  const auto exported_json = run_command(kCompress + " --json export --checkpoint " + ckpt.string() + " --out " +
                                         file.string() + " 2>/dev/null");
  REQUIRE(exported_json.exit_code == 0);
  for (const auto& l : nlohmann::json::parse(exported_json.output)["layers"]) {
    INFO(l.dump());
    CHECK(l.contains("tile") == (l["format"] == "sparse_int8"));
    if (l["name"] == "fc1") CHECK(l["tile"] == "1x4");
  }

  const auto text = run_command(kSparrow + " inspect " + file.string());
  INFO(text.output);
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.output, Catch::Contains("fc1") && Catch::Contains("sparse_int8") && Catch::Contains("dense FP32") &&
                              Catch::Contains("quantization.json") && Catch::Contains("all linear/conv2d layers"));

  const auto json = run_command(kSparrow + " inspect --json " + file.string() + " 2>/dev/null");
  REQUIRE(json.exit_code == 0);
  const auto j = nlohmann::json::parse(json.output);
  CHECK(j["metadata"]["sparrow.model"] == "cnn");
  CHECK(j["formats"]["sparse_int8"]["layers"] == 1);
  CHECK(j["formats"]["fp32"]["layers"] == 3);
  CHECK(j["file_bytes"] == fs::file_size(file));
  // Layer sizes: every stored array of a layer against its dense FP32 weights and bias.
  std::uint64_t stored = 0, dense = 0;
  for (const auto& op : j["ops"]) {
    if (!op.contains("layer")) continue;
    const auto& l = op["layer"];
    CHECK(l["stored_bytes"] == op["bytes"]);  // all of the layer's tensors
    CHECK(l["dense_fp32_bytes"] == l["out_features"].get<std::uint64_t>() * (l["in_features"].get<std::uint64_t>() + 1) * 4);
    stored += l["stored_bytes"].get<std::uint64_t>();
    dense += l["dense_fp32_bytes"].get<std::uint64_t>();
    if (op["name"] == "fc1") {
      CHECK(l["block_k4_dtype"] == "u8");
      CHECK(l["tile"] == "1x4");
      CHECK_THAT(text.output, Catch::Contains("sparse_int8 1x4"));
      CHECK(l["ratio"].get<double>() > 5);  // K = 32: the 12 bytes per row (row pointer, scale, bias) weigh much
      CHECK_THAT(text.output, Catch::Contains(l["ratio_text"].get<std::string>()));
    }
  }
  CHECK(j["layers_total"]["layers"] == 4);
  CHECK(j["layers_total"]["stored_bytes"] == stored);
  CHECK(j["layers_total"]["dense_fp32_bytes"] == dense);
  CHECK(j["encoder_linear_total"]["layers"] == 0);  // a CNN has no encoder
  fs::remove_all(dir);
}

TEST_CASE("sparrow inspect: a corrupt file is exit 2 with the reader's message", "[cli][export]") {
  const fs::path dir = scratch("corrupt");
  const fs::path ckpt = write_checkpoint(dir), file = dir / "model.sparrow";
  REQUIRE(run_command(kCompress + " export --checkpoint " + ckpt.string() + " --out " + file.string()).exit_code == 0);
  const std::string good = read_file(file);

  write_file_atomic(dir / "truncated.sparrow", good.substr(0, good.size() / 2));
  const auto truncated = run_command(kSparrow + " inspect " + (dir / "truncated.sparrow").string());
  CHECK(truncated.exit_code == 2);
  CHECK_THAT(truncated.output, Catch::Contains("truncated.sparrow") && Catch::Contains("truncated"));

  std::string flipped = good;
  flipped[flipped.size() - 5] ^= 0x10;
  write_file_atomic(dir / "flipped.sparrow", flipped);
  const auto bad = run_command(kSparrow + " inspect " + (dir / "flipped.sparrow").string());
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("checksum"));

  const auto missing = run_command(kSparrow + " inspect " + (dir / "nothing.sparrow").string());
  CHECK(missing.exit_code == 2);
  fs::remove_all(dir);
}

TEST_CASE("compress export: bad checkpoints are exit 2", "[cli][export]") {
  const fs::path dir = scratch("bad");
  CHECK(run_command(kCompress + " export --checkpoint " + (dir / "none").string() + " --out " + (dir / "m.sparrow").string())
            .exit_code == 2);
  const fs::path ckpt = write_checkpoint(dir);
  write_file_atomic(ckpt / "quantization.json", R"({"fc7": {"scale": 1, "zero_point": 0, "lo": 0, "hi": 1}})");
  const auto r = run_command(kCompress + " export --checkpoint " + ckpt.string() + " --out " + (dir / "m.sparrow").string());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("fc7"));
  CHECK_FALSE(fs::exists(dir / "m.sparrow"));
  fs::remove_all(dir);
}
