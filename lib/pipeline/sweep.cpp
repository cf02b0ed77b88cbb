#include "pipeline/sweep.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "pipeline/mask_slug.h"
#include "pipeline/recipe_copy.h"
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

// `drops_quantization`: some point runs without INT8 by emptying the lists holding the quantization modifiers
// (a per-method recipe has its INT8 setting written in instead).
SweepTargets find_targets(const recipe::Recipe& r, bool needs_quantization, bool drops_quantization) {
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
  const bool quantized = !t.quantization_lists.empty();
  if (!drops_quantization) t.quantization_lists.clear();
  for (const auto& m : r.modifiers)
    if (!std::holds_alternative<recipe::QuantizationParams>(m.params) &&
        std::find(t.quantization_lists.begin(), t.quantization_lists.end(), list_of(m.path)) != t.quantization_lists.end())
      errors.push_back(m.location + ": !" + m.tag + " shares the list '" + list_of(m.path) +
                       "' with !QuantizationModifier; --int8 off drops that list, so give quantization a list of its own");
  if (t.pruning.empty() && t.one_shot.empty())
    errors.push_back("the sweep needs a !GMPruningModifier, !MagnitudePruningModifier or !GlobalMagnitudePruningModifier "
                     "whose final_sparsity and mask_type it sets, or a !SparseGPTModifier or !WandaPruningModifier whose "
                     "sparsity and mask_structure it sets");
  if (needs_quantization && !quantized)
    errors.push_back("--int8 on needs a !QuantizationModifier in the recipe");
  if (!errors.empty()) throw BadInput(recipe::join_errors(r.file.string(), errors));
  return t;
}

// The recipe a point runs: the sweep's own (text empty), or a per-method one the sweep writes (file, text).
struct PointRecipe {
  std::string file;
  recipe::Overrides overrides;  // the user's, for the sweep's own recipe; none for a written one (applied before)
  std::string text;
};

struct PlannedPoint {
  SweepPoint point;
  PointRecipe recipe;
  std::vector<std::string> sets;
};

// Mask x INT8 x sparsity, in that order. An N:M mask has one sparsity, 1 - N/M, whatever --sparsity says.
std::vector<PlannedPoint> plan_points(const SweepAxes& axes, const std::vector<bool>& int8s, const SweepTargets& targets,
                                      const std::string& method, const PointRecipe& recipe) {
  std::vector<PlannedPoint> plan;
  for (const auto& mask : axes.masks) {
    const bool nm = mask.type == recipe::MaskKind::Type::NofM;
    const std::vector<double> levels = nm ? std::vector<double>{mask.max_sparsity()} : axes.sparsities;
    const std::string yaml_mask = nm ? "\"" + mask.name() + "\"" : mask.name();
    for (const bool int8 : int8s) {
      for (const double s : levels) {
        PlannedPoint p;
        p.recipe = recipe;
        p.point.method = method;
        p.point.mask = mask.name();
        p.point.sparsity = s;
        p.point.int8 = int8;
        p.point.name = fmt::format("{}{}_s{:g}_{}", method.empty() ? "" : method + "_", mask_slug(mask), s, int8 ? "int8" : "noqat");
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

// The index of the recipe's one !SparseGPTModifier or !WandaPruningModifier, which --method replaces.
std::size_t one_shot_modifier(const recipe::Recipe& r) {
  std::vector<std::size_t> found;
  for (std::size_t i = 0; i < r.modifiers.size(); ++i)
    if (std::holds_alternative<recipe::SparseGPTParams>(r.modifiers[i].params) ||
        std::holds_alternative<recipe::WandaPruningParams>(r.modifiers[i].params))
      found.push_back(i);
  if (found.size() != 1)
    throw BadInput(fmt::format("--method: {} has {} !SparseGPTModifier or !WandaPruningModifier; the sweep puts each "
                               "method in the place of exactly one",
                               r.file.string(), found.size()));
  return found[0];
}

// `base` with its one-shot modifier `index` done by `method` (magnitude, wanda, sparsegpt) from the same fields,
// with its quantization modifiers (int8) or without them (SparseGPT's quantize then off), as the resolved YAML of
// `file`.
std::string method_recipe(const recipe::Recipe& base, std::size_t index, const std::string& method, bool int8,
                          const fs::path& file) {
  recipe::Recipe r = base;
  rebase_recipe_paths(r, file.parent_path());
  recipe::ModifierSpec& m = r.modifiers[index];
  const recipe::OneShotPruningParams* one_shot = std::get_if<recipe::SparseGPTParams>(&m.params);
  if (one_shot == nullptr) one_shot = &std::get<recipe::WandaPruningParams>(m.params);  // one_shot_modifier() chose it
  const recipe::OneShotPruningParams common = *one_shot;
  if (method == "magnitude") {
    if (!common.ignore.empty())
      throw BadInput("--method magnitude: " + m.location + ": !" + m.tag + " has ignore, which !MagnitudePruningModifier "
                     "has no field for; select the weights with targets alone");
    recipe::GMPruningParams g;
    g.start_epoch = g.end_epoch = 0.0;
    g.final_sparsity = common.sparsity;
    g.params = common.targets;
    g.mask = common.mask;
    m.tag = "MagnitudePruningModifier";
    m.params = g;
  } else if (method == "wanda") {
    recipe::WandaPruningParams w;
    static_cast<recipe::OneShotPruningParams&>(w) = common;
    m.tag = "WandaPruningModifier";
    m.params = w;
  } else if (!std::holds_alternative<recipe::SparseGPTParams>(m.params)) {
    recipe::SparseGPTParams g;
    static_cast<recipe::OneShotPruningParams&>(g) = common;
    m.tag = "SparseGPTModifier";
    m.params = g;
  }
  if (!int8) {
    if (auto* g = std::get_if<recipe::SparseGPTParams>(&m.params)) g->quantize = false;
    r.modifiers.erase(std::remove_if(r.modifiers.begin(), r.modifiers.end(),
                                     [](const recipe::ModifierSpec& q) { return std::holds_alternative<recipe::QuantizationParams>(q.params); }),
                      r.modifiers.end());
  }
  return resolved_yaml(r);
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
  const bool needs_quantization = std::find(axes.int8s.begin(), axes.int8s.end(), true) != axes.int8s.end();
  const fs::path out = job.out_dir;
  std::vector<PlannedPoint> plan;
  if (axes.methods.empty()) {
    plan = plan_points(axes, axes.int8s, find_targets(r, needs_quantization, true), "", {job.recipe_file, job.overrides, ""});
  } else {
    // One recipe per method and INT8 setting, written into DIR/recipes/ once every point has been read.
    const std::size_t index = one_shot_modifier(r);
    for (const auto& method : axes.methods)
      for (const bool int8 : axes.int8s) {
        const fs::path file = out / "recipes" / (method + (int8 ? "_int8" : "_noqat") + ".yaml");
        const std::string text = method_recipe(r, index, method, int8, file);
        const recipe::Recipe written = recipe::parse_recipe(text, file.string());
        const auto points = plan_points(axes, {int8}, find_targets(written, int8, false), method, {file.string(), {}, text});
        plan.insert(plan.end(), points.begin(), points.end());
      }
  }
  // Every point's recipe is read before the first runs, so a mask or sparsity it refuses is bad input now.
  for (const auto& p : plan) {
    recipe::Overrides o = p.recipe.overrides;
    o.sets.insert(o.sets.end(), p.sets.begin(), p.sets.end());
    if (p.recipe.text.empty()) (void)recipe::load_recipe(p.recipe.file, o);
    else (void)recipe::parse_recipe(p.recipe.text, p.recipe.file, o);
  }
  claim_sweep_folder(out, "--out");
  for (const auto& p : plan)
    if (!p.recipe.text.empty() && !fs::exists(p.recipe.file)) {
      fs::create_directories(fs::path(p.recipe.file).parent_path());
      write_file_atomic(p.recipe.file, p.recipe.text);
    }
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
      point_job.recipe_file = plan[i].recipe.file;
      point_job.overrides = plan[i].recipe.overrides;
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
