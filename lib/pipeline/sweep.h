// `compress sweep` as a library: a recipe once per point ([one-shot method x] mask x INT8 x sparsity), in sequence, each point
// a normal `compress --recipe` run in DIR/<point>/. The sweep sets every magnitude pruning modifier's
// final_sparsity and mask_type, and every one-shot pruning modifier's (SparseGPT, Wanda) sparsity and
// mask_structure, by their --set paths, and without INT8 empties the modifier lists that hold
// the !QuantizationModifier. Resumable: a point whose report.json exists is read, not rerun (a half-written
// one left nothing but its .partial folder, which the rerun replaces). After each point sweep.json,
// sweep.md, sweep.svg and sweep.html (sweep_report.h) are rewritten.
#pragma once

#include <vector>

#include "pipeline/job.h"
#include "pipeline/sweep_report.h"
#include "recipe/mask_kind.h"

namespace sparrow::pipeline {

// What the sweep varies, each list without repeats.
struct SweepAxes {
  // One-shot methods (magnitude, wanda, sparsegpt) put in the place of the recipe's one !SparseGPTModifier or
  // !WandaPruningModifier, each (with each INT8 setting) as a recipe written to DIR/recipes/; empty: the recipe
  // as it is.
  std::vector<std::string> methods;
  std::vector<recipe::MaskKind> masks;
  std::vector<double> sparsities;  // in (0, 1); an N:M mask runs once, at 1 - N/M
  std::vector<bool> int8s;         // trained with quantization (QAT) or not
};

struct SweepOptions {
  // The recipe, its overrides, the seed, threads and verbosity every point runs with; out_dir is the sweep's
  // folder (required), and each point runs in out_dir/<point>.
  JobOptions job;
  SweepAxes axes;
};

// Runs every point not finished before and returns them all in plan order ([method x] mask x INT8 x sparsity), each
// failed point with its error. BadInput before the first point runs when the recipe has nothing to sweep,
// or refuses one of the points' settings; Interrupted stops the sweep (finished points stay, and a rerun
// resumes). A point whose gate failed is finished: its report says so.
std::vector<SweepPoint> run_sweep(const SweepOptions& options);

// InternalError naming every failed point ("sweep: 1 of 4 points failed: ..."); nothing when all finished.
void check_sweep_points(const std::vector<SweepPoint>& points);

}  // namespace sparrow::pipeline
