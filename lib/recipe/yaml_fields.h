#pragma once
// Reading typed fields from a YAML mapping with errors that point at the
// file, line and column, and that suggest the nearest valid name.
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

namespace sparrow::recipe {

// "file:line:column" for a node (1-based, as editors count).
std::string where(const std::string& file, const YAML::Node& node);

// The closest of `candidates` to `word` by edit distance, or "" if none is close.
std::string nearest_name(const std::string& word, const std::vector<std::string>& candidates);

// A mapping whose fields are read once each; finish() reports the fields that
// were never asked for as unknown, with a "did you mean" suggestion.
class FieldReader {
 public:
  FieldReader(std::string file, YAML::Node map, std::string what);

  bool has(const std::string& key);
  YAML::Node node(const std::string& key);  // marks key as known; undefined node if absent

  double number(const std::string& key, double fallback);
  double required_number(const std::string& key);
  int64_t integer(const std::string& key, int64_t fallback);
  bool boolean(const std::string& key, bool fallback);
  std::string string(const std::string& key, const std::string& fallback);
  std::string required_string(const std::string& key);
  std::vector<std::string> strings(const std::string& key);  // a string or a list of strings

  // Throws BadInput listing every unknown field.
  void finish();

  const std::string& file() const { return file_; }
  // Where `n` is, or where this mapping is when `n` is absent.
  std::string where(const YAML::Node& n) const;

 private:
  std::string file_;
  YAML::Node map_;
  std::string what_;
  std::vector<std::string> known_;
};

}  // namespace sparrow::recipe
