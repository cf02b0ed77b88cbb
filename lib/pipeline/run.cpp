#include "pipeline/run.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>

#include "compress/distributed/process_group.h"
#include "compress/one_shot.h"
#include "compress/quant/qat_hook.h"
#include "compress/report.h"
#include "compress/trainer.h"
#include "compress/training_checkpoint.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/interrupt.h"
#include "core/logging.h"
#include "core/machine.h"
#include "core/sha256.h"
#include "data/text/text_dataset.h"
#include "export/exporter.h"
#include "models/checkpoint.h"
#include "models/model_factory.h"
#include "models/safetensors.h"
#include "pipeline/causal_lm_engine_check.h"
#include "pipeline/engine_check.h"
#include "pipeline/report_html.h"
#include "pipeline/run_identity.h"
#include "pipeline/task_data.h"
#include "recipe/diagnostics.h"
#include "recipe/gates.h"
#include "recipe/param_patterns.h"

namespace sparrow::pipeline {

namespace {

// What the recipe language accepts but this trainer cannot run yet, so that a
// recipe never runs silently without it. Modifiers the trainer has no class
// for are refused by the modifier registry.
void check_trainable(const recipe::Recipe& r) {
  std::vector<std::string> errors;
  if (r.model.name.empty()) errors.push_back(r.file.string() + ": training needs a model: section with name:");
  for (const auto& m : r.modifiers) {
    const recipe::GMPruningParams* gm = std::get_if<recipe::GMPruningParams>(&m.params);
    if (const auto* global = std::get_if<recipe::GlobalMagnitudePruningParams>(&m.params)) gm = global;
    if (gm && gm->init_sparsity_from_param)
      errors.push_back(m.location + ": init_sparsity __FROM_PARAM__ of !" + m.tag +
                       " is valid but this trainer needs a number so far");
  }
  if (!errors.empty()) throw BadInput(recipe::join_errors(r.file.string(), errors));
}

nlohmann::json totals_json(const exporter::LayerTotals& t) {
  if (t.layers == 0) return nullptr;
  return {{"layers", t.layers}, {"stored_bytes", t.stored_bytes}, {"dense_fp32_bytes", t.dense_fp32_bytes}, {"ratio", t.ratio()}};
}

// The engine's file of the trained checkpoint, inside the staging folder. Activation ranges come from QAT's
// quantization.json, else from min/max over the first training batches (as `compress export --data` does).
// `untrained`: the weights are the seeded random initialisation (a one-shot run of a model built from scratch),
// which the file's metadata says.
nlohmann::json export_model_file(const recipe::Recipe& r, const fs::path& staging, const fs::path& out,
                                 const data::Dataset& train_set, const compress::TrainResult& result, bool untrained) {
  exporter::ExportOptions options;
  options.recipe_sha256 = sha256_hex(r.text);
  const bool lm = train_set.task == data::TaskKind::CausalLm;
  if (!lm) options.trainer_accuracy = result.final_accuracy;
  if (untrained)
    options.metadata["sparrow.weights"] =
        fmt::format("untrained (random initialisation, seed {}), one-shot compressed; for speed measurements only", r.train.seed);
  if (!data::text::is_text_dataset(r.data.dataset)) options.labels = train_set.label_names;
  options.input_normalization = train_set.normalization;
  // Without a quantization.json the file is calibrated here: 512 items, or 32 context windows of a causal LM
  // (each a whole context of tokens, through the reference interpreter).
  const auto calibration = lm ? exporter::calibration_batches(train_set, 4, 8) : exporter::calibration_batches(train_set, 8, 64);
  const auto summary = exporter::export_checkpoint(staging / "checkpoint", staging / r.export_spec.file, options, calibration);
  const auto encoder = exporter::layer_totals(summary, /*encoder_only=*/true);
  const auto all = exporter::layer_totals(summary, /*encoder_only=*/false);
  const auto& shown = encoder.layers ? encoder : all;
  spdlog::info("exported {} ({} bytes): {} layers take {} of {} dense FP32 bytes (1/{:.1f})", r.export_spec.file,
               summary.file_bytes, encoder.layers ? "the encoder's linear" : "all", shown.stored_bytes,
               shown.dense_fp32_bytes, shown.ratio());
  return {{"file", (out / r.export_spec.file).string()},
          {"bytes", summary.file_bytes},
          {"encoder_linear", totals_json(encoder)},
          {"layers", totals_json(all)}};
}

bool is_recipe(const fs::path& p) { return p.extension() == ".yaml" || p.extension() == ".yml"; }

// Whether `dir` holds a checkpoint trained from the recipe text of this SHA-256.
bool trained_from(const fs::path& dir, const std::string& sha) {
  const fs::path weights = dir / "checkpoint" / "model.safetensors";
  if (!fs::is_regular_file(weights)) return false;
  const auto meta = models::read_safetensors(weights).metadata;
  const auto it = meta.find("recipe_sha256");
  return it != meta.end() && it->second == sha;
}

// model.from naming a recipe: that recipe's trained model is the starting point.
// It is trained into <staging>/teacher unless the previous run left one in
// <out>/teacher trained from the same recipe text, which is reused. A resumed run
// (`resume`) reuses the one it trained before it stopped, or resumes its training;
// one that continues its own checkpoint (`continuing`) must find it unchanged.
fs::path ensure_teacher(const fs::path& teacher_recipe, const fs::path& out, StagedDir& staging, int threads,
                        bool resume, bool continuing) {
  const fs::path cached = out / "teacher", target = staging.path() / "teacher";
  // Every rank reads rank 0's: a resumed distributed run shares its folder (docs/resume.md).
  const fs::path trained_before = fs::path(out.string() + ".partial") / "teacher";
  const std::string sha = sha256_hex(read_file(teacher_recipe));
  // Where the starting model comes from: trained before a resumed run stopped, cached by a previous run, or
  // trained now.
  enum Source { Resumed, Cached, Train };
  const Source source = resume && trained_from(trained_before, sha) ? Resumed
                        : trained_from(cached, sha)                 ? Cached
                                                                    : Train;
  if (continuing && source != Resumed)
    throw BadInput(fmt::format("--resume: {} was started from the model trained by {}, and {} no longer holds it "
                               "(the recipe changed, or the folder did); resume with the same recipes, or remove {} "
                               "to start over. Nothing was changed",
                               staging.path().string(), teacher_recipe.string(), trained_before.string(),
                               staging.path().string()));
  if (source == Train && fs::exists(cached / "checkpoint"))
    spdlog::info("{} was trained from another version of {}; training again", cached.string(), teacher_recipe.string());
  // Every rank must take the same branch: ranks on other machines need the same cached folder.
  compress::distributed::require_same("where the starting model of " + teacher_recipe.string() +
                                          " comes from (trained now, cached in " + cached.string() +
                                          ", or trained before a resumed run stopped)",
                                      source);
  if (source == Resumed) {
    spdlog::info("reusing the model trained by {} before the run stopped", teacher_recipe.string());
    return trained_before / "checkpoint";
  }
  fs::remove_all(target);  // a resumed run's, trained from another version of the recipe
  if (source == Cached) {
    spdlog::info("reusing the model trained by {} from {}", teacher_recipe.string(), cached.string());
    fs::copy(cached, target, fs::copy_options::recursive);
    return target / "checkpoint";
  }
  spdlog::info("training the starting model with {} (cached in {})", teacher_recipe.string(), cached.string());
  // The starting model's gates hold as the run's own: a failed one stops the run.
  RunOptions nested{target, {}, threads, StagedDir::resumable(target), [&staging] { staging.keep_for_resume("teacher.partial"); }};
  const RunResult teacher = run(recipe::load_recipe(teacher_recipe, {}), nested);
  if (!teacher.gate_failures.empty()) throw GateFailed(teacher.gate_failures);
  staging.keep_for_resume("teacher");  // trained: a resumed run starts from it
  log_to_file(staging.path() / "log.txt");
  return target / "checkpoint";
}

}  // namespace

fs::path default_output_folder(const fs::path& recipe_file) { return fs::path("out") / recipe_file.stem(); }

RunResult run(const recipe::Recipe& r, const RunOptions& options) {
  catch_interrupts();
  const auto started = std::chrono::steady_clock::now();
  namespace dist = compress::distributed;
  const std::string recipe_file = r.file.string();
  check_trainable(r);
  for (const auto& w : r.warnings) spdlog::warn("{}", w);
  const fs::path& out = options.out;

  // Rank 0 alone writes the outputs; the others stage into a private scratch
  // folder (for a starting model they train) that is removed when they finish,
  // and named after the job's output so that a rerun replaces one left by a kill.
  const auto scratch = [&] {
    const size_t job = std::hash<std::string>{}(fs::absolute(out).lexically_normal().string());
    return fs::temp_directory_path() / fmt::format("sparrow-{:016x}-rank{}", job, dist::rank());
  };
  const bool resume = options.resume;
  StagedDir staging(dist::rank() == 0 ? out : scratch(), "--out",
                    resume && dist::rank() == 0 ? Staging::Resume : Staging::Fresh);
  // Every rank resumes from rank 0's checkpoints (a file system the ranks share: docs/resume.md).
  const fs::path checkpoints = fs::path(out.string() + ".partial") / "resume";
  nlohmann::json identity = recipe_and_binary_identity(r);
  // A resumed run checks what it continues before it changes anything in the folder, the log included.
  const nlohmann::json saved = resume ? compress::read_latest_checkpoint_state(checkpoints) : nlohmann::json(nullptr);
  if (!saved.is_null()) check_same_run(saved.at("identity"), identity, staging.path());
  else log_to_file(staging.path() / "log.txt");

  nlohmann::json model_config = r.model.options;
  model_config["name"] = r.model.name;
  // model.from: a model folder or a recipe whose trained model to start from
  // (relative to the recipe's folder); --model overrides it.
  fs::path from, from_recipe;
  if (model_config.contains("from")) {
    if (!model_config["from"].is_string()) throw BadInput(recipe_file + ": model.from must be a path");
    from = r.file.parent_path() / model_config["from"].get<std::string>();
    model_config.erase("from");
  }
  if (!options.model_dir.empty()) from = options.model_dir;
  if (is_recipe(from)) {
    from_recipe = from;
    from = ensure_teacher(from, out, staging, options.threads, resume, !saved.is_null());
  }

  torch::manual_seed(r.train.seed);
  Task task = prepare_task(model_config, r.data, from, recipe_file);
  const std::shared_ptr<models::Classifier> model = task.model;
  const data::Dataset& train_set = task.train;
  const data::Dataset& test_set = task.test;
  models::check_data_fits(*model, train_set);
  recipe::ModelParams params;
  for (const auto& p : model->named_parameters()) params.all.push_back(p.key());
  params.prunable = model->prunable_parameters();
  if (const auto errors = recipe::check_against_model(r, params); !errors.empty())
    throw BadInput(recipe::join_errors(recipe_file, errors));
  spdlog::info("recipe {}: model {}, {} train / {} test items of {}", recipe_file, r.model.name, train_set.size(),
               test_set.size(), train_set.name);
  // The distillation teacher: a copy of the starting model (teacher: self), or
  // a checkpoint folder or recipe (its trained model), relative to the recipe.
  std::shared_ptr<models::Classifier> teacher;
  if (r.teacher.self) {
    teacher = models::clone_model(*model);
  } else if (!r.teacher.checkpoint.empty()) {
    fs::path dir = r.file.parent_path() / r.teacher.checkpoint;
    if (is_recipe(dir)) dir = fs::equivalent(dir, from_recipe) ? from : ensure_teacher(dir, out, staging, options.threads, resume, !saved.is_null());
    teacher = models::load_checkpoint(dir);
  }
  add_data_and_teacher(identity, train_set, test_set, teacher.get());
  if (!saved.is_null()) {
    check_same_run(saved.at("identity"), identity, staging.path());
    log_to_file(staging.path() / "log.txt");
  }
  compress::Checkpointing checkpointing{checkpoints, r.train.save_steps, identity, !saved.is_null(), [&] {
                                          staging.keep_for_resume(checkpoints.filename().string());
                                          if (options.on_resumable) options.on_resumable();
                                        }};
  const compress::TrainResult result = compress::train(r, *model, train_set, test_set, teacher.get(), &checkpointing);
  throw_if_interrupted("after training, before writing the outputs");

  const std::map<std::string, std::string> metadata = {{"recipe_sha256", sha256_hex(r.text)}};
  models::save_checkpoint(staging.path() / "checkpoint", *model, metadata);
  compress::save_quantization(staging.path() / "checkpoint", *model);
  if (dist::rank() != 0) {  // its checkpoint only serves a nested run as its starting model
    close_log_file();
    return {};
  }
  write_file_atomic(staging.path() / "recipe.resolved.yaml", recipe::resolved_yaml(r));
  const bool untrained = compress::is_one_shot(r) && from.empty();
  const bool lm = train_set.task == data::TaskKind::CausalLm;
  const nlohmann::json exported = export_model_file(r, staging.path(), out, train_set, result, untrained);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  nlohmann::json report = compress::make_report({r, train_set, test_set, *model, result, wall});
  report["export"] = exported;
  if (lm)
    add_causal_lm_engine_check(report, staging.path() / r.export_spec.file, test_set, *model, teacher.get());
  else
    add_engine_check(report, staging.path() / r.export_spec.file, test_set, *model, teacher.get(), options.threads,
                     r.gates.speedup_batch, r.gates.speedup_threads);
  const auto gates = recipe::evaluate_gates(r.gates, report);
  report["gates"] = recipe::gates_json(gates);
  report["machine"] = machine_json();
  write_file_atomic(staging.path() / "report.json", report.dump(2) + "\n");
  write_report_html(staging.path());
  if (lm)
    spdlog::info("dense perplexity {}, compressed perplexity {:.3f} at sparsity {:.4f}; outputs in {}",
                 result.dense_perplexity ? fmt::format("{:.3f}", *result.dense_perplexity) : "n/a", result.final_perplexity,
                 result.final_sparsity, out.string());
  else
    spdlog::info("dense accuracy {}, compressed accuracy {:.4f} at sparsity {:.4f}; outputs in {}",
                 result.dense_accuracy ? fmt::format("{:.4f}", *result.dense_accuracy) : "n/a", result.final_accuracy,
                 result.final_sparsity, out.string());
  close_log_file();
  throw_if_interrupted("before moving the finished outputs into place");
  // The checkpoints served the unfinished run; the finished one does not carry them.
  fs::remove_all(checkpoints);
  staging.commit();
  return {report, recipe::gate_failures(gates)};
}

}  // namespace sparrow::pipeline
