#pragma once
// Where a recipe value came from, and the errors and warnings found while
// reading it. Every error is collected so that one run reports them all.
#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>
#include <vector>

namespace sparrow::recipe {

// The recipe file plus the values that command-line overrides put into it: a
// value from `--set x=1` is located as "--set x=1", not as a line of the file.
class Source {
 public:
  explicit Source(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  void mark_override(const YAML::Node& node, std::string label) { overrides_.emplace_back(node, std::move(label)); }
  // True when `node` was put into the recipe by a command-line flag.
  bool is_override(const YAML::Node& node) const;

  // "file:line:column" (1-based, as editors count), shifted right by
  // `column_offset` characters inside the node's text.
  std::string where(const YAML::Node& node, size_t column_offset = 0) const;

 private:
  std::string file_;
  std::vector<std::pair<YAML::Node, std::string>> overrides_;
};

class Diagnostics {
 public:
  // An error already recorded word for word is not recorded again (a --set value that several stages share).
  void error(std::string located_message);
  void warning(std::string located_message) { warnings_.push_back(std::move(located_message)); }

  bool has_errors() const { return !errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  // One BadInput listing every error, each on its own line.
  void throw_if_errors(const std::string& file) const;

 private:
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
};

// The message of one BadInput for several errors: the lone error as is, or a
// count line followed by each error indented.
std::string join_errors(const std::string& file, const std::vector<std::string>& errors);

// "a list", "a mapping", "'text'": how a wrong value is shown in messages.
std::string describe_node(const YAML::Node& n);

// User text as messages echo it: whole up to 80 characters, else its first 80 and "… (N characters)", so a
// 200 KB expression does not flood the terminal.
std::string excerpt(const std::string& text);

// The closest of `candidates` to `word` by edit distance, or "" if none is close.
std::string nearest_name(const std::string& word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates,
                         const std::string& prefix = "");

}  // namespace sparrow::recipe
