// Fuzz target for the CSV text-dataset reader (tests/fuzz/CMakeLists.txt; docs/fuzzing.md). Any input
// must be rejected with BadInput or give one label id per text, each naming one of the label names.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "fuzz/text_dataset_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sparrow::data::text;
  try {
    const TextRecords records = parse_csv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
    sparrow::fuzz::check_labelled(records, "fuzz.csv");
  } catch (const sparrow::BadInput&) {
  }
  return 0;
}
