#pragma once
// Reading typed fields from a YAML mapping. Errors are recorded (not thrown)
// with file:line:column, so that a recipe's every mistake is reported at once;
// a field nobody asked for is unknown, with the nearest valid name suggested.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "recipe/diagnostics.h"
#include "recipe/variables.h"

namespace sparrow::recipe {

struct ParseContext {
  const Source& source;
  Diagnostics& diag;
  const Scope& scope;  // the variables eval(...) sees here
};

// Records an error for each key that appears twice in `map`.
void check_duplicate_keys(const Source& source, Diagnostics& diag, const YAML::Node& map, const std::string& what);

// Absent, null, or an empty scalar (a tag with no fields: "- !EpochRangeModifier").
bool is_empty_node(const YAML::Node& n);

class FieldReader {
 public:
  // `what` names the mapping in messages: "!GMPruningModifier", "train".
  FieldReader(const ParseContext& ctx, YAML::Node map, std::string what);

  bool has(const std::string& key);         // present and not null; marks key as known
  YAML::Node node(const std::string& key);  // marks key as known; undefined node if absent

  // Absent: nullopt. Present but wrong: an error is recorded, nullopt.
  std::optional<double> number(const std::string& key);
  std::optional<int64_t> integer(const std::string& key);
  // A number of epochs (or an epoch): number(key), with an error above kMaxEpochs (limits.h).
  std::optional<double> epochs(const std::string& key);
  std::optional<bool> boolean(const std::string& key);
  std::optional<std::string> string(const std::string& key);
  std::optional<std::vector<std::string>> strings(const std::string& key);  // a string or a list of strings

  // Records "<what> needs field 'key' (<expected>)" when absent; returns whether present.
  bool require(const std::string& key, const std::string& expected);

  // Records an error at the key's value (or at the mapping when absent).
  void error(const std::string& key, const std::string& message);
  void warn(const std::string& key, const std::string& message);

  // Records every field that was never asked for as unknown.
  void finish();

  const ParseContext& context() const { return ctx_; }
  const std::string& what() const { return what_; }
  const YAML::Node& map() const { return map_; }
  std::string where(const YAML::Node& n) const;  // `n`, or the mapping when `n` is undefined

 private:
  const ParseContext& ctx_;
  YAML::Node map_;
  std::string what_;
  std::vector<std::string> known_;
};

}  // namespace sparrow::recipe
