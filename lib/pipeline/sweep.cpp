#include "pipeline/sweep.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "pipeline/mask_slug.h"
#include "recipe/diagnostics.h"
#include "recipe/recipe.h"

namespace sparrow::pipeline {

namespace {

// What the sweep changes in the recipe: the --set paths of its magnitude pruning modifiers, of its one-shot
// pruning modifiers (SparseGPT, Wanda) and of the lists holding its quantization modifiers.
struct SweepTargets {
  std::vector<std::string> pruning;
  std::vector<std::string> one_shot;
  std::vector<std::string> quantization_lists;
};

SweepTargets find_targets(const recipe::Recipe& r, bool needs_quantization) {
  SweepTargets t;
  std::vector<std::string> errors;
  const auto list_of = [](const std::string& path) { return path.substr(0, path.rfind('.')); };
  for (const auto& m : r.modifiers) {
    if (std::holds_alternative<recipe::GMPruningParams>(m.params) ||
        std::holds_alternative<recipe::GlobalMagnitudePruningParams>(m.params)) {
      if (std::find(t.pruning.begin(), t.pruning.end(), m.path) != t.pruning.end())
        errors.push_back(m.location + ": !" + m.tag + " maps sparsities to params; the sweep sets one final_sparsity per modifier");
      else t.pruning.push_back(m.path);
    } else if (std::holds_alternative<recipe::SparseGPTParams>(m.params) ||
               std::holds_alternative<recipe::WandaPruningParams>(m.params)) {
      t.one_shot.push_back(m.path);
    } else if (std::holds_alternative<recipe::QuantizationParams>(m.params)) {
      const std::string list = list_of(m.path);
      if (std::find(t.quantization_lists.begin(), t.quantization_lists.end(), list) == t.quantization_lists.end())
        t.quantization_lists.push_back(list);
    }
  }
  for (const auto& m : r.modifiers)
    if (!std::holds_alternative<recipe::QuantizationParams>(m.params) &&
        std::find(t.quantization_lists.begin(), t.quantization_lists.end(), list_of(m.path)) != t.quantization_lists.end())
      errors.push_back(m.location + ": !" + m.tag + " shares the list '" + list_of(m.path) +
                       "' with !QuantizationModifier; --int8 off drops that list, so give quantization a list of its own");
  if (t.pruning.empty() && t.one_shot.empty())
    errors.push_back("the sweep needs a !GMPruningModifier, !MagnitudePruningModifier or !GlobalMagnitudePruningModifier "
                     "whose final_sparsity and mask_type it sets, or a !SparseGPTModifier or !WandaPruningModifier whose "
                     "sparsity and mask_structure it sets");
  if (needs_quantization && t.quantization_lists.empty())
    errors.push_back("--int8 on needs a !QuantizationModifier in the recipe");
  if (!errors.empty()) throw BadInput(recipe::join_errors(r.file.string(), errors));
  return t;
}

struct PlannedPoint {
  SweepPoint point;
  std::vector<std::string> sets;
};

// Mask x INT8 x sparsity, in that order. An N:M mask has one sparsity, 1 - N/M, whatever --sparsity says.
std::vector<PlannedPoint> plan_points(const SweepAxes& axes, const SweepTargets& targets) {
  std::vector<PlannedPoint> plan;
  for (const auto& mask : axes.masks) {
    const bool nm = mask.type == recipe::MaskKind::Type::NofM;
    const std::vector<double> levels = nm ? std::vector<double>{mask.max_sparsity()} : axes.sparsities;
    const std::string yaml_mask = nm ? "\"" + mask.name() + "\"" : mask.name();
    for (const bool int8 : axes.int8s) {
      for (const double s : levels) {
        PlannedPoint p;
        p.point.mask = mask.name();
        p.point.sparsity = s;
        p.point.int8 = int8;
        p.point.name = fmt::format("{}_s{:g}_{}", mask_slug(mask), s, int8 ? "int8" : "noqat");
        for (const auto& path : targets.pruning) {
          p.sets.push_back(fmt::format("{}.final_sparsity={}", path, s));
          p.sets.push_back(path + ".mask_type=" + yaml_mask);
        }
        for (const auto& path : targets.one_shot) {
          p.sets.push_back(fmt::format("{}.sparsity={}", path, s));
          p.sets.push_back(path + ".mask_structure=" + yaml_mask);
        }
        if (!int8)
          for (const auto& list : targets.quantization_lists) p.sets.push_back(list + "=[]");
        plan.push_back(std::move(p));
      }
    }
  }
  return plan;
}

// A recipe whose model.from names a recipe starts every point from that recipe's trained model: the first
// point that has one (run now, or finished before) leaves a copy in DIR/teacher, and each later point starts
// with it in DIR/<point>/teacher, reused only if it was trained from the same recipe text (as `compress
// --recipe` does with a cached <out>/teacher).
void keep_starting_model(const fs::path& out, const fs::path& dir) {
  const fs::path shared = out / "teacher", partial = out / "teacher.partial";
  if (fs::exists(shared) || !fs::exists(dir / "teacher" / "checkpoint")) return;
  fs::remove_all(partial);
  fs::copy(dir / "teacher", partial, fs::copy_options::recursive);
  fs::rename(partial, shared);
}

void give_starting_model(const fs::path& out, const fs::path& dir) {
  if (!fs::exists(out / "teacher") || fs::exists(dir / "teacher")) return;
  fs::create_directories(dir);
  fs::copy(out / "teacher", dir / "teacher", fs::copy_options::recursive);
  mark_run_folder(dir);  // the point's run then takes the folder as its own
}

void write_outputs(const fs::path& out, const std::string& recipe, const std::vector<SweepPoint>& points) {
  write_file_atomic(out / "sweep.json", sweep_json(recipe, points).dump(2) + "\n");
  write_file_atomic(out / "sweep.md", sweep_markdown(recipe, points));
  write_file_atomic(out / "sweep.svg", sweep_svg(points));
  write_file_atomic(out / "sweep.html", sweep_html(recipe, points));
}

}  // namespace

std::vector<SweepPoint> run_sweep(const SweepOptions& options) {
  const JobOptions& job = options.job;
  const SweepAxes& axes = options.axes;
  const recipe::Recipe r = recipe::load_recipe(job.recipe_file, job.overrides);
  const SweepTargets targets =
      find_targets(r, std::find(axes.int8s.begin(), axes.int8s.end(), true) != axes.int8s.end());
  const auto plan = plan_points(axes, targets);
  // Every point's recipe is read before the first runs, so a mask or sparsity it refuses is bad input now.
  for (const auto& p : plan) {
    recipe::Overrides o = job.overrides;
    o.sets.insert(o.sets.end(), p.sets.begin(), p.sets.end());
    (void)recipe::load_recipe(job.recipe_file, o);
  }
  const fs::path out = job.out_dir;
  claim_sweep_folder(out, "--out");
  spdlog::info("sweep of {}: {} points into {}", job.recipe_file, plan.size(), out.string());

  std::vector<SweepPoint> points;
  for (size_t i = 0; i < plan.size(); ++i) {
    SweepPoint point = plan[i].point;
    const fs::path dir = out / point.name;
    if (fs::exists(dir / "report.json")) {
      spdlog::info("[{}/{}] {}: finished before, kept", i + 1, plan.size(), point.name);
    } else {
      spdlog::info("[{}/{}] {}: running", i + 1, plan.size(), point.name);
      JobOptions point_job = job;
      point_job.out_dir = dir.string();
      point_job.resume = StagedDir::resumable(dir);  // a point killed after a checkpoint continues from it
      point_job.overrides.sets.insert(point_job.overrides.sets.end(), plan[i].sets.begin(), plan[i].sets.end());
      try {
        give_starting_model(out, dir);
        const JobResult result = run_job(point_job);
        // Its outputs are written: the point is finished, and its report says which gate failed.
        if (!result.run.gate_failures.empty()) spdlog::warn("{}: {}", point.name, result.run.gate_failures);
      } catch (const Interrupted&) {
        throw;  // the whole sweep stops; finished points stay, and a rerun resumes
      } catch (const std::exception& e) {
        close_log_file();  // the failed point's log went with its folder
        point.error = e.what();
      }
    }
    keep_starting_model(out, dir);
    if (point.error.empty() && fs::exists(dir / "report.json")) {
      try {
        read_point_report(point, nlohmann::json::parse(read_file(dir / "report.json")));
        point.done = true;
      } catch (const nlohmann::json::exception& e) {
        point.error = (dir / "report.json").string() + ": not valid JSON: " + e.what();
      }
    } else if (point.error.empty()) {
      point.error = "no report.json was written";
    }
    if (!point.done) spdlog::error("{}: failed: {}", point.name, point.error);
    points.push_back(point);
    write_outputs(out, job.recipe_file, points);
  }
  const auto finished = std::count_if(points.begin(), points.end(), [](const SweepPoint& p) { return p.done; });
  spdlog::info("sweep: {} of {} points finished; {}", finished, points.size(), (out / "sweep.md").string());
  return points;
}

void check_sweep_points(const std::vector<SweepPoint>& points) {
  std::vector<std::string> failures;
  for (const auto& p : points)
    if (!p.done) failures.push_back(p.name + ": " + p.error);
  if (!failures.empty())
    throw InternalError(fmt::format("sweep: {} of {} points failed:\n  {}", failures.size(), points.size(),
                                    fmt::join(failures, "\n  ")));
}

}  // namespace sparrow::pipeline
