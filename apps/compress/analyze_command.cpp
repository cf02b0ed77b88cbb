// `compress analyze --model DIR --data X [--sparsities ...] [--mask ...] [--out DIR] [--json]`: per-layer
// sensitivity to pruning and the engine's time per layer shape (pipeline/analysis.h). This file parses the
// flags and writes the outputs (pipeline/analysis_report.h).
#include <iostream>
#include <memory>
#include <optional>

#include "apps/compress/command.h"
#include "apps/compress/list_flags.h"
#include "core/errors.h"
#include "core/files.h"
#include "pipeline/analysis.h"
#include "pipeline/analysis_report.h"
#include "pipeline/mask_slug.h"
#include "recipe/diagnostics.h"

namespace sparrow::apps {

namespace {

struct AnalyzeFlags {
  std::string model_dir;
  std::string data;
  std::string sparsities = "0.5,0.7,0.8,0.9,0.95";
  std::string masks = "block4";
  std::string out_dir;
  int64_t limit = 512;
  int64_t batch_size = 64;
  int64_t tokens = 128;
  bool json = false;
};

int run_analyze(const AnalyzeFlags& flags, const CommonFlags& common) {
  std::vector<std::string> errors;
  pipeline::AnalysisOptions options;
  options.sparsities = parse_sparsities(flags.sparsities, "--sparsities", errors);
  options.masks = parse_masks(flags.masks, "--mask", errors);
  if (!errors.empty()) throw BadInput(recipe::join_errors("analyze", errors));
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
  const nlohmann::json analysis = pipeline::analyze(options);
  const std::string markdown = pipeline::analysis_markdown(analysis);
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
  if (flags.json || common.json) std::cout << analysis.dump(2) << std::endl;
  else std::cout << markdown;
  return 0;
}

}  // namespace

Action register_analyze(CLI::App& sub, const CommonFlags& common) {
  auto flags = std::make_shared<AnalyzeFlags>();
  sub.add_option("--model", flags->model_dir, "A classifier's model folder: a Sparrow checkpoint or a Hugging Face BERT")
      ->required();
  sub.add_option("--data", flags->data,
                 "The held-out data, as compress eval's --data: a built-in dataset's test split (spam_assassin, "
                 "fashion_mnist) or a .jsonl/.csv text file")
      ->required();
  sub.add_option("--sparsities", flags->sparsities, "Sparsities each layer is pruned to, comma-separated")
      ->capture_default_str();
  sub.add_option("--mask", flags->masks,
                 "Mask kinds, comma-separated: unstructured, block4, [r,4], N:M (an N:M mask is measured at 1 - N/M only)")
      ->capture_default_str();
  sub.add_option("--limit", flags->limit, "Items of the held-out slice: the data's first N test items")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--batch-size", flags->batch_size, "Items per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  sub.add_option("--tokens", flags->tokens, "Tokens (rows) per timed GEMM: sequence length x batch for a BERT, the batch for a CNN")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub.add_option("--out", flags->out_dir,
                 "Output folder: analysis.json, analysis.md, sensitivity_<mask>.svg, timing_<mask>.svg and the cache "
                 "that lets a rerun measure only what is new");
  sub.add_flag("--json", flags->json, "Print the analysis as JSON on stdout (default: the Markdown tables)");
  sub.footer(
      "Examples:\n"
      "  compress analyze --model out/bert_teacher/checkpoint --data spam_assassin --out analysis/bert_teacher\n"
      "  compress analyze --model out/fashion_cnn90/checkpoint --data fashion_mnist --mask block4,[4,4] --sparsities 0.8,0.9\n"
      "Exit codes: 0 ok, 2 bad input, 3 internal error.");
  return [flags, &common] { return run_analyze(*flags, common); };
}

}  // namespace sparrow::apps
