#include "recipe/yaml_fields.h"

#include <algorithm>

#include "core/errors.h"

namespace sparrow::recipe {

std::string where(const std::string& file, const YAML::Node& node) {
  if (!node.IsDefined()) return file;
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return file;
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

namespace {
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string nearest_name(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(3, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

FieldReader::FieldReader(std::string file, YAML::Node map, std::string what)
    : file_(std::move(file)), map_(std::move(map)), what_(std::move(what)) {
  if (map_ && !map_.IsNull() && !map_.IsMap())
    throw BadInput(where(map_) + ": " + what_ + " must be a mapping of fields");
}

bool FieldReader::has(const std::string& key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
  const YAML::Node& map = map_;
  return map.IsMap() && map[key] && !map[key].IsNull();
}

YAML::Node FieldReader::node(const std::string& key) {
  has(key);
  // A const lookup: yaml-cpp's non-const operator[] would insert the key.
  const YAML::Node& map = map_;
  return map.IsMap() ? map[key] : YAML::Node(YAML::NodeType::Undefined);
}

std::string FieldReader::where(const YAML::Node& n) const {
  return recipe::where(file_, n.IsDefined() ? n : map_);
}

namespace {
template <typename T>
T convert(const FieldReader& r, const YAML::Node& n, const std::string& key, const char* expected) {
  try {
    if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "");
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw BadInput(r.where(n) + ": field '" + key + "' must be " + expected);
  }
}
}  // namespace

double FieldReader::number(const std::string& key, double fallback) {
  return has(key) ? convert<double>(*this, node(key), key, "a number") : fallback;
}

double FieldReader::required_number(const std::string& key) {
  if (!has(key)) throw BadInput(where(map_) + ": " + what_ + " needs field '" + key + "' (a number)");
  return convert<double>(*this, node(key), key, "a number");
}

int64_t FieldReader::integer(const std::string& key, int64_t fallback) {
  return has(key) ? convert<int64_t>(*this, node(key), key, "an integer") : fallback;
}

bool FieldReader::boolean(const std::string& key, bool fallback) {
  return has(key) ? convert<bool>(*this, node(key), key, "true or false") : fallback;
}

std::string FieldReader::string(const std::string& key, const std::string& fallback) {
  return has(key) ? convert<std::string>(*this, node(key), key, "a string") : fallback;
}

std::string FieldReader::required_string(const std::string& key) {
  if (!has(key)) throw BadInput(where(map_) + ": " + what_ + " needs field '" + key + "' (a string)");
  return convert<std::string>(*this, node(key), key, "a string");
}

std::vector<std::string> FieldReader::strings(const std::string& key) {
  std::vector<std::string> out;
  if (!has(key)) return out;
  const YAML::Node n = node(key);
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
  } else if (n.IsSequence()) {
    for (const auto& item : n) out.push_back(convert<std::string>(*this, item, key, "a list of strings"));
  } else {
    throw BadInput(where(n) + ": field '" + key + "' must be a string or a list of strings");
  }
  return out;
}

void FieldReader::finish() {
  if (!map_ || !map_.IsMap()) return;
  std::string errors;
  for (const auto& kv : map_) {
    const auto key = kv.first.as<std::string>();
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    if (!errors.empty()) errors += "\n";
    errors += where(kv.first) + ": unknown field '" + key + "' in " + what_;
    const std::string hint = nearest_name(key, known_);
    if (!hint.empty()) errors += " (did you mean '" + hint + "'?)";
  }
  if (!errors.empty()) throw BadInput(errors);
}

}  // namespace sparrow::recipe
