// `compress sweep --recipe FILE --sparsity 0.8,0.9 --mask block4,[4,4],2:4 [--int8 on,off] --out DIR [--set N=V]...`:
// the recipe once per point (mask x INT8 x sparsity), each point a normal `compress --recipe` output in
// DIR/<point>/. This file parses the flags; lib/pipeline/sweep.h runs the points and writes the report.
#include <algorithm>
#include <iostream>
#include <memory>

#include "apps/compress/command.h"
#include "apps/compress/list_flags.h"
#include "core/errors.h"
#include "pipeline/sweep.h"
#include "recipe/diagnostics.h"
#include "recipe/limits.h"
#include "recipe/mask_kind.h"

namespace sparrow::apps {

namespace {

struct SweepFlags {
  std::string recipe_file;
  std::string out_dir;
  std::string sparsity;
  std::string masks;
  std::string int8 = "on";
  std::string methods;
  int64_t seed = -1;
  OverrideFlags overrides;
};

std::vector<bool> parse_int8(const std::string& text, std::vector<std::string>& errors) {
  std::vector<bool> out;
  for (const auto& item : split_list(text)) {
    if (item != "on" && item != "off") errors.push_back("--int8: expected on, off or on,off; got '" + recipe::excerpt(item) + "'");
    else if (std::find(out.begin(), out.end(), item == "on") == out.end()) out.push_back(item == "on");
  }
  return out;
}

std::vector<std::string> parse_methods(const std::string& text, std::vector<std::string>& errors) {
  static const std::vector<std::string> known = {"magnitude", "wanda", "sparsegpt"};
  std::vector<std::string> out;
  for (const auto& item : split_list(text)) {
    if (std::find(known.begin(), known.end(), item) == known.end())
      errors.push_back("--method: expected magnitude, wanda or sparsegpt; got '" + recipe::excerpt(item) + "'" +
                       recipe::did_you_mean(item, known));
    else if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  }
  return out;
}

// What the flags ask for, every flag error at once: the mask and sparsity errors first (what the sweep
// varies), then --int8, then missing flags, and all before the recipe is read.
pipeline::SweepAxes parse_axes(const SweepFlags& flags) {
  std::vector<std::string> errors, missing;
  pipeline::SweepAxes axes;
  if (flags.masks.empty()) missing.push_back("sweep needs --mask, e.g. --mask block4,[4,4],2:4");
  else axes.masks = parse_masks(flags.masks, "--mask", errors);
  if (flags.sparsity.empty()) missing.push_back("sweep needs --sparsity, e.g. --sparsity 0.8,0.9,0.95");
  else axes.sparsities = parse_sparsities(flags.sparsity, "--sparsity", errors);
  axes.int8s = parse_int8(flags.int8, errors);
  if (!flags.methods.empty()) axes.methods = parse_methods(flags.methods, errors);
  if (flags.recipe_file.empty()) missing.push_back("sweep needs --recipe FILE");
  if (flags.out_dir.empty()) missing.push_back("sweep needs --out DIR (each point is written to DIR/<point>/)");
  errors.insert(errors.end(), missing.begin(), missing.end());
  if (!errors.empty()) throw BadInput(recipe::join_errors("sweep", errors));
  return axes;
}

int run_sweep(const SweepFlags& flags, const CommonFlags& common) {
  pipeline::SweepOptions options;
  options.axes = parse_axes(flags);
  options.job.recipe_file = flags.recipe_file;
  options.job.overrides = flags.overrides.overrides();
  options.job.seed = flags.seed;
  options.job.out_dir = flags.out_dir;
  options.job.threads = common.threads;
  options.job.verbose = common.verbose;
  const auto points = pipeline::run_sweep(options);
  if (common.json) std::cout << pipeline::sweep_json(flags.recipe_file, points).dump(2) << std::endl;
  pipeline::check_sweep_points(points);
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
  sub.add_option("--method", flags->methods,
                 "One-shot methods, comma-separated: magnitude, wanda, sparsegpt, each put in the place of the recipe's one "
                 "!SparseGPTModifier or !WandaPruningModifier (recipes written to DIR/recipes/)");
  sub.add_option("--seed", flags->seed, "Seed overriding train.seed at every point");
  add_override_flags(sub, flags->overrides);
  sub.footer(
      "Examples:\n"
      "  compress sweep --recipe recipes/fashion_cnn90_int8.yaml --sparsity 0.9,0.95 --mask block4,[4,4] --out sweeps/cnn\n"
      "  compress sweep --recipe recipes/bert90.yaml --sparsity 0.8,0.9 --mask block4,2:4 --int8 on,off --out sweeps/bert\n"
      "  compress sweep --recipe recipes/llama_sparsegpt50.yaml --method magnitude,wanda,sparsegpt --sparsity 0.5,0.7 \\\n"
      "      --mask unstructured,block4,2:4 --int8 off --out sweeps/llama\n"
      "Exit codes: 0 every point finished (a failed gate is in its report), 2 bad input, 3 a point failed.");
  return [flags, &common] { return run_sweep(*flags, common); };
}

}  // namespace sparrow::apps
