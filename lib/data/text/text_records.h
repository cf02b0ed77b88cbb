#pragma once
// Texts parsed from the content of a JSONL or CSV file, labelled (classification) or plain (a text corpus),
// with no LibTorch, so the parsing can be fuzzed alone: the records as written, then labels numbered once
// every file of a dataset is read.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace sparrow::data::text {

struct TextDataset {
  std::string name;
  std::vector<std::string> texts;
  std::vector<int64_t> labels;
  std::vector<std::string> label_names;

  int64_t size() const { return static_cast<int64_t>(texts.size()); }
};

// A label as read: an integer id or a name; resolved to ids once all are known.
using RawLabel = std::variant<int64_t, std::string>;

struct TextRecords {
  std::vector<std::string> texts;
  std::vector<RawLabel> labels;
  std::vector<int64_t> lines;  // source line of each item, for errors
};

// What a JSONL line's "label" is to the reader: classification needs one; a text corpus (data/text/corpus.h)
// reads the text alone and ignores any label or other field.
enum class JsonlLabels { Required, Ignored };

// {"text": ..., "label": ...} per line; blank lines are skipped. BadInput names `source` and the line.
// With JsonlLabels::Ignored, `labels` stays empty.
TextRecords parse_jsonl(const std::string& content, const std::string& source,
                        JsonlLabels labels = JsonlLabels::Required);
// RFC 4180 with a header naming "text" and "label" columns. BadInput names `source` and the line.
TextRecords parse_csv(const std::string& content, const std::string& source);

// Label ids name classes 0..id, each given a name: far more classes than any text task has, and few enough
// that naming them all takes milliseconds.
inline constexpr int64_t kMaxLabelId = 65535;

// Label names for all records of all files: integers 0..max, or sorted strings; BadInput when they mix or
// an id is outside [0, kMaxLabelId].
std::vector<std::string> label_names_of(const std::vector<const TextRecords*>& all, const std::string& source);
// The records with their labels as ids into `names` (from label_names_of).
TextDataset resolve_labels(TextRecords records, const std::vector<std::string>& names, const std::string& name);

}  // namespace sparrow::data::text
