// One-shot pruning of a causal LM through the whole pipeline (docs/one_shot.md): a tiny Llama, pruned by the
// mapping form of a SparseGPT recipe and by a tagged Wanda one, measured by perplexity before and after; then
// one shot followed by SquareHead fine-tuning in one recipe; a sweep of a one-shot recipe.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <tuple>

#include "core/errors.h"
#include "core/files.h"
#include "models/checkpoint.h"
#include "models/safetensors.h"
#include "pipeline/run.h"
#include "pipeline/sweep.h"
#include "recipe/recipe.h"

using namespace sparrow;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

// Small real-looking text: 8 documents of a few hundred words each.
fs::path write_texts(const fs::path& dir) {
  const char* const sentences[] = {
      "The state of the union is strong and the people of this nation are free. ",
      "We must work together to build roads, schools and hospitals for every citizen. ",
      "Our economy has grown, and more families have found work than ever before. ",
      "Congress and the President share the duty to keep the nation safe and prosperous. "};
  fs::create_directories(dir / "texts");
  for (int d = 0; d < 8; ++d) {
    std::string text;
    for (int i = 0; i < 24; ++i) text += sentences[(d + i * 3) % 4];
    write_file_atomic(dir / "texts" / ("doc" + std::to_string(d) + ".txt"), text);
  }
  return dir / "texts";
}

const char* const kModel = R"(model: {name: llama, vocab_size: 300, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
        num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32}
)";

// Per output row of a [rows, cols] weight in a checkpoint, how many of its 1x4 blocks are all zero.
std::vector<int64_t> zero_blocks_per_row(const fs::path& checkpoint, const std::string& name, int64_t cols) {
  const auto saved = models::read_safetensors(checkpoint / "model.safetensors");
  const auto* w = saved.find(name);
  REQUIRE(w != nullptr);
  const auto* values = reinterpret_cast<const float*>(w->bytes.data());
  const auto rows = static_cast<int64_t>(w->bytes.size() / 4) / cols;
  std::vector<int64_t> out(static_cast<size_t>(rows), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < cols / 4; ++b) {
      bool zero = true;
      for (int64_t k = 0; k < 4; ++k) zero = zero && values[r * cols + b * 4 + k] == 0.0f;
      out[static_cast<size_t>(r)] += zero;
    }
  return out;
}

// A one-shot recipe over write_texts(dir) whose oneshot_stage holds `modifiers` (mapping form, indented), and
// sweep options that run it into dir/sweep.
pipeline::SweepOptions one_shot_sweep(const fs::path& dir, const std::string& modifiers) {
  const fs::path texts = write_texts(dir);
  write_file_atomic(dir / "gpt.yaml", std::string(kModel) + "data: {dataset: text, path: " + texts.string() +
                                          ", validation_fraction: 0.25, test_fraction: 0.125}\n"
                                          "train: {epochs: 0, batch_size: 4, seed: 0}\noneshot_stage:\n  obcq_modifiers:\n" + modifiers);
  pipeline::SweepOptions options;
  options.job.recipe_file = (dir / "gpt.yaml").string();
  options.job.out_dir = (dir / "sweep").string();
  return options;
}

}  // namespace

TEST_CASE("one-shot SparseGPT and Wanda prune a tiny Llama through the pipeline", "[one_shot][causal_lm]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_one_shot_llm_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path texts = write_texts(dir);
  const std::string data = "data: {dataset: text, path: " + texts.string() + ", validation_fraction: 0.25, test_fraction: 0.125}\n";
  write_file_atomic(dir / "gpt.yaml", std::string(kModel) + data + R"(train: {epochs: 0, batch_size: 4, eval_batch_size: 16, seed: 0}
oneshot_stage:
  obcq_modifiers:
    SparseGPTModifier: {sparsity: 0.5, mask_structure: "2:4", num_calibration_samples: 8, block_size: 16}
)");
  const auto gpt = pipeline::run(recipe::load_recipe(dir / "gpt.yaml"), {dir / "out_gpt", {}, 1}).report;
  CHECK(gpt["task"] == "causal_lm");
  CHECK(gpt["compressed"]["sparsity"].get<double>() == Approx(0.5));
  CHECK(gpt["dense"]["perplexity"].get<double>() > 1.0);
  CHECK(std::isfinite(gpt["compressed"]["perplexity"].get<double>()));
  REQUIRE(gpt["layers"].size() == 14);  // 2 layers x (q, k, v, o, gate, up, down)
  for (const auto& layer : gpt["layers"]) CHECK(layer["mask"] == "2:4");
  // The checkpoint holds the pruned weights.
  const auto saved = models::read_safetensors(dir / "out_gpt" / "checkpoint" / "model.safetensors");
  const auto* down = saved.find("model.layers.1.mlp.down_proj.weight");
  REQUIRE(down != nullptr);
  const auto* values = reinterpret_cast<const float*>(down->bytes.data());
  int64_t zeros = 0;
  for (size_t i = 0; i < down->bytes.size() / 4; ++i) zeros += values[i] == 0.0f;
  CHECK(zeros * 2 == static_cast<int64_t>(down->bytes.size() / 4));
  CHECK(read_file(dir / "out_gpt" / "recipe.resolved.yaml").find("!SparseGPTModifier") != std::string::npos);
  // The engine check of a causal LM: the exported INT8 file's perplexity on the same windows (the trainer's
  // figure is FP32, so close, not equal), and prefill and decode timed against LibTorch.
  const auto& engine = gpt["engine"];
  CHECK(engine["perplexity"].get<double>() == Approx(gpt["compressed"]["perplexity"].get<double>()).epsilon(0.05));
  CHECK(engine["scored_tokens"].get<int64_t>() > 0);
  for (const char* part : {"prefill", "decode"}) {
    INFO(part);
    CHECK(engine[part]["tokens"].get<int64_t>() == 16);  // half of the 32-token context each
    CHECK(engine[part]["speedup"].get<double>() > 0);
    CHECK(engine[part]["baseline_items_per_second"].get<double>() > 0);
  }
  CHECK(engine["speedup"] == engine["decode"]["speedup"]);

  write_file_atomic(dir / "wanda.yaml", std::string(kModel) + data + R"(train: {epochs: 0, batch_size: 4, seed: 0}
pruning_modifiers:
  - !WandaPruningModifier {sparsity: 0.5, mask_structure: block4, num_calibration_samples: 8, ignore: ["re:.*o_proj.*"]}
)");
  const auto wanda = pipeline::run(recipe::load_recipe(dir / "wanda.yaml"), {dir / "out_wanda", {}, 1}).report;
  REQUIRE(wanda["layers"].size() == 14);  // every prunable weight is listed; o_proj is ignored: not pruned
  for (const auto& layer : wanda["layers"]) {
    const bool ignored = layer["name"].get<std::string>().find("o_proj") != std::string::npos;
    CHECK(layer["mask"] == (ignored ? "none" : "block4"));
    CHECK(layer["sparsity"].get<double>() == Approx(ignored ? 0.0 : 0.5));
  }
  CHECK(wanda["compressed"]["sparsity"].get<double>() == Approx(0.5));
  fs::remove_all(dir);
}

TEST_CASE("one-shot pruning: golden errors at run time", "[one_shot][causal_lm][errors]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_one_shot_llm_errors_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path texts = write_texts(dir);
  const std::string head = std::string(kModel) + "data: {dataset: text, path: " + texts.string() + "}\ntrain: {epochs: 0}\n";
  write_file_atomic(dir / "few.yaml", head + "obcq_modifiers:\n  SparseGPTModifier: {sparsity: 0.5, num_calibration_samples: 100000}\n");
  CHECK_THROWS_WITH(pipeline::run(recipe::load_recipe(dir / "few.yaml"), {dir / "out1", {}, 1}),
                    Contains("few.yaml:6:3: num_calibration_samples of !SparseGPTModifier is 100000 but the training data has ") &&
                        Contains(" items; lower it, or raise data.train_limit"));
  write_file_atomic(dir / "nothing.yaml", head + "obcq_modifiers:\n  SparseGPTModifier: {sparsity: 0.5, targets: [\"re:.*conv.*\"]}\n");
  CHECK_THROWS_WITH(pipeline::run(recipe::load_recipe(dir / "nothing.yaml"), {dir / "out2", {}, 1}),
                    Contains("nothing.yaml:6:3: targets pattern 're:.*conv.*' of !SparseGPTModifier matches no parameter of the model"));
  CHECK_FALSE(fs::exists(dir / "out1"));
  fs::remove_all(dir);
}

TEST_CASE("one shot, then SquareHead fine-tuning with the masks held, in one recipe", "[one_shot][causal_lm][distill]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_one_shot_finetune_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path texts = write_texts(dir);
  const std::string head = std::string(kModel) + "data: {dataset: text, path: " + texts.string() +
                           ", validation_fraction: 0.25, test_fraction: 0.125}\n";
  const std::string one_shot = R"(oneshot_stage:
  obcq_modifiers:
    SparseGPTModifier: {sparsity: 0.7, mask_structure: block4, num_calibration_samples: 8, block_size: 16}
)";
  write_file_atomic(dir / "shot.yaml", head + "train: {epochs: 0, batch_size: 4, eval_batch_size: 16, seed: 0}\n" + one_shot);
  write_file_atomic(dir / "tune.yaml", head + "train: {epochs: 1, batch_size: 4, eval_batch_size: 16, lr: 0.001, seed: 0}\nteacher: self\n" +
                                           one_shot + R"(finetuning_stage:
  distillation_modifiers:
    OutputDistillationModifier: {targets: __ALL__, comparison: square_head, logits_scale: 1.0}
)");
  const auto shot = pipeline::run(recipe::load_recipe(dir / "shot.yaml"), {dir / "out_shot", {}, 1}).report;
  const auto tune = pipeline::run(recipe::load_recipe(dir / "tune.yaml"), {dir / "out_tune", {}, 1}).report;
  // The dense figure is the teacher's (the model before the one shot), the same as the one-shot run's.
  CHECK(tune["dense"]["perplexity"].get<double>() == Approx(shot["dense"]["perplexity"].get<double>()).epsilon(1e-6));
  CHECK(tune["epochs"].size() == 1);
  CHECK(tune["compressed"]["sparsity"].get<double>() == Approx(shot["compressed"]["sparsity"].get<double>()).epsilon(1e-9));
  // Per row, round(0.7 x blocks) blocks are zero after the one shot, and the same count after training: the
  // masks were held, while the kept weights moved.
  for (const auto& [name, cols, zero] : {std::tuple{"model.layers.0.self_attn.q_proj.weight", int64_t{32}, int64_t{6}},
                                         std::tuple{"model.layers.1.mlp.down_proj.weight", int64_t{64}, int64_t{11}}}) {
    const auto before = zero_blocks_per_row(dir / "out_shot" / "checkpoint", name, cols);
    const auto after = zero_blocks_per_row(dir / "out_tune" / "checkpoint", name, cols);
    CHECK(before == std::vector<int64_t>(before.size(), zero));
    CHECK(after == before);
  }
  const auto weight = [&](const char* out) {
    const auto saved = models::read_safetensors(dir / out / "checkpoint" / "model.safetensors");
    return std::string(saved.find("model.layers.1.mlp.down_proj.weight")->bytes);  // a copy: the view dies with `saved`
  };
  CHECK(weight("out_shot") != weight("out_tune"));
  fs::remove_all(dir);
}

TEST_CASE("compress sweep sets a one-shot modifier's sparsity and mask_structure and reports perplexity", "[one_shot][causal_lm][sweep]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_one_shot_sweep_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto options = one_shot_sweep(dir, "    SparseGPTModifier: {sparsity: 0.1, mask_structure: \"0:0\", num_calibration_samples: 8, block_size: 16}\n");
  options.axes.masks = {recipe::MaskKind::parse("block4"), recipe::MaskKind::parse("2:4")};
  options.axes.sparsities = {0.75};
  options.axes.int8s = {false};
  const auto points = pipeline::run_sweep(options);
  REQUIRE(points.size() == 2);
  for (const auto& [point, mask, sparsity] : {std::tuple{points[0], "block4", 0.75}, std::tuple{points[1], "2:4", 0.5}}) {
    INFO(point.name << ": " << point.error);
    REQUIRE(point.done);
    CHECK(point.trainer_perplexity.value() > 1.0);
    CHECK(point.engine_perplexity.value() > 1.0);
    CHECK(point.speedup.value() > 0);
    CHECK_FALSE(point.trainer_accuracy);
    const auto report = nlohmann::json::parse(read_file(dir / "sweep" / point.name / "report.json"));
    for (const auto& layer : report["layers"]) CHECK(layer["mask"] == mask);
    // 32- and 64-input rows: round(0.75 x 8) = 6 of 8 and 12 of 16 blocks, exactly 0.75; 2:4 exactly 0.5.
    CHECK(point.measured_sparsity.value() == Approx(sparsity));
  }
  CHECK_THAT(read_file(dir / "sweep" / "sweep.md"), Catch::Contains("ppl "));
  fs::remove_all(dir);
}

TEST_CASE("compress sweep --method puts each one-shot method in the recipe's place, with and without INT8",
          "[one_shot][causal_lm][sweep]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_one_shot_methods_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto options = one_shot_sweep(dir, "    SparseGPTModifier: {sparsity: 0.1, num_calibration_samples: 8, block_size: 16, quantize: true}\n"
                                     "    QuantizationModifier: {num_calibration_steps: 2}\n");
  options.axes.methods = {"magnitude", "sparsegpt"};
  options.axes.masks = {recipe::MaskKind::parse("block4")};
  options.axes.sparsities = {0.5};
  options.axes.int8s = {true, false};
  const auto points = pipeline::run_sweep(options);
  const std::vector<std::string> names = {"magnitude_block4_s0.5_int8", "magnitude_block4_s0.5_noqat",
                                          "sparsegpt_block4_s0.5_int8", "sparsegpt_block4_s0.5_noqat"};
  REQUIRE(points.size() == names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& p = points[i];
    INFO(p.name << ": " << p.error);
    CHECK(p.name == names[i]);
    REQUIRE(p.done);
    CHECK(p.method == (i < 2 ? "magnitude" : "sparsegpt"));
    const std::string resolved = read_file(dir / "sweep" / p.name / "recipe.resolved.yaml");
    CHECK(resolved.find(i < 2 ? "!MagnitudePruningModifier" : "!SparseGPTModifier") != std::string::npos);
    CHECK((resolved.find("!QuantizationModifier") != std::string::npos) == p.int8);
    if (i >= 2) CHECK(resolved.find(p.int8 ? "quantize: true" : "quantize: false") != std::string::npos);
    const auto report = nlohmann::json::parse(read_file(dir / "sweep" / p.name / "report.json"));
    CHECK(report["compressed"]["quantized"].get<bool>() == p.int8);
    for (const auto& layer : report["layers"]) CHECK(layer["mask"] == "block4");
    CHECK(p.measured_sparsity.value() == Approx(0.5).margin(0.02));
  }
  // The method recipes the points ran, written once.
  for (const char* file : {"magnitude_int8.yaml", "magnitude_noqat.yaml", "sparsegpt_int8.yaml", "sparsegpt_noqat.yaml"})
    CHECK(fs::is_regular_file(dir / "sweep" / "recipes" / file));
  CHECK_THAT(read_file(dir / "sweep" / "sweep.md"), Catch::Contains("| sparsegpt block4 | on | ppl "));
  // A recipe with no one-shot modifier to replace is refused before anything is written.
  write_file_atomic(dir / "none.yaml", std::string(kModel) + "train: {epochs: 0}\n");
  options.job.recipe_file = (dir / "none.yaml").string();
  options.job.out_dir = (dir / "sweep2").string();
  options.axes.int8s = {false};
  CHECK_THROWS_WITH(pipeline::run_sweep(options), Contains("--method: ") && Contains("has 0 !SparseGPTModifier or !WandaPruningModifier"));
  CHECK_FALSE(fs::exists(dir / "sweep2"));
  fs::remove_all(dir);
}
