#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>

#include "core/errors.h"
#include "core/files.h"
#include "recipe/gmp_schedule.h"
#include "recipe/recipe.h"
#include "recipe/yaml_fields.h"

namespace sparrow::recipe {

namespace {

nlohmann::json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json j = nlohmann::json::object();
      for (const auto& kv : n) j[kv.first.as<std::string>()] = to_json(kv.second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& item : n) j.push_back(to_json(item));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const std::string s = n.Scalar();
      if (n.Tag() == "!") return s;  // quoted in the file: keep as a string
      bool b;
      if (YAML::convert<bool>::decode(n, b)) return b;
      int64_t i;
      if (YAML::convert<int64_t>::decode(n, i)) return i;
      double d;
      if (YAML::convert<double>::decode(n, d)) return d;
      return s;
    }
    default: return nullptr;
  }
}

void read_epoch_range(FieldReader& f, double& start, double& end) {
  start = f.number("start_epoch", 0.0);
  end = f.number("end_epoch", -1.0);
  if (start < 0) throw BadInput(f.where(f.node("start_epoch")) + ": start_epoch must be >= 0");
  if (end >= 0 && end <= start)
    throw BadInput(f.where(f.node("end_epoch")) + ": end_epoch (" + std::to_string(end) +
                   ") must be greater than start_epoch (" + std::to_string(start) + ") or -1 for unset");
}

ModifierParams parse_epoch_range(FieldReader& f) {
  EpochRangeParams p;
  read_epoch_range(f, p.start_epoch, p.end_epoch);
  return p;
}

ModifierParams parse_set_lr(FieldReader& f) {
  SetLearningRateParams p;
  read_epoch_range(f, p.start_epoch, p.end_epoch);
  p.learning_rate = f.required_number("learning_rate");
  if (p.learning_rate <= 0) throw BadInput(f.where(f.node("learning_rate")) + ": learning_rate must be > 0");
  return p;
}

double read_sparsity(FieldReader& f, const std::string& key, bool required) {
  const double s = required ? f.required_number(key) : f.number(key, 0.0);
  if (s < 0.0 || s >= 1.0)
    throw BadInput(f.where(f.node(key)) + ": " + key + " must be in [0, 1), got " + std::to_string(s));
  return s;
}

ModifierParams parse_gm_pruning(FieldReader& f) {
  GMPruningParams p;
  read_epoch_range(f, p.start_epoch, p.end_epoch);
  if (p.end_epoch < 0) throw BadInput(f.where(f.node("start_epoch")) + ": GMPruningModifier needs end_epoch");
  p.update_frequency = f.number("update_frequency", -1.0);
  if (p.update_frequency == 0.0 || p.update_frequency < -1.0)
    throw BadInput(f.where(f.node("update_frequency")) + ": update_frequency must be > 0 (epochs) or -1");
  p.init_sparsity = read_sparsity(f, "init_sparsity", false);
  p.final_sparsity = read_sparsity(f, "final_sparsity", true);
  p.params = f.strings("params");
  if (p.params.empty()) throw BadInput(f.where(f.node("final_sparsity")) + ": GMPruningModifier needs params");
  const std::string inter = f.string("inter_func", "cubic");
  try {
    p.inter_func = parse_inter_func(inter);
  } catch (const std::invalid_argument&) {
    throw BadInput(f.where(f.node("inter_func")) + ": inter_func must be linear, cubic or inverse_cubic, got '" +
                   inter + "'");
  }
  p.mask_type = f.string("mask_type", "unstructured");
  if (p.mask_type != "unstructured")
    throw BadInput(f.where(f.node("mask_type")) + ": mask_type '" + p.mask_type +
                   "' is not supported yet; supported: unstructured");
  p.leave_enabled = f.boolean("leave_enabled", true);
  return p;
}

using ModifierParser = std::function<ModifierParams(FieldReader&)>;

const std::map<std::string, ModifierParser>& modifier_parsers() {
  static const std::map<std::string, ModifierParser> parsers = {
      {"EpochRangeModifier", parse_epoch_range},
      {"SetLearningRateModifier", parse_set_lr},
      {"GMPruningModifier", parse_gm_pruning},
  };
  return parsers;
}

ModifierSpec parse_modifier(const std::string& file, const YAML::Node& node) {
  const std::string tag = node.Tag();
  const std::string name = tag.size() > 1 && tag[0] == '!' ? tag.substr(1) : "";
  const auto& parsers = modifier_parsers();
  const auto it = parsers.find(name);
  if (it == parsers.end()) {
    std::vector<std::string> valid;
    for (const auto& kv : parsers) valid.push_back(kv.first);
    std::string msg = where(file, node) + ": ";
    msg += name.empty() ? "modifier has no tag (write e.g. '- !GMPruningModifier')"
                        : "unknown modifier tag '!" + name + "'";
    const std::string hint = nearest_name(name, valid);
    if (!hint.empty()) msg += " (did you mean '!" + hint + "'?)";
    msg += "; valid tags:";
    for (const auto& v : valid) msg += " !" + v;
    throw BadInput(msg);
  }
  FieldReader fields(file, node, "!" + name);
  ModifierSpec spec{name, where(file, node), it->second(fields)};
  fields.finish();
  return spec;
}

ModelSpec parse_model(const std::string& file, const YAML::Node& node) {
  if (!node || !node.IsMap()) throw BadInput(file + ": the recipe needs a 'model:' section with at least 'name:'");
  FieldReader f(file, node, "model");
  ModelSpec spec;
  spec.name = f.required_string("name");
  spec.options = to_json(node);
  spec.options.erase("name");
  return spec;
}

DataSpec parse_data(const std::string& file, const YAML::Node& node) {
  DataSpec d;
  FieldReader f(file, node, "data");
  d.dataset = f.string("dataset", d.dataset);
  d.path = f.string("path", "");
  d.train_limit = f.integer("train_limit", 0);
  d.test_limit = f.integer("test_limit", 0);
  if (d.train_limit < 0) throw BadInput(f.where(f.node("train_limit")) + ": train_limit must be >= 0");
  if (d.test_limit < 0) throw BadInput(f.where(f.node("test_limit")) + ": test_limit must be >= 0");
  f.finish();
  return d;
}

TrainSpec parse_train(const std::string& file, const YAML::Node& node) {
  TrainSpec t;
  FieldReader f(file, node, "train");
  t.epochs = f.number("epochs", t.epochs);
  t.batch_size = f.integer("batch_size", t.batch_size);
  t.eval_batch_size = f.integer("eval_batch_size", t.eval_batch_size);
  t.optimizer = f.string("optimizer", t.optimizer);
  t.lr = f.number("lr", t.lr);
  t.momentum = f.number("momentum", t.momentum);
  t.weight_decay = f.number("weight_decay", t.weight_decay);
  t.seed = static_cast<uint64_t>(f.integer("seed", 0));
  if (t.epochs <= 0) throw BadInput(f.where(f.node("epochs")) + ": epochs must be > 0");
  if (t.batch_size <= 0) throw BadInput(f.where(f.node("batch_size")) + ": batch_size must be > 0");
  if (t.eval_batch_size <= 0) throw BadInput(f.where(f.node("eval_batch_size")) + ": eval_batch_size must be > 0");
  if (t.optimizer != "sgd" && t.optimizer != "adamw")
    throw BadInput(f.where(f.node("optimizer")) + ": optimizer must be sgd or adamw, got '" + t.optimizer + "'");
  if (t.lr <= 0) throw BadInput(f.where(f.node("lr")) + ": lr must be > 0");
  f.finish();
  return t;
}

}  // namespace

Recipe parse_recipe(const std::string& text, const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw BadInput(file_name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                   ": invalid YAML: " + e.msg);
  }
  if (!root.IsMap()) throw BadInput(file_name + ": a recipe must be a YAML mapping (model:, train:, *_modifiers:)");

  Recipe r;
  r.file = file_name;
  r.text = text;
  std::vector<std::string> sections = {"version", "model", "data", "train"};
  for (const auto& kv : root) {
    const auto key = kv.first.as<std::string>();
    if (key == "model") {
      r.model = parse_model(file_name, kv.second);
    } else if (key == "data") {
      r.data = parse_data(file_name, kv.second);
    } else if (key == "train") {
      r.train = parse_train(file_name, kv.second);
    } else if (key.find("modifiers") != std::string::npos) {
      if (!kv.second.IsSequence())
        throw BadInput(where(file_name, kv.second) + ": '" + key + "' must be a list of modifiers");
      for (const auto& m : kv.second) r.modifiers.push_back(parse_modifier(file_name, m));
    } else if (key == "version" || kv.second.IsScalar()) {
      continue;  // top-level scalars are recipe variables
    } else {
      std::string msg = where(file_name, kv.first) + ": unknown section '" + key + "'";
      const std::string hint = nearest_name(key, sections);
      if (!hint.empty()) msg += " (did you mean '" + hint + "'?)";
      throw BadInput(msg + "; expected model, data, train or a key containing 'modifiers'");
    }
  }
  if (r.model.name.empty()) throw BadInput(file_name + ": the recipe needs a 'model:' section with 'name:'");
  return r;
}

Recipe load_recipe(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) throw BadInput(file.string() + ": recipe file not found");
  return parse_recipe(read_file(file), file.string());
}

}  // namespace sparrow::recipe
