// Fuzz target for the JSONL text-dataset reader (tests/fuzz/CMakeLists.txt; docs/fuzzing.md).
#include "fuzz/text_records_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return sparrow::fuzz::run_text_records_target(sparrow::data::text::parse_jsonl, data, size, "fuzz.jsonl");
}
