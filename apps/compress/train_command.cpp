// `compress --recipe FILE`: train, prune and evaluate; write the checkpoint, model.sparrow, report.json, the
// resolved recipe and the log into the output folder (lib/pipeline/run.h does the run).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "apps/compress/command.h"
#include "core/errors.h"
#include "core/files.h"
#include "pipeline/job.h"

namespace sparrow::apps {

namespace {

pipeline::JobOptions job_options(const TrainFlags& flags, const CommonFlags& common) {
  pipeline::JobOptions o;
  o.recipe_file = flags.recipe_file;
  o.overrides = flags.overrides.overrides();
  o.seed = flags.seed;
  o.out_dir = flags.out_dir;
  o.model_dir = flags.model_dir;
  o.threads = common.threads;
  o.nproc = flags.nproc;
  o.dist_timeout = flags.dist_timeout;
  o.verbose = common.verbose;
  o.resume = flags.resume;
  return o;
}

}  // namespace

int run_train(const TrainFlags& flags, const CommonFlags& common) {
  const pipeline::JobResult job = pipeline::run_job(job_options(flags, common));
  if (job.launcher_exit_code != 0 || job.run.report.is_null()) return job.launcher_exit_code;
  if (common.json) std::cout << job.run.report.dump(2) << std::endl;
  // Gates fail the run only after every output is written, so CI can read why.
  if (!job.run.gate_failures.empty()) throw GateFailed(job.run.gate_failures);
  return 0;
}

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
  app.add_flag("--resume", flags->resume,
               "Continue the unfinished run in <out>.partial from its last checkpoint (same recipe, flags, data and "
               "binary); see docs/resume.md");
  app.add_option("--model", flags->model_dir,
                 "Start from this model folder (a Hugging Face BERT folder or a Sparrow checkpoint) instead of model.from");
  return [flags, &common] {
    try {
      return run_train(*flags, common);
    } catch (const Interrupted& e) {
      // A user who pressed Ctrl-C wants to know what is left: nothing, or a checkpoint to continue from.
      const fs::path out = pipeline::output_folder(job_options(*flags, common));
      if (StagedDir::resumable(out))
        throw Interrupted(e.signal(), fmt::format("{}; {} is as it was, and {}.partial keeps the last checkpoint: the "
                                                  "same command with --resume continues from it",
                                                  e.what(), out.string(), out.string()));
      throw Interrupted(e.signal(), fmt::format("{}; nothing was written: {} is as it was", e.what(), out.string()));
    }
  };
}

}  // namespace sparrow::apps
