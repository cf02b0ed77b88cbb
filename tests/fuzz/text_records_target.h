#pragma once
// The JSONL and CSV targets share all but the parser: any input must be rejected with BadInput or give
// records whose labels number into one id per text, each an index into the label names.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/errors.h"
#include "data/text/text_records.h"

namespace sparrow::fuzz {

using TextParser = data::text::TextRecords (*)(const std::string& content, const std::string& source);

inline int run_text_records_target(TextParser parse, const std::uint8_t* data, std::size_t size, const std::string& source) {
  try {
    data::text::TextRecords records = parse(std::string(reinterpret_cast<const char*>(data), size), source);
    const auto names = data::text::label_names_of({&records}, source);
    const std::size_t texts = records.texts.size();
    const auto d = data::text::resolve_labels(std::move(records), names, source);
    if (d.texts.size() != texts || d.labels.size() != texts) throw std::logic_error("a text lost or gained its label");
    for (const int64_t id : d.labels)
      if (id < 0 || id >= static_cast<int64_t>(d.label_names.size())) throw std::logic_error("a label id names no label");
  } catch (const BadInput&) {
  }
  return 0;
}

}  // namespace sparrow::fuzz
