// `compress analyze --model DIR --data X [--sparsities ...] [--mask ...] [--out DIR] [--json]
// [--write-recipe R.yaml --recipe BASE.yaml --target-sparsity S | --target-speedup X]`: per-layer sensitivity
// to pruning and the engine's time per layer shape (pipeline/analysis.h), and a recipe written from them
// (pipeline/sparsity_allocation.h, pipeline/recipe_from_analysis.h). This file parses the flags and writes
// the outputs (pipeline/analysis_report.h).
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <variant>

#include "apps/compress/command.h"
#include "apps/compress/list_flags.h"
#include "core/errors.h"
#include "core/files.h"
#include "pipeline/analysis.h"
#include "pipeline/analysis_report.h"
#include "pipeline/mask_slug.h"
#include "pipeline/recipe_from_analysis.h"
#include "pipeline/sparsity_allocation.h"
#include "recipe/diagnostics.h"

namespace sparrow::apps {

namespace {

struct AnalyzeFlags {
  std::string model_dir;
  std::string data;
  std::string sparsities = "0.5,0.7,0.8,0.9,0.95";
  std::string masks = "block4";
  std::string out_dir;
  int64_t limit = 0;  // 0: 512 items, 4096 tokens for a causal LM
  int64_t batch_size = 64;
  int64_t tokens = 128;
  bool json = false;
  std::string write_recipe, base_recipe;
  double target_sparsity = 0, target_speedup = 0;  // 0: not given
};

// What --write-recipe needs, checked before anything is measured.
struct RecipeRequest {
  recipe::Recipe base;
  std::size_t modifier = 0;
  pipeline::AllocationTarget target;
};

std::optional<RecipeRequest> recipe_request(const AnalyzeFlags& flags, const pipeline::AnalysisOptions& options) {
  const bool targets = flags.target_sparsity != 0 || flags.target_speedup != 0;
  if (flags.write_recipe.empty()) {
    if (targets || !flags.base_recipe.empty())
      throw BadInput("analyze: --recipe, --target-sparsity and --target-speedup go with --write-recipe");
    return std::nullopt;
  }
  if (flags.base_recipe.empty())
    throw BadInput("--write-recipe: needs --recipe BASE.yaml, the uniform recipe whose pruning modifier it rewrites");
  if ((flags.target_sparsity != 0) == (flags.target_speedup != 0))
    throw BadInput("--write-recipe: needs one target, --target-sparsity S (0 < S < 1) or --target-speedup X");
  const fs::path out_dir = fs::absolute(flags.write_recipe).parent_path();
  if (!fs::is_directory(out_dir)) throw BadInput("--write-recipe: folder " + out_dir.string() + " does not exist");
  RecipeRequest r;
  r.target = flags.target_sparsity != 0
                 ? pipeline::AllocationTarget{pipeline::AllocationTarget::Kind::sparsity, flags.target_sparsity}
                 : pipeline::AllocationTarget{pipeline::AllocationTarget::Kind::speedup, flags.target_speedup};
  if (r.target.kind == pipeline::AllocationTarget::Kind::sparsity && !(r.target.value > 0 && r.target.value < 1))
    throw BadInput(fmt::format("--target-sparsity: {:g} is not in (0, 1)", r.target.value));
  if (r.target.kind == pipeline::AllocationTarget::Kind::speedup && !(r.target.value > 0))
    throw BadInput(fmt::format("--target-speedup: {:g} is not a positive speed-up", r.target.value));
  r.base = recipe::load_recipe(flags.base_recipe);
  std::vector<std::string> masks;
  for (const auto& kind : options.masks) masks.push_back(kind.name());
  r.modifier = pipeline::rewritable_pruning_modifier(r.base, "--recipe", masks);
  // A sparsity above every analysed one is out of reach whatever is measured.
  if (r.target.kind == pipeline::AllocationTarget::Kind::sparsity &&
      r.target.value > *std::max_element(options.sparsities.begin(), options.sparsities.end()))
    throw BadInput(fmt::format("--target-sparsity {:g} cannot be met: no layer is analysed above sparsity {:g} "
                               "(add higher --sparsities)",
                               r.target.value, *std::max_element(options.sparsities.begin(), options.sparsities.end())));
  return r;
}

// The allocation as Markdown, after the analysis's tables.
std::string allocation_markdown(const pipeline::Allocation& a, const std::string& file) {
  std::string md = fmt::format(
      "\n## Written recipe: {}\n\nAverage sparsity {:.4f}; predicted loss {:.4f} (dense {:.4f}); predicted speed-up "
      "{} {:.2f}x.\n\n| layer | sparsity | loss change alone | engine time |\n|---|--:|--:|--:|\n",
      file, a.sparsity, a.predicted_loss, a.dense_loss,
      a.whole_model ? "of the whole model over LibTorch FP32" : "of these layers over dense FP32", a.predicted_speedup);
  for (const auto& l : a.layers)
    md += fmt::format("| {} | {} | {:+.4f} | {:.1f} µs |\n", l.layer, l.sparsity > 0 ? fmt::format("{:g}", l.sparsity) : "dense",
                      l.loss_change, l.time_s * 1e6);
  return md;
}

int run_analyze(const AnalyzeFlags& flags, const CommonFlags& common) {
  std::vector<std::string> errors;
  pipeline::AnalysisOptions options;
  options.sparsities = parse_sparsities(flags.sparsities, "--sparsities", errors);
  options.masks = parse_masks(flags.masks, "--mask", errors);
  if (!errors.empty()) throw BadInput(recipe::join_errors("analyze", errors));
  const std::optional<RecipeRequest> request = recipe_request(flags, options);
  if (request && request->target.kind == pipeline::AllocationTarget::Kind::speedup) {
    options.time_whole_model = true;
    // The whole model is timed pruned with the first mask kind: the one the base recipe prunes with.
    const auto& mask = std::get<recipe::GMPruningParams>(request->base.modifiers[request->modifier].params).mask;
    std::stable_partition(options.masks.begin(), options.masks.end(), [&](const recipe::MaskKind& k) { return k.name() == mask.name(); });
    for (const auto& m : request->base.modifiers)
      if (const auto* q = std::get_if<recipe::QuantizationParams>(&m.params)) options.int8_attention = options.int8_attention || q->quantize_attention;
  }
  options.model_dir = flags.model_dir;
  options.data = flags.data;
  options.limit = flags.limit;
  options.batch_size = flags.batch_size;
  options.tokens = static_cast<size_t>(flags.tokens);
  options.threads = common.threads > 0 ? static_cast<size_t>(common.threads) : 1;
  // Built under DIR.partial and moved into place at the end (the previous analysis kept as DIR.old), so that a
  // failed analysis leaves DIR as it was; the previous analysis's cache is read from DIR.
  std::optional<StagedDir> staged;
  if (!flags.out_dir.empty()) {
    staged.emplace(flags.out_dir, "--out");
    options.cache_from = fs::path(flags.out_dir) / "analysis_cache.json";
    options.cache_to = staged->path() / "analysis_cache.json";
  }
  nlohmann::json analysis = pipeline::analyze(options);
  std::string markdown = pipeline::analysis_markdown(analysis);
  // A target the measurements cannot meet is exit 2 with no recipe written; the analysis folder is still
  // written, so that its cache spares a rerun the measurements.
  std::string recipe_text, recipe_error;
  if (request) {
    try {
      const auto& base_modifier = std::get<recipe::GMPruningParams>(request->base.modifiers[request->modifier].params);
      std::vector<std::string> names;
      for (const auto& l : analysis["layers"]) names.push_back(l["name"].get<std::string>());
      const pipeline::Allocation allocation = pipeline::allocate_sparsities(
          analysis, base_modifier.mask.name(), pipeline::selected_layers(request->base, request->modifier, names),
          request->target);
      recipe_text = pipeline::recipe_from_allocation(request->base, request->modifier, allocation, flags.write_recipe,
                                                     fmt::format("the analysis of {} on {} ({} items)", flags.model_dir,
                                                                 flags.data, analysis["items"].get<int64_t>()));
      analysis["written_recipe"] = pipeline::allocation_json(allocation);
      analysis["written_recipe"]["file"] = flags.write_recipe;
      markdown += allocation_markdown(allocation, flags.write_recipe);
    } catch (const BadInput& e) {
      recipe_error = e.what();
    }
  }
  if (staged) {
    const fs::path& out = staged->path();
    write_file_atomic(out / "analysis.json", analysis.dump(2) + "\n");
    write_file_atomic(out / "analysis.md", markdown);
    for (const auto& kind : options.masks) {
      write_file_atomic(out / ("sensitivity_" + pipeline::mask_slug(kind) + ".svg"), pipeline::sensitivity_svg(analysis, kind.name()));
      write_file_atomic(out / ("timing_" + pipeline::mask_slug(kind) + ".svg"), pipeline::timing_svg(analysis, kind.name()));
    }
    staged->commit();
  }
  if (!recipe_error.empty()) throw BadInput(recipe_error);
  if (!recipe_text.empty()) write_file_atomic(flags.write_recipe, recipe_text);
  if (flags.json || common.json) std::cout << analysis.dump(2) << std::endl;
  else std::cout << markdown;
  return 0;
}

}  // namespace

Action register_analyze(CLI::App& sub, const CommonFlags& common) {
  auto flags = std::make_shared<AnalyzeFlags>();
  sub.add_option("--model", flags->model_dir,
                 "A trained model's folder: a Sparrow checkpoint, a Hugging Face BERT or Llama folder")
      ->required();
  sub.add_option("--data", flags->data,
                 "The held-out data: for a classifier, as compress eval's --data (spam_assassin, fashion_mnist, or a "
                 ".jsonl/.csv text file: its test items); for a causal LM, a corpus (sotu, moby_dick: its validation part)")
      ->required();
  sub.add_option("--sparsities", flags->sparsities, "Sparsities each layer is pruned to, comma-separated")
      ->capture_default_str();
  sub.add_option("--mask", flags->masks,
                 "Mask kinds, comma-separated: unstructured, block4, [r,4], N:M (an N:M mask is measured at 1 - N/M only)")
      ->capture_default_str();
  sub.add_option("--limit", flags->limit,
                 "The held-out slice: a classifier's first N test items (default 512), a causal LM's first N tokens of "
                 "the corpus's validation part (default 4096)")
      ->check(CLI::PositiveNumber);
  sub.add_option("--batch-size", flags->batch_size, "Items per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  sub.add_option("--tokens", flags->tokens, "Tokens (rows) per timed GEMM: sequence length x batch for a BERT, the batch for a CNN")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--out", flags->out_dir,
                 "Output folder: analysis.json, analysis.md, sensitivity_<mask>.svg, timing_<mask>.svg and the cache "
                 "that lets a rerun measure only what is new");
  sub.add_flag("--json", flags->json, "Print the analysis as JSON on stdout (default: the Markdown tables)");
  sub.add_option("--write-recipe", flags->write_recipe,
                 "Write a recipe with per-layer sparsities chosen from the analysis: --recipe's, its pruning modifier "
                 "replaced by per-layer groups meeting the target with the least predicted loss");
  sub.add_option("--recipe", flags->base_recipe, "With --write-recipe: the uniform recipe to rewrite (one !GMPruningModifier)");
  sub.add_option("--target-sparsity", flags->target_sparsity,
                 "With --write-recipe: the average sparsity over the pruned layers, by parameter count");
  sub.add_option("--target-speedup", flags->target_speedup,
                 "With --write-recipe: the model's speed-up over LibTorch FP32 as sparrow bench --compare measures it "
                 "(batch 1, seq --tokens, --threads), predicted from the analysis's timings of the whole model and its layers");
  sub.footer(
      "Examples:\n"
      "  compress analyze --model out/bert_teacher/checkpoint --data spam_assassin --out analysis/bert_teacher\n"
      "  compress analyze --model out/fashion_cnn90/checkpoint --data fashion_mnist --mask block4,[4,4] --sparsities 0.8,0.9\n"
      "  compress analyze --model out/llama_sotu/checkpoint --data sotu --mask 'block4' --limit 8192\n"
      "  compress analyze --model out/bert90/teacher/checkpoint --data spam_assassin --out analysis/bert \\\n"
      "      --write-recipe recipes/bert90_allocated.yaml --recipe recipes/bert90.yaml --target-sparsity 0.9\n"
      "Exit codes: 0 ok, 2 bad input, 3 internal error.");
  return [flags, &common] { return run_analyze(*flags, common); };
}

}  // namespace sparrow::apps
