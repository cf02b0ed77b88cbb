#include "recipe/yaml_fields.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "recipe/limits.h"

namespace sparrow::recipe {

void check_duplicate_keys(const Source& source, Diagnostics& diag, const YAML::Node& map, const std::string& what) {
  if (!map.IsMap()) return;
  // yaml-cpp keeps both copies of a repeated key and reads the first: say so.
  std::map<std::string, int> first_line;
  for (const auto& kv : map) {
    const auto key = kv.first.Scalar();
    const auto [it, inserted] = first_line.emplace(key, kv.first.Mark().line + 1);
    if (!inserted)
      diag.error(source.where(kv.first) + ": '" + key + "' appears twice in " + what + " (first at line " +
                 std::to_string(it->second) + ")");
  }
}

bool is_empty_node(const YAML::Node& n) {
  return !n.IsDefined() || n.IsNull() || (n.IsScalar() && n.Scalar().empty());
}

FieldReader::FieldReader(const ParseContext& ctx, YAML::Node map, std::string what)
    : ctx_(ctx), map_(std::move(map)), what_(std::move(what)) {
  if (!is_empty_node(map_) && !map_.IsMap())
    ctx_.diag.error(where(map_) + ": " + what_ + " must be a mapping of fields, got " + describe_node(map_));
  check_duplicate_keys(ctx_.source, ctx_.diag, map_, what_);
}

std::string FieldReader::where(const YAML::Node& n) const {
  return ctx_.source.where(n.IsDefined() ? n : map_);
}

bool FieldReader::has(const std::string& key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  const YAML::Node& map = map_;
  return map.IsMap() && map[key] && !map[key].IsNull();
}

YAML::Node FieldReader::node(const std::string& key) {
  has(key);
  // A const lookup: yaml-cpp's non-const operator[] would insert the key. An
  // absent key gives an invalid node that throws when asked its type.
  const YAML::Node& map = map_;
  if (map.IsMap())
    if (YAML::Node n = map[key]; n.IsDefined()) return n;
  return YAML::Node(YAML::NodeType::Undefined);
}

void FieldReader::error(const std::string& key, const std::string& message) {
  ctx_.diag.error(where(node(key)) + ": " + message);
}

void FieldReader::warn(const std::string& key, const std::string& message) {
  ctx_.diag.warning(where(node(key)) + ": " + message);
}

bool FieldReader::require(const std::string& key, const std::string& expected) {
  if (has(key)) return true;
  ctx_.diag.error(where(map_) + ": " + what_ + " needs field '" + key + "' (" + expected + ")");
  return false;
}

std::optional<double> FieldReader::number(const std::string& key) {
  if (!has(key)) return std::nullopt;
  const YAML::Node n = node(key);
  if (!n.IsScalar()) {
    error(key, "field '" + key + "' must be a number, got " + describe_node(n));
    return std::nullopt;
  }
  const auto v = ctx_.scope.number(n, key);
  if (!v) return std::nullopt;
  return v->as_double();
}

std::optional<int64_t> FieldReader::integer(const std::string& key) {
  const auto v = number(key);
  if (!v) return std::nullopt;
  if (std::floor(*v) != *v || std::fabs(*v) > 9.0e15) {
    error(key, "field '" + key + "' must be an integer, got " + format_number(*v));
    return std::nullopt;
  }
  return static_cast<int64_t>(*v);
}

std::optional<double> FieldReader::epochs(const std::string& key) {
  const auto v = number(key);
  if (v && *v > kMaxEpochs) {
    error(key, above_max_epochs(key, *v));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> FieldReader::boolean(const std::string& key) {
  if (!has(key)) return std::nullopt;
  const YAML::Node n = node(key);
  bool b;
  if (n.IsScalar() && YAML::convert<bool>::decode(n, b)) return b;
  error(key, "field '" + key + "' must be true or false, got " + describe_node(n));
  return std::nullopt;
}

std::optional<std::string> FieldReader::string(const std::string& key) {
  if (!has(key)) return std::nullopt;
  const YAML::Node n = node(key);
  if (n.IsScalar() && !Scope::is_eval(n)) return n.Scalar();
  error(key, "field '" + key + "' must be a string, got " + (n.IsScalar() ? "an eval(...), which gives a number" : describe_node(n)));
  return std::nullopt;
}

std::optional<std::vector<std::string>> FieldReader::strings(const std::string& key) {
  if (!has(key)) return std::nullopt;
  const YAML::Node n = node(key);
  std::vector<std::string> out;
  if (n.IsScalar() && !Scope::is_eval(n)) {
    out.push_back(n.Scalar());
    return out;
  }
  if (n.IsSequence()) {
    bool ok = true;
    for (const auto& item : n) {
      if (item.IsScalar() && !Scope::is_eval(item)) {
        out.push_back(item.Scalar());
      } else {
        ctx_.diag.error(where(item) + ": field '" + key + "' must list strings, got " + describe_node(item));
        ok = false;
      }
    }
    if (ok) return out;
    return std::nullopt;
  }
  error(key, "field '" + key + "' must be a string or a list of strings, got " +
                 (n.IsScalar() ? "an eval(...), which gives a number" : describe_node(n)));
  return std::nullopt;
}

void FieldReader::finish() {
  if (!map_.IsMap()) return;
  for (const auto& kv : map_) {
    const auto key = kv.first.Scalar();
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    ctx_.diag.error(ctx_.source.where(kv.first) + ": unknown field '" + key + "' in " + what_ +
                    did_you_mean(key, known_));
  }
}

}  // namespace sparrow::recipe
