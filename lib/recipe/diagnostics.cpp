#include "recipe/diagnostics.h"

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "core/errors.h"

namespace sparrow::recipe {

std::string Source::where(const YAML::Node& node, size_t column_offset) const {
  for (const auto& [n, label] : overrides_)
    if (n.is(node)) return label;
  if (!node.IsDefined()) return file_;
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return file_;
  return file_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1 + static_cast<int>(column_offset));
}

bool Source::is_override(const YAML::Node& node) const {
  return std::any_of(overrides_.begin(), overrides_.end(), [&](const auto& o) { return o.first.is(node); });
}

void Diagnostics::error(std::string located_message) {
  if (std::find(errors_.begin(), errors_.end(), located_message) == errors_.end()) errors_.push_back(std::move(located_message));
}

std::string join_errors(const std::string& file, const std::vector<std::string>& errors) {
  if (errors.size() == 1) return errors.front();
  std::string msg = file + ": " + std::to_string(errors.size()) + " errors:";
  for (const auto& e : errors) msg += "\n  " + e;
  return msg;
}

namespace {
// Where an error sits, for ordering: flag errors first (they are applied
// first), then the file's errors by line and column, then whole-file ones.
std::tuple<int, long, long> position(const std::string& file, const std::string& error) {
  if (error.rfind(file + ":", 0) != 0) return {error.rfind("--", 0) == 0 ? 0 : 2, 0, 0};
  const char* p = error.c_str() + file.size() + 1;
  char* end = nullptr;
  const long line = std::strtol(p, &end, 10);
  if (end == p || *end != ':') return {2, 0, 0};
  const long column = std::strtol(end + 1, nullptr, 10);
  return {1, line, column};
}
}  // namespace

void Diagnostics::throw_if_errors(const std::string& file) const {
  if (errors_.empty()) return;
  std::vector<std::string> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [&](const std::string& a, const std::string& b) {
    return position(file, a) < position(file, b);
  });
  throw BadInput(join_errors(file, sorted));
}

std::string describe_node(const YAML::Node& n) {
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  if (!n.IsDefined() || n.IsNull()) return "nothing";
  return "'" + excerpt(n.Scalar()) + "'";
}

std::string excerpt(const std::string& text) {
  constexpr size_t kShown = 80;
  const auto is_continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  const size_t characters = static_cast<size_t>(std::count_if(text.begin(), text.end(), [&](char c) { return !is_continuation(c); }));
  if (characters <= kShown) return text;
  size_t end = 0;
  for (size_t shown = 0; shown < kShown; ++shown)  // whole UTF-8 characters only
    for (++end; end < text.size() && is_continuation(text[end]); ++end) {
    }
  return text.substr(0, end) + "… (" + std::to_string(characters) + " characters)";
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
    if (d < best_distance && d < std::max(word.size(), c.size())) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates,
                         const std::string& prefix) {
  const std::string hint = nearest_name(word, candidates);
  return hint.empty() ? "" : " (did you mean '" + prefix + hint + "'?)";
}

}  // namespace sparrow::recipe
