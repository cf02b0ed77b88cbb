// `compress --recipe FILE`: train, prune and evaluate; write the checkpoint,
// model.sparrow, report.json, the resolved recipe and the log into the output folder.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <functional>
#include <optional>
#include <thread>

#include "apps/compress/command.h"
#include "compress/distributed/launch.h"
#include "compress/distributed/process_group.h"
#include "compress/one_shot.h"
#include "compress/quant/qat_hook.h"
#include "compress/report.h"
#include "compress/trainer.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/interrupt.h"
#include "core/logging.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "data/text/text_dataset.h"
#include "export/exporter.h"
#include "models/bert/bert_folder.h"
#include "models/bert/text_task.h"
#include "models/checkpoint.h"
#include "models/model_factory.h"
#include "models/safetensors.h"
#include "recipe/diagnostics.h"
#include "apps/compress/engine_check.h"
#include "recipe/gates.h"
#include "recipe/param_patterns.h"
#include "recipe/recipe.h"

namespace sparrow::apps {

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
  options.trainer_accuracy = result.final_accuracy;
  if (untrained)
    options.metadata["sparrow.weights"] =
        fmt::format("untrained (random initialisation, seed {}), one-shot compressed; for speed measurements only", r.train.seed);
  if (!data::text::is_text_dataset(r.data.dataset)) options.labels = train_set.label_names;
  options.input_normalization = train_set.normalization;
  const auto summary = exporter::export_checkpoint(staging / "checkpoint", staging / r.export_spec.file, options,
                                                   exporter::calibration_batches(train_set, 8, 64));
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

fs::path output_folder(const TrainFlags& flags) {
  return flags.out_dir.empty() ? fs::path("out") / fs::path(flags.recipe_file).stem() : fs::path(flags.out_dir);
}

bool is_recipe(const fs::path& p) { return p.extension() == ".yaml" || p.extension() == ".yml"; }

// model.from naming a recipe: that recipe's trained model is the starting point.
// It is trained into <staging>/teacher unless the previous run left one in
// <out>/teacher trained from the same recipe text, which is reused.
fs::path ensure_teacher(const fs::path& teacher_recipe, const fs::path& out, const StagedDir& staging,
                        const CommonFlags& common) {
  const fs::path cached = out / "teacher", target = staging.path() / "teacher";
  const std::string sha = sha256_hex(read_file(teacher_recipe));
  const fs::path cached_weights = cached / "checkpoint" / "model.safetensors";
  bool reuse = false;
  if (fs::is_regular_file(cached_weights)) {
    const auto meta = models::read_safetensors(cached_weights).metadata;
    const auto it = meta.find("recipe_sha256");
    reuse = it != meta.end() && it->second == sha;
    if (!reuse)
      spdlog::info("{} was trained from another version of {}; training again", cached.string(), teacher_recipe.string());
  }
  // Every rank must take the same branch: ranks on other machines need the same cached folder.
  compress::distributed::require_same("whether " + cached.string() + " holds a reusable starting model", reuse);
  if (reuse) {
    spdlog::info("reusing the model trained by {} from {}", teacher_recipe.string(), cached.string());
    fs::copy(cached, target, fs::copy_options::recursive);
    return target / "checkpoint";
  }
  spdlog::info("training the starting model with {} (cached in {})", teacher_recipe.string(), cached.string());
  CommonFlags quiet = common;
  quiet.json = false;
  TrainFlags teacher_flags;
  teacher_flags.recipe_file = teacher_recipe.string();
  teacher_flags.out_dir = target.string();
  run_train(teacher_flags, quiet);
  log_to_file(staging.path() / "log.txt");
  return target / "checkpoint";
}

// --nproc N: this process only launches N ranks of itself with the same arguments.
int launch_local_ranks(const TrainFlags& flags, const CommonFlags& common) {
  std::vector<std::string> args;
  const auto own = compress::distributed::own_arguments();
  for (size_t i = 0; i < own.size(); ++i) {
    if (own[i] == "--nproc") ++i;
    else if (own[i].rfind("--nproc=", 0) != 0) args.push_back(own[i]);
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = common.threads > 0 ? common.threads : std::max(1, cores / flags.nproc);
  return compress::distributed::run_local_ranks(
      flags.nproc, args, std::chrono::milliseconds(static_cast<int64_t>(flags.dist_timeout * 1000)), threads);
}

int run_train_rank(const TrainFlags& flags, const CommonFlags& common);

}  // namespace

int run_train(const TrainFlags& flags, const CommonFlags& common) {
  namespace dist = compress::distributed;
  const auto env = dist::launch_env_from_environment();
  if (flags.nproc > 0 && !env) return launch_local_ranks(flags, common);
  if (flags.nproc > 0) spdlog::warn("--nproc ignored: this process is rank {} of a launched job", env->rank);
  catch_interrupts();
  std::optional<dist::Session> session;  // a nested run (the starting model) reuses the open one
  if (env && !dist::active()) {
    if (flags.dist_timeout <= 0) throw BadInput("--dist-timeout must be a positive number of seconds");
    session.emplace(*env, dist::Options{std::chrono::milliseconds(static_cast<int64_t>(flags.dist_timeout * 1000))});
    // Only rank 0 talks on the console (and draws progress), unless asked for debug output.
    if (env->rank != 0 && !common.verbose) spdlog::default_logger()->set_level(spdlog::level::warn);
  }
  try {
    return run_train_rank(flags, common);
  } catch (const dist::PeerFailure&) {
    throw;
  } catch (const std::exception& e) {
    dist::report_failure(e.what());
    throw;
  }
}

namespace {

int run_train_rank(const TrainFlags& flags, const CommonFlags& common) {
  if (flags.recipe_file.empty()) throw BadInput("--recipe is required (e.g. compress --recipe recipes/fashion_cnn90.yaml)");
  const auto started = std::chrono::steady_clock::now();
  namespace dist = compress::distributed;
  recipe::Recipe r = recipe::load_recipe(flags.recipe_file, flags.overrides.overrides());
  if (flags.seed >= 0) r.train.seed = static_cast<uint64_t>(flags.seed);
  check_trainable(r);
  for (const auto& w : r.warnings) spdlog::warn("{}", w);
  const fs::path out = output_folder(flags);

  // Rank 0 alone writes the outputs; the others stage into a private scratch
  // folder (for a starting model they train) that is removed when they finish,
  // and named after the job's output so that a rerun replaces one left by a kill.
  const auto scratch = [&] {
    const size_t job = std::hash<std::string>{}(fs::absolute(out).lexically_normal().string());
    return fs::temp_directory_path() / fmt::format("sparrow-{:016x}-rank{}", job, dist::rank());
  };
  StagedDir staging(dist::rank() == 0 ? out : scratch(), "--out");
  log_to_file(staging.path() / "log.txt");

  nlohmann::json model_config = r.model.options;
  model_config["name"] = r.model.name;
  // model.from: a model folder or a recipe whose trained model to start from
  // (relative to the recipe's folder); --model overrides it.
  fs::path from, from_recipe;
  if (model_config.contains("from")) {
    if (!model_config["from"].is_string()) throw BadInput(flags.recipe_file + ": model.from must be a path");
    from = fs::path(flags.recipe_file).parent_path() / model_config["from"].get<std::string>();
    model_config.erase("from");
  }
  if (!flags.model_dir.empty()) from = flags.model_dir;
  if (is_recipe(from)) {
    from_recipe = from;
    from = ensure_teacher(from, out, staging, common);
  }

  torch::manual_seed(r.train.seed);
  std::shared_ptr<models::Classifier> model;
  data::Dataset train_set, test_set;
  if (data::text::is_text_dataset(r.data.dataset)) {
    auto task = models::bert::prepare_text_task(model_config, r.data, from, flags.recipe_file);
    model = task.model;
    train_set = std::move(task.train);
    test_set = std::move(task.test);
  } else {
    model = from.empty() ? models::build_model(model_config, flags.recipe_file) : models::load_checkpoint(from);
    train_set = data::load_dataset(r.data, data::Split::Train);
    test_set = data::load_dataset(r.data, data::Split::Test);
  }
  models::check_data_fits(*model, train_set);
  recipe::ModelParams params;
  for (const auto& p : model->named_parameters()) params.all.push_back(p.key());
  params.prunable = model->prunable_parameters();
  if (const auto errors = recipe::check_against_model(r, params); !errors.empty())
    throw BadInput(recipe::join_errors(flags.recipe_file, errors));
  spdlog::info("recipe {}: model {}, {} train / {} test items of {}", flags.recipe_file, r.model.name,
               train_set.size(), test_set.size(), train_set.name);
  // The distillation teacher: a copy of the starting model (teacher: self), or
  // a checkpoint folder or recipe (its trained model), relative to the recipe.
  std::shared_ptr<models::Classifier> teacher;
  if (r.teacher.self) {
    teacher = models::clone_model(*model);
  } else if (!r.teacher.checkpoint.empty()) {
    fs::path dir = fs::path(flags.recipe_file).parent_path() / r.teacher.checkpoint;
    if (is_recipe(dir)) dir = fs::equivalent(dir, from_recipe) ? from : ensure_teacher(dir, out, staging, common);
    teacher = models::load_checkpoint(dir);
  }
  const compress::TrainResult result = compress::train(r, *model, train_set, test_set, teacher.get());
  throw_if_interrupted("after training, before writing the outputs");

  const std::map<std::string, std::string> metadata = {{"recipe_sha256", sha256_hex(r.text)}};
  models::save_checkpoint(staging.path() / "checkpoint", *model, metadata);
  compress::save_quantization(staging.path() / "checkpoint", *model);
  if (dist::rank() != 0) {  // its checkpoint only serves a nested run as its starting model
    close_log_file();
    return 0;
  }
  write_file_atomic(staging.path() / "recipe.resolved.yaml", recipe::resolved_yaml(r));
  const bool untrained = compress::is_one_shot(r) && from.empty();
  const nlohmann::json exported = export_model_file(r, staging.path(), out, train_set, result, untrained);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  nlohmann::json report = compress::make_report({r, train_set, test_set, *model, result, wall});
  report["export"] = exported;
  add_engine_check(report, staging.path() / r.export_spec.file, test_set, *model, teacher.get(), common.threads);
  const auto gates = recipe::evaluate_gates(r.gates, report);
  report["gates"] = recipe::gates_json(gates);
  write_file_atomic(staging.path() / "report.json", report.dump(2) + "\n");
  spdlog::info("dense accuracy {}, compressed accuracy {:.4f} at sparsity {:.4f}; outputs in {}",
               result.dense_accuracy ? fmt::format("{:.4f}", *result.dense_accuracy) : "n/a", result.final_accuracy,
               result.final_sparsity, out.string());
  close_log_file();
  throw_if_interrupted("before moving the finished outputs into place");
  staging.commit();
  if (common.json) std::cout << report.dump(2) << std::endl;
  // Gates fail the run only after every output is written, so CI can read why.
  if (const std::string failed = recipe::gate_failures(gates); !failed.empty()) throw GateFailed(failed);
  return 0;
}

}  // namespace

Action register_train(CLI::App& app, const CommonFlags& common) {
  auto flags = std::make_shared<TrainFlags>();
  app.add_option("--recipe", flags->recipe_file, "Recipe file (YAML) to train with");
  app.add_option("--out", flags->out_dir, "Output folder (default: out/<recipe name>)");
  app.add_option("--seed", flags->seed, "Seed overriding train.seed");
  add_override_flags(app, flags->overrides);
  app.add_option("--nproc", flags->nproc, "Train data-parallel with N local processes (ranks); see docs/distributed.md")
      ->check(CLI::Range(1, 1024));
  app.add_option("--dist-timeout", flags->dist_timeout,
                 "Seconds a rank waits for the others before failing (distributed runs; default 120)")
      ->envname("SPARROW_DIST_TIMEOUT");
  app.add_option("--model", flags->model_dir,
                 "Start from this model folder (a Hugging Face BERT folder or a Sparrow checkpoint) instead of model.from");
  return [flags, &common] {
    try {
      return run_train(*flags, common);
    } catch (const Interrupted& e) {
      // The staged folder was removed on the way out; a user who pressed Ctrl-C wants to know what is left.
      throw Interrupted(e.signal(), fmt::format("{}; nothing was written: {} is as it was", e.what(),
                                                output_folder(*flags).string()));
    }
  };
}

}  // namespace sparrow::apps
