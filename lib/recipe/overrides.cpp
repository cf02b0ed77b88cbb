#include "recipe/overrides.h"

#include <nlohmann/json.hpp>
#include <yaml-cpp/depthguard.h>

#include <algorithm>

#include "recipe/limits.h"
#include "recipe/section_parsers.h"

namespace sparrow::recipe {

namespace {

bool contains_modifiers(const std::string& key) { return key.find("modifiers") != std::string::npos; }

bool is_section(const std::string& key) {
  const auto& names = section_names();
  return std::find(names.begin(), names.end(), key) != names.end();
}

// Recursive: `j` is checked by too_deep() first.
YAML::Node json_to_yaml(const nlohmann::json& j) {
  if (j.is_object()) {
    YAML::Node n(YAML::NodeType::Map);
    for (const auto& [k, v] : j.items()) n[k] = json_to_yaml(v);
    return n;
  }
  if (j.is_array()) {
    YAML::Node n(YAML::NodeType::Sequence);
    for (const auto& v : j) n.push_back(json_to_yaml(v));
    return n;
  }
  if (j.is_string()) return YAML::Node(j.get<std::string>());
  if (j.is_null()) return YAML::Node(YAML::NodeType::Null);
  return YAML::Load(j.dump());  // numbers and booleans read back as YAML scalars
}

// Every variable name the recipe defines, at the top level and in stages.
std::vector<std::string> variable_names(const YAML::Node& root) {
  std::vector<std::string> names;
  for (const auto& kv : root) {
    const auto key = kv.first.Scalar();
    if (is_variable(key, kv.second)) names.push_back(key);
    if (is_stage(key, kv.second))
      for (const auto& inner : kv.second)
        if (is_variable(inner.first.Scalar(), inner.second)) names.push_back(key + "." + inner.first.Scalar());
  }
  return names;
}

void set_variable(YAML::Node& root, const std::string& name, const YAML::Node& value, const std::string& label,
                  Source& source, Diagnostics& diag) {
  bool found = false;
  const auto assign = [&](YAML::Node map) {
    map[name] = value;
    found = true;
  };
  const YAML::Node& const_root = root;
  if (const_root[name] && is_variable(name, const_root[name])) assign(root);
  for (auto kv : root)
    if (is_stage(kv.first.Scalar(), kv.second) && kv.second.IsMap() && static_cast<const YAML::Node&>(kv.second)[name])
      assign(kv.second);
  if (found) {
    source.mark_override(value, label);
    return;
  }
  std::vector<std::string> names = variable_names(root);
  diag.error(label + ": the recipe has no variable '" + name + "'" + did_you_mean(name, names) +
             "; a field needs its dotted path, e.g. train.batch_size");
}

void set_path(YAML::Node& root, const std::string& path, const YAML::Node& value, const std::string& label,
              Source& source, Diagnostics& diag) {
  std::vector<std::string> parts;
  for (size_t begin = 0;;) {
    const size_t dot = path.find('.', begin);
    parts.push_back(path.substr(begin, dot - begin));
    if (dot == std::string::npos) break;
    begin = dot + 1;
  }
  YAML::Node node = root;
  std::string walked;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const bool last = i + 1 == parts.size();
    if (part.empty()) {
      diag.error(label + ": '" + path + "' has an empty name between dots");
      return;
    }
    if (node.IsSequence()) {
      size_t index = 0;
      try {
        size_t used = 0;
        index = std::stoul(part, &used);
        if (used != part.size()) throw std::invalid_argument(part);
      } catch (const std::exception&) {
        diag.error(label + ": '" + walked + "' is a list; index it with a number, got '" + part + "'");
        return;
      }
      if (index >= node.size()) {
        diag.error(label + ": '" + walked + "' has " + std::to_string(node.size()) + " items; index " + part +
                   " is out of range");
        return;
      }
      if (last) {
        node[index] = value;
        source.mark_override(value, label);
        return;
      }
      node.reset(node[index]);
    } else if (node.IsMap() || (node.IsNull() && i == 1 && is_section(parts[0]))) {
      const YAML::Node& const_node = node;
      if (last) {
        node[part] = value;
        source.mark_override(value, label);
        for (const auto& kv : node)  // a new field's key too, in case it is unknown
          if (kv.first.Scalar() == part) source.mark_override(kv.first, label);
        return;
      }
      if (!const_node[part]) {
        if (i == 0 && is_section(part)) {
          node[part] = YAML::Node(YAML::NodeType::Map);
        } else {
          std::vector<std::string> keys;
          for (const auto& kv : node) keys.push_back(kv.first.Scalar());
          diag.error(label + ": the recipe has no '" + (walked.empty() ? part : walked + "." + part) + "'" +
                     did_you_mean(part, keys));
          return;
        }
      }
      node.reset(node[part]);
    } else {
      diag.error(label + ": '" + walked + "' is a single value, not a section with fields");
      return;
    }
    walked += (walked.empty() ? "" : ".") + part;
  }
}

}  // namespace

bool is_stage(const std::string& key, const YAML::Node& value) {
  if (!value.IsMap() || is_section(key) || contains_modifiers(key)) return false;
  for (const auto& kv : value)
    if (contains_modifiers(kv.first.Scalar())) return true;
  return false;
}

bool is_variable(const std::string& key, const YAML::Node& value) {
  return key != "version" && !is_section(key) && !contains_modifiers(key) &&
         (value.IsScalar() || value.IsSequence() || value.IsNull());
}

void apply_overrides(YAML::Node& root, const Overrides& overrides, Source& source, Diagnostics& diag) {
  if (!overrides.recipe_args_json.empty()) {
    nlohmann::json args;
    try {
      args = nlohmann::json::parse(overrides.recipe_args_json);
    } catch (const nlohmann::json::exception& e) {
      diag.error(std::string("--recipe-args: not valid JSON (") + e.what() + "); expected e.g. '{\"num_epochs\": 8}'");
    }
    if (!args.is_null() && !args.is_object())
      diag.error("--recipe-args: expected a JSON object of variables, e.g. '{\"num_epochs\": 8}'");
    if (too_deep(args)) {
      diag.error("--recipe-args: the JSON is " + too_deep_message());
      args = nullptr;
    }
    if (args.is_object())
      for (const auto& [name, value] : args.items())
        set_variable(root, name, json_to_yaml(value), "--recipe-args " + excerpt(name), source, diag);
  }
  for (const auto& set : overrides.sets) {
    const size_t eq = set.find('=');
    if (eq == std::string::npos || eq == 0) {
      diag.error("--set " + excerpt(set) + ": expected NAME=VALUE, e.g. --set final_sparsity=0.95");
      continue;
    }
    const std::string name = set.substr(0, eq);
    const std::string label = "--set " + excerpt(set);
    YAML::Node value;
    try {
      value = YAML::Load(set.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      const bool deep = dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr;
      diag.error(label + ": the value is not valid YAML (" + (deep ? too_deep_message() : e.msg) + ")");
      continue;
    }
    if (const std::string size = oversized(value); !size.empty()) {
      diag.error(label + ": the value " + size);
      continue;
    }
    if (!value.IsDefined() || value.IsNull()) {
      diag.error(label + ": the value is empty");
      continue;
    }
    if (name.find('.') != std::string::npos) {
      set_path(root, name, value, label, source, diag);
    } else if (contains_modifiers(name)) {
      // A whole top-level modifier list, e.g. --set quantization_modifiers=[] to run without it.
      if (static_cast<const YAML::Node&>(root)[name]) {
        set_path(root, name, value, label, source, diag);
      } else {
        std::vector<std::string> lists;
        for (const auto& kv : root)
          if (contains_modifiers(kv.first.Scalar())) lists.push_back(kv.first.Scalar());
        diag.error(label + ": the recipe has no modifier list '" + name + "'" + did_you_mean(name, lists));
      }
    } else {
      set_variable(root, name, value, label, source, diag);
    }
  }
}

}  // namespace sparrow::recipe
