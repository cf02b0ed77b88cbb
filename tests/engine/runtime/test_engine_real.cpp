// The engine on the real trained checkpoints (slow): the full test set through the engine and through the
// trainer's quantized evaluation, with the figures issue 8 asks for printed. The checkpoints are the ones a
// `compress --recipe` run leaves; their folders come from SPARROW_CNN90I8_CHECKPOINT and
// SPARROW_BERT90_CHECKPOINT (skipped when absent).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "compress/quant/qat_hook.h"
#include "data/dataset.h"
#include "data/text/text_dataset.h"
#include "engine/kernels/isa.h"
#include "models/bert/bert_folder.h"
#include "models/bert/text_task.h"
#include "models/checkpoint.h"
#include "parity_fixtures.h"

using namespace sparrow;
using namespace sparrow::engine_test;
namespace fs = std::filesystem;

namespace {

fs::path checkpoint(const char* env, const char* fallback) {
  const char* v = std::getenv(env);
  return v != nullptr ? fs::path(v) : fs::path(fallback);
}

struct Evaluation {
  Comparison vs_trainer;
  double engine_accuracy = 0;
  double trainer_accuracy = 0;
};

// Engine and trainer over the whole set in batches of 64.
Evaluation evaluate(engine::Classifier& engine, models::Classifier& model, const data::Dataset& set) {
  Evaluation e;
  std::size_t engine_correct = 0, trainer_correct = 0;
  torch::NoGradGuard g;
  for (std::int64_t begin = 0; begin < set.size(); begin += 64) {
    const auto batch = set.batch(torch::arange(begin, std::min(set.size(), begin + 64), torch::kInt64));
    const auto predictions = run_engine(engine, batch);
    const auto reference = model.logits(batch);
    const Comparison c = compare_logits(predictions, reference);
    e.vs_trainer.items += c.items;
    e.vs_trainer.agree += c.agree;
    e.vs_trainer.max_diff = std::max(e.vs_trainer.max_diff, c.max_diff);
    const auto labels = batch.labels.accessor<std::int64_t, 1>();
    const auto ref_pred = reference.argmax(1);
    for (std::size_t i = 0; i < predictions.size(); ++i) {
      engine_correct += predictions[i].label == static_cast<std::size_t>(labels[static_cast<std::int64_t>(i)]);
      trainer_correct += ref_pred[static_cast<std::int64_t>(i)].item<std::int64_t>() == labels[static_cast<std::int64_t>(i)];
    }
  }
  e.engine_accuracy = static_cast<double>(engine_correct) / static_cast<double>(set.size());
  e.trainer_accuracy = static_cast<double>(trainer_correct) / static_cast<double>(set.size());
  return e;
}

void report_and_check(const std::string& what, const Evaluation& e) {
  const double agreement = static_cast<double>(e.vs_trainer.agree) / static_cast<double>(e.vs_trainer.items);
  std::cout << what << " [ISA " << kernels::isa_name(kernels::max_isa()) << "]: engine accuracy " << e.engine_accuracy
            << ", trainer accuracy " << e.trainer_accuracy << ", agreement " << agreement << " (" << e.vs_trainer.agree << " of "
            << e.vs_trainer.items << "), max logit diff " << e.vs_trainer.max_diff << std::endl;
  CHECK(agreement >= 0.995);
  CHECK(std::abs(e.engine_accuracy - e.trainer_accuracy) <= 0.002);
}

}  // namespace

TEST_CASE("cnn90i8 (Fashion-MNIST, 90 % block4, QAT): engine vs the trainer's quantized evaluation", "[engine][real]") {
  const fs::path dir = checkpoint("SPARROW_CNN90I8_CHECKPOINT", "/tmp/cnn90i8/checkpoint");
  if (!fs::exists(dir / "quantization.json")) {
    WARN("skipped: no QAT checkpoint at " << dir.string());
    return;
  }
  const fs::path file = fs::temp_directory_path() / ("sparrow_engine_cnn90i8_" + std::to_string(::getpid()) + ".sparrow");
  exporter::export_checkpoint(dir, file, {});
  auto model = models::load_checkpoint(dir);
  compress::load_quantization(dir, *model);
  model->eval();
  recipe::DataSpec spec;
  spec.dataset = "fashion_mnist";
  const data::Dataset test = data::load_dataset(spec, data::Split::Test);
  engine::Classifier engine(engine::Model::load(file), {2, false});
  const Evaluation e = evaluate(engine, *model, test);
  fs::remove(file);
  report_and_check("cnn90i8", e);
  CHECK(e.vs_trainer.max_diff <= kInt8Tolerance);
}

TEST_CASE("bert90 (e-mails, 90 % unstructured): engine vs the trainer, FP32 and calibrated INT8 exports", "[engine][real]") {
  const fs::path dir = checkpoint("SPARROW_BERT90_CHECKPOINT", "/tmp/bert90_run3/checkpoint");
  if (!fs::exists(dir / "config.json")) {
    WARN("skipped: no checkpoint at " << dir.string());
    return;
  }
  auto model = models::bert::load_bert_folder(dir, /*allow_new_head=*/false);
  model->eval();
  recipe::DataSpec spec;
  spec.dataset = "spam_assassin";
  const data::Dataset test = models::bert::encode_for(*model, data::text::load_text_dataset(spec, data::Split::Test));
  const fs::path file = fs::temp_directory_path() / ("sparrow_engine_bert90_" + std::to_string(::getpid()) + ".sparrow");

  SECTION("FP32 export against the trainer's evaluation") {
    exporter::export_model(*model, file, {});
    engine::Classifier engine(engine::Model::load(file), {2, false});
    const Evaluation e = evaluate(engine, *model, test);
    report_and_check("bert90 fp32", e);
    CHECK(e.vs_trainer.max_diff <= kFp32Tolerance);
  }
  SECTION("INT8 export calibrated as `compress export --data spam_assassin` does, against the same quantization in the trainer") {
    recipe::DataSpec train = spec;
    train.train_limit = 8 * 64;
    const data::Dataset calib_set = models::bert::encode_for(*model, data::text::load_text_dataset(train, data::Split::Train));
    exporter::ExportOptions options;
    options.activations = exporter::calibrate(exporter::lower_model(*model), exporter::calibration_batches(calib_set, 8, 64));
    options.quantization_source = "calibration";
    exporter::export_model(*model, file, options);
    attach_quantization(*model, options);
    engine::Classifier engine(engine::Model::load(file), {2, false});
    const Evaluation e = evaluate(engine, *model, test);
    report_and_check("bert90 int8 (calibrated)", e);
    CHECK(e.vs_trainer.max_diff <= kInt8Tolerance);
  }
  fs::remove(file);
}
