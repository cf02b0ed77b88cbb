// `compress sweep --recipe FILE --sparsity 0.8,0.9 --mask block4,[4,4],2:4 [--int8 on,off] --out DIR [--set N=V]...`:
// the recipe once per point (mask x INT8 x sparsity), in sequence, each point a normal `compress --recipe`
// output in DIR/<point>/. The sweep sets every magnitude pruning modifier's final_sparsity and mask_type by
// their --set paths, and with --int8 off empties the modifier lists that hold the !QuantizationModifier.
// Resumable: a point whose report.json exists is read, not rerun (a half-written one left nothing but its
// .partial folder, which the rerun replaces). After each point sweep.json, sweep.md and sweep.svg are rewritten.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "apps/compress/command.h"
#include "pipeline/sweep_report.h"
#include "core/errors.h"
#include "core/files.h"
#include "core/logging.h"
#include "recipe/diagnostics.h"
#include "recipe/limits.h"
#include "recipe/mask_kind.h"
#include "recipe/recipe.h"

namespace sparrow::apps {

namespace {

struct SweepFlags {
  std::string recipe_file;
  std::string out_dir;
  std::string sparsity;
  std::string masks;
  std::string int8 = "on";
  int64_t seed = -1;
  OverrideFlags overrides;
};

// Comma-separated items; commas inside [...] belong to the item ("[4,4]").
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items(1);
  int depth = 0;
  for (const char c : text) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) items.emplace_back();
    else if (c != ' ') items.back() += c;
  }
  return items;
}

// The parsers below add one message per bad item to `errors`, so that every flag error is reported at once.
std::vector<double> parse_sparsities(const std::string& text, std::vector<std::string>& errors) {
  std::vector<double> out;
  for (const auto& item : split_list(text)) {
    double v = -1;
    size_t used = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || !(v > 0 && v < 1))
      errors.push_back("--sparsity: expected sparsities in (0, 1) separated by commas (e.g. 0.8,0.9), got '" +
                       recipe::excerpt(item) + "'");
    else if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

std::vector<recipe::MaskKind> parse_masks(const std::string& text, std::vector<std::string>& errors) {
  std::vector<recipe::MaskKind> out;
  for (const auto& item : split_list(text)) {
    try {
      const auto kind = recipe::MaskKind::parse(item);
      if (std::none_of(out.begin(), out.end(), [&](const auto& k) { return k.name() == kind.name(); })) out.push_back(kind);
    } catch (const std::invalid_argument& e) {
      errors.push_back(std::string("--mask: ") + e.what());
    }
  }
  return out;
}

std::vector<bool> parse_int8(const std::string& text, std::vector<std::string>& errors) {
  std::vector<bool> out;
  for (const auto& item : split_list(text)) {
    if (item != "on" && item != "off") errors.push_back("--int8: expected on, off or on,off; got '" + recipe::excerpt(item) + "'");
    else if (std::find(out.begin(), out.end(), item == "on") == out.end()) out.push_back(item == "on");
  }
  return out;
}

// What the flags ask for, every flag error at once: the mask and sparsity errors first (what the sweep
// varies), then --int8, then missing flags, and all before the recipe is read.
struct SweepAxes {
  std::vector<recipe::MaskKind> masks;
  std::vector<double> sparsities;
  std::vector<bool> int8s;
};

SweepAxes parse_axes(const SweepFlags& flags) {
  std::vector<std::string> errors, missing;
  SweepAxes axes;
  if (flags.masks.empty()) missing.push_back("sweep needs --mask, e.g. --mask block4,[4,4],2:4");
  else axes.masks = parse_masks(flags.masks, errors);
  if (flags.sparsity.empty()) missing.push_back("sweep needs --sparsity, e.g. --sparsity 0.8,0.9,0.95");
  else axes.sparsities = parse_sparsities(flags.sparsity, errors);
  axes.int8s = parse_int8(flags.int8, errors);
  if (flags.recipe_file.empty()) missing.push_back("sweep needs --recipe FILE");
  if (flags.out_dir.empty()) missing.push_back("sweep needs --out DIR (each point is written to DIR/<point>/)");
  errors.insert(errors.end(), missing.begin(), missing.end());
  if (!errors.empty()) throw BadInput(recipe::join_errors("sweep", errors));
  return axes;
}

// A folder name for a mask: block4, 2x4 ([2,4]), 2of4 (2:4), unstructured.
std::string mask_slug(const recipe::MaskKind& kind) {
  if (kind.type == recipe::MaskKind::Type::Block && kind.rows != 1) return fmt::format("{}x{}", kind.rows, kind.cols);
  if (kind.type == recipe::MaskKind::Type::NofM) return fmt::format("{}of{}", kind.n, kind.m);
  return kind.name();
}

// What the sweep changes in the recipe: the --set paths of its magnitude pruning modifiers and of the lists
// holding its quantization modifiers.
struct SweepTargets {
  std::vector<std::string> pruning;
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
  if (t.pruning.empty())
    errors.push_back("the sweep needs a !GMPruningModifier, !MagnitudePruningModifier or !GlobalMagnitudePruningModifier "
                     "whose final_sparsity and mask_type it sets");
  if (needs_quantization && t.quantization_lists.empty())
    errors.push_back("--int8 on needs a !QuantizationModifier in the recipe");
  if (!errors.empty()) throw BadInput(recipe::join_errors(r.file.string(), errors));
  return t;
}

struct PlannedPoint {
  pipeline::SweepPoint point;
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

void write_outputs(const fs::path& out, const std::string& recipe, const std::vector<pipeline::SweepPoint>& points) {
  write_file_atomic(out / "sweep.json", pipeline::sweep_json(recipe, points).dump(2) + "\n");
  write_file_atomic(out / "sweep.md", pipeline::sweep_markdown(recipe, points));
  write_file_atomic(out / "sweep.svg", pipeline::sweep_svg(points));
}

int run_sweep(const SweepFlags& flags, const CommonFlags& common) {
  const SweepAxes axes = parse_axes(flags);
  const recipe::Recipe r = recipe::load_recipe(flags.recipe_file, flags.overrides.overrides());
  const SweepTargets targets =
      find_targets(r, std::find(axes.int8s.begin(), axes.int8s.end(), true) != axes.int8s.end());
  const auto plan = plan_points(axes, targets);
  // Every point's recipe is read before the first runs, so a mask or sparsity it refuses is bad input now.
  for (const auto& p : plan) {
    recipe::Overrides o = flags.overrides.overrides();
    o.sets.insert(o.sets.end(), p.sets.begin(), p.sets.end());
    (void)recipe::load_recipe(flags.recipe_file, o);
  }
  const fs::path out = flags.out_dir;
  claim_sweep_folder(out, "--out");
  spdlog::info("sweep of {}: {} points into {}", flags.recipe_file, plan.size(), out.string());

  CommonFlags point_common = common;
  point_common.json = false;
  std::vector<pipeline::SweepPoint> points;
  std::vector<std::string> failures;
  for (size_t i = 0; i < plan.size(); ++i) {
    pipeline::SweepPoint point = plan[i].point;
    const fs::path dir = out / point.name;
    if (fs::exists(dir / "report.json")) {
      spdlog::info("[{}/{}] {}: finished before, kept", i + 1, plan.size(), point.name);
    } else {
      spdlog::info("[{}/{}] {}: running", i + 1, plan.size(), point.name);
      TrainFlags t;
      t.recipe_file = flags.recipe_file;
      t.out_dir = dir.string();
      t.seed = flags.seed;
      t.overrides = flags.overrides;
      t.overrides.sets.insert(t.overrides.sets.end(), plan[i].sets.begin(), plan[i].sets.end());
      try {
        give_starting_model(out, dir);
        run_train(t, point_common);
      } catch (const GateFailed& e) {
        spdlog::warn("{}: {}", point.name, e.what());  // its outputs are written: the point is finished
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
        pipeline::read_point_report(point, nlohmann::json::parse(read_file(dir / "report.json")));
        point.done = true;
      } catch (const nlohmann::json::exception& e) {
        point.error = (dir / "report.json").string() + ": not valid JSON: " + e.what();
      }
    } else if (point.error.empty()) {
      point.error = "no report.json was written";
    }
    if (!point.done) {
      spdlog::error("{}: failed: {}", point.name, point.error);
      failures.push_back(point.name + ": " + point.error);
    }
    points.push_back(point);
    write_outputs(out, flags.recipe_file, points);
  }
  if (common.json) std::cout << pipeline::sweep_json(flags.recipe_file, points).dump(2) << std::endl;
  spdlog::info("sweep: {} of {} points finished; {}", points.size() - failures.size(), points.size(),
               (out / "sweep.md").string());
  if (!failures.empty())
    throw InternalError(fmt::format("sweep: {} of {} points failed:\n  {}", failures.size(), points.size(),
                                    fmt::join(failures, "\n  ")));
  return 0;
}

}  // namespace

Action register_sweep(CLI::App& sub, const CommonFlags& common) {
  auto flags = std::make_shared<SweepFlags>();
  // Required, but checked by run_sweep rather than CLI11, so that every flag error is reported at once.
  const std::string required = "Required (all errors are reported together)";
  sub.add_option("--recipe", flags->recipe_file, "Recipe file (YAML) to run at every point")->group(required);
  sub.add_option("--out", flags->out_dir, "Output folder: DIR/<point>/ per point, and sweep.json, sweep.md, sweep.svg")
      ->group(required);
  sub.add_option("--sparsity", flags->sparsity, "Target sparsities, comma-separated (e.g. 0.8,0.9,0.95,0.97)")->group(required);
  sub.add_option("--mask", flags->masks,
                 "Mask kinds, comma-separated: unstructured, block4, [r,4] (r <= " + std::to_string(recipe::kMaxBlockRows) +
                     "), N:M (M <= " + std::to_string(recipe::kMaxGroupSize) +
                     ") (e.g. block4,[4,4],2:4); N:M runs once at sparsity 1 - N/M")
      ->group(required);
  sub.add_option("--int8", flags->int8, "Train with quantization: on, off or on,off (default on)");
  sub.add_option("--seed", flags->seed, "Seed overriding train.seed at every point");
  add_override_flags(sub, flags->overrides);
  sub.footer(
      "Examples:\n"
      "  compress sweep --recipe recipes/fashion_cnn90_int8.yaml --sparsity 0.9,0.95 --mask block4,[4,4] --out sweeps/cnn\n"
      "  compress sweep --recipe recipes/bert90.yaml --sparsity 0.8,0.9 --mask block4,2:4 --int8 on,off --out sweeps/bert\n"
      "Exit codes: 0 every point finished (a failed gate is in its report), 2 bad input, 3 a point failed.");
  return [flags, &common] { return run_sweep(*flags, common); };
}

}  // namespace sparrow::apps
