#pragma once
// What the JSONL and CSV targets check of records that parsed: numbering their labels gives one id per
// text, each an index into the label names.
#include <stdexcept>
#include <string>

#include "data/text/text_records.h"

namespace sparrow::fuzz {

inline void check_labelled(data::text::TextRecords records, const std::string& source) {
  const auto names = data::text::label_names_of({&records}, source);
  const std::size_t texts = records.texts.size();
  const auto d = data::text::resolve_labels(std::move(records), names, source);
  if (d.texts.size() != texts || d.labels.size() != texts) throw std::logic_error("a text lost or gained its label");
  for (const int64_t id : d.labels)
    if (id < 0 || id >= static_cast<int64_t>(d.label_names.size())) throw std::logic_error("a label id names no label");
}

}  // namespace sparrow::fuzz
