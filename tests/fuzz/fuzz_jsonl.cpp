// Fuzz target for the JSONL text-dataset reader (tests/fuzz/CMakeLists.txt; docs/fuzzing.md).
#include "fuzz/text_records_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The labelled reading, as classification files are read (a corpus reads the same lines minus the label checks).
  const auto labelled = [](const std::string& content, const std::string& source) {
    return sparrow::data::text::parse_jsonl(content, source, sparrow::data::text::JsonlLabels::Required);
  };
  return sparrow::fuzz::run_text_records_target(labelled, data, size, "fuzz.jsonl");
}
