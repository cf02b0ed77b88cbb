// Fuzz target for the .sparrow reader (tests/fuzz/CMakeLists.txt; docs/fuzzing.md). Any input must
// either be rejected with a FormatError or parse into views that are safe to read in full.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "format/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sparrow::format;
  try {
    const File f = File::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    // Walk everything a consumer would: unpacking reads every row pointer, block and weight.
    for (const auto& op : f.graph()["ops"]) {
      const auto kind = op["op"].get<std::string>();
      if (kind != "linear" && kind != "conv2d") continue;
      const WeightsView v = f.weights(op);
      if (v.format == WeightFormat::fp32) unpack_fp32(v);
      else unpack_int8(v);
    }
  } catch (const FormatError&) {
  }
  return 0;
}
