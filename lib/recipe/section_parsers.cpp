#include "recipe/section_parsers.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "recipe/limits.h"

namespace sparrow::recipe {

namespace {

std::string num(double v) { return format_number(v); }

// A model: section as JSON for the model factory, with eval(...) applied.
nlohmann::json to_json(const ParseContext& ctx, const YAML::Node& n, const std::string& field) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& kv : n) {
        // Field names are the model factory's (letters, digits, '_'); anything else could not be written back
        // as the resolved recipe's plain keys.
        const std::string& key = kv.first.Scalar();
        const bool name = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        });
        if (!name) {
          ctx.diag.error(ctx.source.where(kv.first) + ": a field name of the model section must be letters, digits and '_'");
          continue;
        }
        j[key] = to_json(ctx, kv.second, key);
      }
      return j;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& item : n) j.push_back(to_json(ctx, item, field));
      return j;
    }
    case YAML::NodeType::Scalar: {
      if (Scope::is_eval(n)) {
        const auto v = ctx.scope.number(n, field);
        if (!v) return nullptr;
        return v->is_int() ? nlohmann::json(v->as_int()) : nlohmann::json(v->as_double());
      }
      if (n.Tag() == "!") return n.Scalar();  // quoted in the file: keep as a string
      bool b;
      if (YAML::convert<bool>::decode(n, b)) return b;
      int64_t i;
      if (YAML::convert<int64_t>::decode(n, i)) return i;
      double d;
      if (YAML::convert<double>::decode(n, d)) {
        // JSON, which the model factory reads, has no infinity or NaN.
        if (!std::isfinite(d)) {
          ctx.diag.error(ctx.source.where(n) + ": model." + field + " must be a finite number, got " + n.Scalar());
          return nullptr;
        }
        return d;
      }
      return n.Scalar();
    }
    default: return nullptr;
  }
}

void positive(FieldReader& f, const std::string& key, double& out) {
  if (const auto v = f.number(key)) {
    if (*v <= 0) f.error(key, key + " must be > 0, got " + num(*v));
    else out = *v;
  }
}

void in_range(FieldReader& f, const std::string& key, int64_t& out, int64_t lo, int64_t hi) {
  if (const auto v = f.integer(key)) {
    if (*v < lo || *v > hi)
      f.error(key, key + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(*v));
    else out = *v;
  }
}

void non_negative(FieldReader& f, const std::string& key, int64_t& out) {
  if (const auto v = f.integer(key)) {
    if (*v < 0) f.error(key, key + " must be >= 0, got " + std::to_string(*v));
    else out = *v;
  }
}

void fraction(FieldReader& f, const std::string& key, double& out, double hi, bool hi_inclusive) {
  if (const auto v = f.number(key)) {
    if (*v < 0 || (hi_inclusive ? *v > hi : *v >= hi))
      f.error(key, key + " must be in [0, " + num(hi) + (hi_inclusive ? "]" : ")") + ", got " + num(*v));
    else out = *v;
  }
}

void fraction(FieldReader& f, const std::string& key, std::optional<double>& out) {
  double v = -1;
  fraction(f, key, v, 1.0, true);
  if (v >= 0) out = v;
}

void parse_model(const ParseContext& ctx, const YAML::Node& node, Recipe& r) {
  FieldReader f(ctx, node, "model");
  if (!node.IsMap()) return;
  if (f.require("name", "a zoo model such as cnn, mlp or bert"))
    if (const auto name = f.string("name")) r.model.name = *name;
  r.model.options = to_json(ctx, node, "model");
  r.model.options.erase("name");
  // The remaining fields belong to the model factory, which checks them.
}

void parse_data(const ParseContext& ctx, const YAML::Node& node, Recipe& r) {
  FieldReader f(ctx, node, "data");
  if (const auto v = f.string("dataset")) r.data.dataset = *v;
  if (const auto v = f.string("path")) r.data.path = *v;
  non_negative(f, "train_limit", r.data.train_limit);
  non_negative(f, "test_limit", r.data.test_limit);
  DataSpec& d = r.data;
  if (!is_corpus_dataset(d.dataset)) {
    for (const char* key : {"validation_fraction", "test_fraction", "split_seed"})
      if (f.has(key))
        f.error(key, std::string(key) + " splits a text corpus (sotu, moby_dick, text) by document; dataset '" +
                         d.dataset + "' comes split");
  } else {
    fraction(f, "validation_fraction", d.validation_fraction, 1.0, false);
    fraction(f, "test_fraction", d.test_fraction, 1.0, false);
    if (d.validation_fraction + d.test_fraction >= 1.0)
      f.error("test_fraction", "validation_fraction + test_fraction must be < 1 (train keeps the rest), got " +
                                   num(d.validation_fraction) + " + " + num(d.test_fraction));
    int64_t seed = 0;
    non_negative(f, "split_seed", seed);
    d.split_seed = static_cast<uint64_t>(seed);
    if (d.dataset == "text" && d.path.empty())
      f.require("path", "a .txt file, a .jsonl file of {\"text\": ...} lines, or a folder of them");
  }
  f.finish();
}

void parse_teacher(const ParseContext& ctx, const YAML::Node& node, Recipe& r) {
  if (node.IsScalar()) {
    if (node.Scalar() == "self") r.teacher.self = true;
    else ctx.diag.error(ctx.source.where(node) + ": teacher must be 'self' or a mapping {checkpoint: DIR}, got " + describe_node(node));
    return;
  }
  FieldReader f(ctx, node, "teacher");
  if (f.require("checkpoint", "a checkpoint folder written by compress"))
    if (const auto v = f.string("checkpoint")) r.teacher.checkpoint = *v;
  f.finish();
}

void parse_train(const ParseContext& ctx, const YAML::Node& node, Recipe& r) {
  TrainSpec& t = r.train;
  FieldReader f(ctx, node, "train");
  // 0: a one-shot run (lib/compress/one_shot.h), no training step.
  if (const auto v = f.epochs("epochs")) {
    if (*v < 0) f.error("epochs", "epochs must be >= 0 (0: one-shot, no training), got " + num(*v));
    else t.epochs = *v;
  }
  in_range(f, "batch_size", t.batch_size, 1, kMaxBatchSize);
  in_range(f, "eval_batch_size", t.eval_batch_size, 1, kMaxBatchSize);
  if (const auto v = f.string("optimizer")) {
    if (*v != "sgd" && *v != "adamw")
      f.error("optimizer", "optimizer must be sgd or adamw, got '" + *v + "'" + did_you_mean(*v, {"sgd", "adamw"}));
    else t.optimizer = *v;
  }
  positive(f, "lr", t.lr);
  fraction(f, "momentum", t.momentum, 1.0, false);
  fraction(f, "weight_decay", t.weight_decay, 1.0, true);
  non_negative(f, "save_steps", t.save_steps);
  int64_t seed = 0;
  non_negative(f, "seed", seed);
  t.seed = static_cast<uint64_t>(seed);
  f.finish();
}

void parse_export(const ParseContext& ctx, const YAML::Node& node, Recipe& r) {
  r.export_spec.enabled = true;
  FieldReader f(ctx, node, "export");
  if (const auto v = f.string("format")) {
    if (*v != "sparrow") f.error("format", "export format must be sparrow (the engine's .sparrow file), got '" + *v + "'");
    else r.export_spec.format = *v;
  }
  if (const auto v = f.string("file")) {
    if (v->empty() || v->find('/') != std::string::npos)
      f.error("file", "export file is a file name inside the output folder, got '" + *v + "'");
    else r.export_spec.file = *v;
  }
  f.finish();
}

void parse_gates(const ParseContext& ctx, const YAML::Node& node, Recipe& r) {
  FieldReader f(ctx, node, "gates");
  fraction(f, "min_accuracy", r.gates.min_accuracy);
  fraction(f, "max_accuracy_drop", r.gates.max_accuracy_drop);
  fraction(f, "min_accuracy_ratio", r.gates.min_accuracy_ratio);
  fraction(f, "min_sparsity", r.gates.min_sparsity);
  if (const auto v = f.number("min_speedup")) {
    if (*v <= 0) f.error("min_speedup", "min_speedup must be > 0 (times faster than dense), got " + num(*v));
    else r.gates.min_speedup = *v;
  }
  if (const auto v = f.integer("speedup_batch")) {
    if (*v != 1 && *v != 32) f.error("speedup_batch", "speedup_batch must be 1 or 32 (the engine check's batch sizes), got " + std::to_string(*v));
    else r.gates.speedup_batch = static_cast<int>(*v);
  }
  if (const auto v = f.string("speedup_threads")) {
    if (*v != "1" && *v != "all") f.error("speedup_threads", "speedup_threads must be 1 or all (the engine check's thread counts), got '" + *v + "'");
    else r.gates.speedup_threads = *v == "1" ? 1 : 0;
  }
  if (const auto v = f.number("max_perplexity")) {
    if (*v < 1) f.error("max_perplexity", "max_perplexity must be >= 1 (a perplexity is never below 1), got " + num(*v));
    else r.gates.max_perplexity = *v;
  }
  if (const auto v = f.number("max_perplexity_ratio")) {
    if (*v < 1) f.error("max_perplexity_ratio", "max_perplexity_ratio must be >= 1 (compressed over dense perplexity), got " + num(*v));
    else r.gates.max_perplexity_ratio = *v;
  }
  f.finish();
}

using SectionParser = std::function<void(const ParseContext&, const YAML::Node&, Recipe&)>;

const std::map<std::string, SectionParser>& parsers() {
  static const std::map<std::string, SectionParser> table = {
      {"model", parse_model}, {"data", parse_data},     {"teacher", parse_teacher},
      {"train", parse_train}, {"export", parse_export}, {"gates", parse_gates},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> names = {"model", "data", "teacher", "train", "export", "gates"};
  return names;
}

void parse_section(const ParseContext& ctx, const std::string& name, const YAML::Node& node, Recipe& r) {
  parsers().at(name)(ctx, node, r);
}

}  // namespace sparrow::recipe
