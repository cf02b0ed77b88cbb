// How an image model's raw pixels become its f32 graph input (docs/format.md "Image input"): the metadata
// key sparrow.input_normalization, its checks, and the arithmetic the trainer's datasets and the engine
// share, so a caller passes pixels as they were stored and the model sees what it was trained on.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace sparrow::format {

inline constexpr const char* kInputNormalizationKey = "sparrow.input_normalization";

struct InputNormalization {
  float pixel_range = 255.0f;  // raw pixels span 0 .. pixel_range
  std::vector<float> mean;     // one entry for every value, or one per channel (dim 1 of the input)
  std::vector<float> std;      // as many entries as mean, each > 0
};

// The normalization a graph's metadata holds, checked against the graph's inputs; empty when the key is
// absent. A malformed entry is a FormatError (bad_graph) naming `source` and the field.
std::optional<InputNormalization> read_input_normalization(const nlohmann::json& graph, const std::string& source);
nlohmann::json to_json(const InputNormalization& n);

// out[i] = (pixels[i] / pixel_range - mean[c]) / std[c] in FP32, in that order, for `count` values laid out
// as items of `channels` x `plane` values (c = (i / plane) % channels; one mean entry serves every value).
void normalize_pixels(const InputNormalization& n, const float* pixels, std::size_t count, std::size_t plane, float* out);

}  // namespace sparrow::format
