// Fuzz target for the safetensors reader (tests/fuzz/CMakeLists.txt; docs/fuzzing.md). Any bytes must be
// rejected with BadInput or parse into views that lie inside the buffer, hold exactly the bytes their
// dtype and shape say, and survive a write and a second read unchanged.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/errors.h"
#include "models/safetensors.h"

namespace {

volatile unsigned sink;  // keeps the reads of every tensor byte

void check(bool ok, const std::string& what) {
  if (!ok) throw std::logic_error(what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sparrow::models;
  SafetensorsFile file;
  try {
    file = parse_safetensors(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const sparrow::BadInput&) {
    return 0;
  }
  unsigned checksum = 0;
  for (const auto& t : file.tensors) {
    std::size_t elements = 1;
    for (const int64_t d : t.shape) {
      check(d >= 0, t.name + ": negative dimension accepted");
      elements *= static_cast<std::size_t>(d);
    }
    check(t.bytes.size() == elements * dtype_size(t.dtype), t.name + ": byte count does not match dtype and shape");
    for (const char b : t.bytes) checksum += static_cast<unsigned char>(b);  // reads every byte: ASan checks the bounds
    check(file.find(t.name) == &t, t.name + ": find() does not return the tensor");
  }
  const SafetensorsFile again = parse_safetensors(serialize_safetensors(file.tensors, file.metadata), "fuzz (rewritten)");
  check(again.metadata == file.metadata, "metadata changed in a write and read");
  check(again.tensors.size() == file.tensors.size(), "tensor count changed in a write and read");
  for (std::size_t i = 0; i < file.tensors.size(); ++i) {
    const auto &a = file.tensors[i], &b = again.tensors[i];
    check(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes,
          a.name + ": changed in a write and read");
  }
  sink = checksum;
  return 0;
}
