// The recipe's top level: Markdown front matter, overrides, variables,
// stages, sections and modifier lists, then checks across modifiers.
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/errors.h"
#include "core/files.h"
#include "recipe/limits.h"
#include "recipe/modifier_parsers.h"
#include "recipe/overrides.h"
#include "recipe/param_patterns.h"
#include "recipe/recipe.h"
#include "recipe/section_parsers.h"
#include "recipe/yaml_fields.h"

namespace sparrow::recipe {

namespace {

bool contains_modifiers(const std::string& key) { return key.find("modifiers") != std::string::npos; }

bool is_markdown(const std::string& file_name) {
  const auto ext = std::filesystem::path(file_name).extension().string();
  return ext == ".md" || ext == ".markdown";
}

// A Markdown recipe's YAML is its front matter: from a first line "---" to the
// next "---" line. The opening line is kept (YAML reads it as a document
// start) so that line numbers stay those of the file.
std::string front_matter(const std::string& text, const std::string& file_name) {
  if (text.rfind("---\n", 0) != 0 && text.rfind("---\r\n", 0) != 0)
    throw BadInput(file_name + ":1:1: a Markdown recipe starts with YAML front matter between two '---' lines");
  size_t pos = text.find('\n') + 1;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "---" || line == "...") return text.substr(0, pos);
    pos = end + 1;
  }
  throw BadInput(file_name + ":1:1: the front matter opened by '---' on line 1 is never closed by a '---' line");
}

// A modifier group: SparseML's list of tagged modifiers (- !Tag {...}), or llm-compressor's mapping of modifier
// name to fields (Name: {...}). Each modifier's --set path is KEY.INDEX or KEY.NAME, prefixed by its stage.
void parse_modifier_list(const ParseContext& ctx, const std::string& key, const YAML::Node& list,
                         const std::string& stage, Recipe& r) {
  if (list.IsNull()) return;  // an empty list written as "key:"
  const std::string prefix = (stage.empty() ? "" : stage + ".") + key + ".";
  const bool tagged = list.Tag().size() > 1 && list.Tag()[0] == '!';  // "key: !Tag {...}": a list item without its '- '
  if (list.IsMap() && !tagged) {
    check_duplicate_keys(ctx.source, ctx.diag, list, "'" + key + "'");
    for (const auto& kv : list) {
      const size_t before = r.modifiers.size();
      parse_named_modifier(ctx, kv.first, kv.second, stage, r.modifiers);
      for (size_t k = before; k < r.modifiers.size(); ++k) r.modifiers[k].path = prefix + kv.first.Scalar();
    }
    return;
  }
  if (!list.IsSequence()) {
    ctx.diag.error(ctx.source.where(list) + ": '" + key + "' must be a list of modifiers (- !Tag ...) or a mapping of " +
                   "modifier names to their fields (SparseGPTModifier: {...}), got " +
                   (tagged ? "one " + list.Tag() + " without its '- ' (write '- " + list.Tag() + "')" : describe_node(list)));
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const size_t before = r.modifiers.size();
    parse_modifier(ctx, list[i], stage, r.modifiers);
    for (size_t k = before; k < r.modifiers.size(); ++k) r.modifiers[k].path = prefix + std::to_string(i);
  }
}

void parse_stage(const Source& source, Diagnostics& diag, const Scope& global, const std::string& name,
                 const YAML::Node& stage, Recipe& r) {
  check_duplicate_keys(source, diag, stage, "stage '" + name + "'");
  Scope scope(source, diag, &global);
  for (const auto& kv : stage)
    if (is_variable(kv.first.Scalar(), kv.second)) scope.define(kv.first.Scalar(), kv.second);
  scope.evaluate_all();
  const ParseContext ctx{source, diag, scope};
  for (const auto& kv : stage) {
    const auto key = kv.first.Scalar();
    if (contains_modifiers(key)) {
      parse_modifier_list(ctx, key, kv.second, name, r);
    } else if (!is_variable(key, kv.second)) {
      const auto& sections = section_names();
      const bool section = std::find(sections.begin(), sections.end(), key) != sections.end();
      diag.error(source.where(kv.first) + ": stage '" + name + "' holds variables and modifier lists only; '" + key +
                 (section ? "' is a top-level section" : "' is neither"));
    }
  }
  r.stages.push_back(name);
}

// Checks that need every modifier: shared params at overlapping epochs,
// modifiers outside the training epochs, distillation without a teacher, SparseGPT's quantize without a
// !QuantizationModifier.
// `train_epochs_at`: where train.epochs was written (file:line:column or the --set), empty when it was not.
void check_modifiers(const Recipe& r, const std::string& train_epochs_at, Diagnostics& diag) {
  const bool train_epochs_set = !train_epochs_at.empty();
  for (const auto& e : check_shared_patterns(r)) diag.error(e);
  // The trainer's rule (planned_epochs): an !EpochRangeModifier's end_epoch sets the length, so say when it
  // silently beats a train.epochs that differs.
  for (const auto& m : r.modifiers)
    if (const auto* range = std::get_if<EpochRangeParams>(&m.params);
        range && range->end_epoch > 0 && train_epochs_set && std::abs(range->end_epoch - r.train.epochs) > 1e-9) {
      diag.warning(train_epochs_at + ": train.epochs (" + format_number(r.train.epochs) + ") is overridden by !" + m.tag +
                   " at " + m.location + ", whose end_epoch (" + format_number(range->end_epoch) +
                   ") sets the length of training; change " + m.path + ".end_epoch instead");
      break;
    }
  const bool has_range = std::any_of(r.modifiers.begin(), r.modifiers.end(), [](const ModifierSpec& m) {
    return std::holds_alternative<EpochRangeParams>(m.params) && std::get<EpochRangeParams>(m.params).end_epoch > 0;
  });
  const double epochs = planned_epochs(r);
  const bool quantized = std::any_of(r.modifiers.begin(), r.modifiers.end(), [](const ModifierSpec& m) {
    return std::holds_alternative<QuantizationParams>(m.params);
  });
  for (const auto& m : r.modifiers) {
    const auto [start, end] = epoch_range(m.params);
    if ((has_range || train_epochs_set) && std::max(start, end) > epochs + 1e-9)
      diag.warning(m.location + ": !" + m.tag + " reaches epoch " + format_number(std::max(start, end)) +
                   " but training stops at epoch " + format_number(epochs));
    if (const auto* gpt = std::get_if<SparseGPTParams>(&m.params); gpt && gpt->quantize && !quantized)
      diag.error(m.location + ": !" + m.tag + " has quantize: true but the recipe has no !QuantizationModifier; add one "
                 "(with start_epoch: 0 and num_calibration_steps): it calibrates the activations of the INT8 layers whose "
                 "weights this modifier quantizes");
    const bool distills = std::holds_alternative<DistillationParams>(m.params) || std::holds_alternative<OutputDistillationParams>(m.params);
    if (distills && !r.teacher.defined())
      diag.warning(m.location + ": !" + m.tag + " needs a teacher: section (a checkpoint, or 'self') to train");
  }
  // Each rewrites the loss from the task loss; two of them would each discard the other's terms.
  std::vector<const ModifierSpec*> distillers;
  for (const auto& m : r.modifiers)
    if (std::holds_alternative<DistillationParams>(m.params) || std::holds_alternative<OutputDistillationParams>(m.params))
      distillers.push_back(&m);
  if (distillers.size() > 1)
    diag.error(distillers[1]->location + ": a second distillation modifier (!" + distillers[1]->tag + "; the first is at " +
               distillers[0]->location + "): a recipe distils with one; !OutputDistillationModifier's logits_scale adds the "
               "logit term to its layer outputs");
}

}  // namespace

double planned_epochs(const Recipe& recipe) {
  for (const auto& m : recipe.modifiers)
    if (const auto* range = std::get_if<EpochRangeParams>(&m.params); range && range->end_epoch > 0)
      return range->end_epoch;
  return recipe.train.epochs;
}

Recipe parse_recipe(const std::string& text, const std::string& file_name, const Overrides& overrides) {
  const std::string yaml = is_markdown(file_name) ? front_matter(text, file_name) : text;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    const bool deep = dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr;
    throw BadInput(file_name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                   ": invalid YAML: " + (deep ? too_deep_message() : e.msg));
  }
  if (const std::string size = oversized(root); !size.empty()) throw BadInput(file_name + ": the recipe " + size);
  if (!root.IsMap())
    throw BadInput(file_name + ": a recipe is a YAML mapping (variables, sections such as train:, and *_modifiers: lists)");

  Source source(file_name);
  Diagnostics diag;
  check_duplicate_keys(source, diag, root, "the recipe");
  apply_overrides(root, overrides, source, diag);

  Scope global(source, diag);
  for (const auto& kv : root)
    if (is_variable(kv.first.Scalar(), kv.second)) global.define(kv.first.Scalar(), kv.second);
  global.evaluate_all();
  const ParseContext ctx{source, diag, global};

  Recipe r;
  r.file = file_name;
  r.text = text;
  std::string train_epochs_at;
  std::vector<std::string> known = section_names();
  known.push_back("version");
  for (const auto& kv : root) {
    const auto key = kv.first.Scalar();
    const auto& sections = section_names();
    if (key == "version") {
      if (kv.second.IsScalar()) r.version = kv.second.Scalar();
      else diag.error(source.where(kv.second) + ": version must be a single value such as 1.1.0");
    } else if (std::find(sections.begin(), sections.end(), key) != sections.end()) {
      parse_section(ctx, key, kv.second, r);
      const YAML::Node& section = kv.second;
      if (key == "train" && section.IsMap() && section["epochs"]) train_epochs_at = source.where(section["epochs"]);
    } else if (contains_modifiers(key)) {
      parse_modifier_list(ctx, key, kv.second, "", r);
    } else if (is_stage(key, kv.second)) {
      parse_stage(source, diag, global, key, kv.second, r);
    } else if (!is_variable(key, kv.second)) {
      diag.error(source.where(kv.first) + ": unknown section '" + key + "'" + did_you_mean(key, known) +
                 "; a recipe has model, data, teacher, train, export, gates, *_modifiers lists, stages and variables");
    }
  }
  check_modifiers(r, train_epochs_at, diag);
  diag.throw_if_errors(file_name);
  r.warnings = diag.warnings();
  return r;
}

Recipe load_recipe(const std::filesystem::path& file, const Overrides& overrides) {
  std::error_code ec;  // a symlink loop is read_file's to name
  if (!std::filesystem::exists(file, ec) && !ec) throw BadInput(file.string() + ": recipe file not found");
  // A recipe is a page or two of YAML; the cap stops /dev/zero-like inputs and runaway parses.
  constexpr std::uintmax_t kMaxRecipeBytes = 4 << 20;
  return parse_recipe(read_file(file, kMaxRecipeBytes), file.string(), overrides);
}

}  // namespace sparrow::recipe
