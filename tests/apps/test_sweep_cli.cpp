// compress sweep's bad input: exit 2 with one message naming the flag or the recipe, before any point runs.
#include <catch2/catch.hpp>
#include <unistd.h>

#include "core/files.h"
#include "support/run_command.h"

using namespace sparrow;
using sparrow::testing::run_command;

namespace {

const std::string kSweep = std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress sweep";
const std::string kRecipe = std::string(SPARROW_SOURCE_DIR) + "/tests/data/recipes/tiny_sweep.yaml";

}  // namespace

TEST_CASE("compress sweep: bad flags and recipes exit 2 with their message, writing nothing", "[cli][sweep]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_sweep_args_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string out = " --out " + (dir / "out").string();
  const auto error_of = [&](const std::string& args) {
    const auto r = run_command(kSweep + " " + args);
    CHECK(r.exit_code == 2);
    CHECK(!fs::exists(dir / "out"));
    return r.output;
  };
  CHECK(error_of("--recipe " + kRecipe + " --sparsity 0.9 --mask block4") ==
        "error: sweep needs --out DIR (each point is written to DIR/<point>/)\n");
  CHECK(error_of("--recipe " + kRecipe + " --mask block4" + out) == "error: sweep needs --sparsity, e.g. --sparsity 0.8,0.9,0.95\n");
  CHECK(error_of("--recipe " + kRecipe + " --sparsity 0.9,1.5 --mask block4" + out) ==
        "error: --sparsity: expected sparsities in (0, 1) separated by commas (e.g. 0.8,0.9), got '1.5'\n");
  // The sweep reads --mask with the recipe's own mask type: a mask no recipe takes is refused before any point.
  CHECK(error_of("--recipe " + kRecipe + " --sparsity 0.9 --mask 'block4,[2,8]'" + out) ==
        "error: --mask: block masks are 4 columns wide ([r, 4]: the engine's INT8 lane), got [2, 8]\n");
  CHECK(error_of("--recipe " + kRecipe + " --sparsity 0.9 --mask 'block4,4of2'" + out) ==
        "error: --mask: unknown mask_type '4of2'; valid: unstructured, block4, [r, 4] (e.g. [2, 4]) or \"N:M\" "
        "(e.g. \"2:4\")\n");
  CHECK(error_of("--recipe " + kRecipe + " --sparsity 0.9 --mask block4 --int8 yes" + out) ==
        "error: --int8: expected on, off or on,off; got 'yes'\n");
  CHECK(error_of("--recipe " + kRecipe + " --sparsity 0.9 --mask block4 --method wanda,magnitud" + out) ==
        "error: --method: expected magnitude, wanda or sparsegpt; got 'magnitud' (did you mean 'magnitude'?)\n");
  CHECK(error_of("--recipe " + kRecipe + " --sparsity 0.9 --mask block4 --method wanda" + out) ==
        "error: --method: " + kRecipe + " has 0 !SparseGPTModifier or !WandaPruningModifier; the sweep puts each method "
        "in the place of exactly one\n");
  CHECK(error_of("--recipe " + kRecipe + " --sparsity 0.9 --mask block4 --set train.epoch=3" + out) ==
        "error: --set train.epoch=3: unknown field 'epoch' in train (did you mean 'epochs'?)\n");

  const fs::path shared = dir / "shared.yaml";
  write_file_atomic(shared, "model: {name: cnn}\nmodifiers:\n  - !QuantizationModifier {start_epoch: 0}\n"
                            "  - !SetLearningRateModifier {start_epoch: 0, learning_rate: 0.1}\n");
  CHECK(error_of("--recipe " + shared.string() + " --sparsity 0.9 --mask block4" + out) ==
        "error: " + shared.string() + ": 2 errors:\n"
        "  " + shared.string() + ":4:5: !SetLearningRateModifier shares the list 'modifiers' with !QuantizationModifier; "
        "--int8 off drops that list, so give quantization a list of its own\n"
        "  the sweep needs a !GMPruningModifier, !MagnitudePruningModifier or !GlobalMagnitudePruningModifier whose "
        "final_sparsity and mask_type it sets, or a !SparseGPTModifier or !WandaPruningModifier whose sparsity and "
        "mask_structure it sets\n");
  fs::remove_all(dir);
}
