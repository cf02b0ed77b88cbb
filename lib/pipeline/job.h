// A `compress --recipe` run as one process of a job: alone, as a rank of a distributed job that a launcher
// (torchrun, or compress --nproc) started, or as the launcher of local ranks (docs/distributed.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "pipeline/run.h"
#include "recipe/recipe.h"

namespace sparrow::pipeline {

struct JobOptions {
  std::string recipe_file;
  recipe::Overrides overrides;
  std::int64_t seed = -1;     // >= 0: overrides train.seed
  std::string out_dir;        // empty: default_output_folder(recipe_file)
  std::string model_dir;      // see RunOptions
  int threads = 0;            // LibTorch's and the engine check's threads (<= 0: all cores)
  int nproc = 0;              // > 0: start this many local ranks of this process instead of running
  double dist_timeout = 120;  // seconds a collective waits for the slowest rank
  bool verbose = false;       // ranks other than 0 log more than warnings
  bool resume = false;        // see RunOptions
};

// The output folder the options name.
std::filesystem::path output_folder(const JobOptions& options);

// With nproc > 0 outside a launched job: starts the ranks with this process's arguments and returns the
// launcher's exit code (RunResult's report is null). Otherwise loads the recipe and runs it, in a distributed
// session when the environment describes a launched job; a failure is reported to the other ranks.
struct JobResult {
  int launcher_exit_code = 0;
  RunResult run;
};
JobResult run_job(const JobOptions& options);

}  // namespace sparrow::pipeline
