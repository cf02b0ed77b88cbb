#include "pipeline/job.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "compress/distributed/launch.h"
#include "compress/distributed/process_group.h"
#include "core/errors.h"
#include "core/interrupt.h"

namespace sparrow::pipeline {

namespace {

namespace dist = compress::distributed;

std::chrono::milliseconds timeout(const JobOptions& o) {
  return std::chrono::milliseconds(static_cast<int64_t>(o.dist_timeout * 1000));
}

// --nproc N: this process only launches N ranks of itself with the same arguments.
int launch_local_ranks(const JobOptions& o) {
  std::vector<std::string> args;
  const auto own = dist::own_arguments();
  for (size_t i = 0; i < own.size(); ++i) {
    if (own[i] == "--nproc") ++i;
    else if (own[i].rfind("--nproc=", 0) != 0) args.push_back(own[i]);
  }
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = o.threads > 0 ? o.threads : std::max(1, cores / o.nproc);
  return dist::run_local_ranks(o.nproc, args, timeout(o), threads);
}

RunResult load_and_run(const JobOptions& o) {
  if (o.recipe_file.empty()) throw BadInput("--recipe is required (e.g. compress --recipe recipes/fashion_cnn90.yaml)");
  recipe::Recipe r = recipe::load_recipe(o.recipe_file, o.overrides);
  if (o.seed >= 0) r.train.seed = static_cast<uint64_t>(o.seed);
  return run(r, {output_folder(o), o.model_dir, o.threads, o.resume});
}

}  // namespace

std::filesystem::path output_folder(const JobOptions& o) {
  return o.out_dir.empty() ? default_output_folder(o.recipe_file) : std::filesystem::path(o.out_dir);
}

JobResult run_job(const JobOptions& o) {
  const auto env = dist::launch_env_from_environment();
  if (o.nproc > 0 && !env) return {launch_local_ranks(o), {}};
  if (o.nproc > 0) spdlog::warn("--nproc ignored: this process is rank {} of a launched job", env->rank);
  if (env) dist::follow_launcher();
  catch_interrupts();
  std::optional<dist::Session> session;  // a run inside a sweep point reuses the open one
  if (env && !dist::active()) {
    if (o.dist_timeout <= 0) throw BadInput("--dist-timeout must be a positive number of seconds");
    session.emplace(*env, dist::Options{timeout(o)});
    // Only rank 0 talks on the console (and draws progress), unless asked for debug output.
    if (env->rank != 0 && !o.verbose) spdlog::default_logger()->set_level(spdlog::level::warn);
  }
  try {
    return {0, load_and_run(o)};
  } catch (const dist::PeerFailure&) {
    throw;
  } catch (const std::exception& e) {
    dist::report_failure(e.what());
    throw;
  }
}

}  // namespace sparrow::pipeline
