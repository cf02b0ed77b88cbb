#include "format/input_normalization.h"

#include "format/format.h"

namespace sparrow::format {

namespace {

[[noreturn]] void fail(const std::string& message) { throw FormatError(FormatErrc::bad_graph, message); }

// Limits well above any real image: a bigger array is a malformed file, not a model.
constexpr std::size_t kMaxChannels = 4096;

float positive_float(const nlohmann::json& v, const std::string& where) {
  const auto f = v.is_number() ? float32_of(v.get<double>()) : std::nullopt;
  if (!f || !(*f > 0.0f)) fail(where + " must be a number > 0 that float32 holds");
  return *f;
}

std::vector<float> floats(const nlohmann::json& obj, const char* key, const std::string& where, bool positive) {
  const auto it = obj.find(key);
  const std::string field = where + "." + key;
  if (it == obj.end() || !it->is_array() || it->empty() || it->size() > kMaxChannels)
    fail(field + " must be an array of 1 to " + std::to_string(kMaxChannels) + " numbers");
  std::vector<float> out;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const std::string item = field + "[" + std::to_string(i) + "]";
    if (positive) {
      out.push_back(positive_float((*it)[i], item));
      continue;
    }
    const auto f = (*it)[i].is_number() ? float32_of((*it)[i].get<double>()) : std::nullopt;
    if (!f) fail(item + " must be a finite number that float32 holds");
    out.push_back(*f);
  }
  return out;
}

}  // namespace

std::optional<InputNormalization> read_input_normalization(const nlohmann::json& graph, const std::string& source) {
  const auto meta = graph.find("metadata");
  if (meta == graph.end() || !meta->is_object() || !meta->contains(kInputNormalizationKey)) return std::nullopt;
  const std::string where = source + ": metadata." + kInputNormalizationKey;
  const nlohmann::json& j = (*meta)[kInputNormalizationKey];
  if (!j.is_object()) fail(where + " must be an object {\"pixel_range\", \"mean\", \"std\"}");
  InputNormalization n;
  if (!j.contains("pixel_range")) fail(where + ": missing \"pixel_range\"");
  n.pixel_range = positive_float(j["pixel_range"], where + ".pixel_range");
  n.mean = floats(j, "mean", where, /*positive=*/false);
  n.std = floats(j, "std", where, /*positive=*/true);
  if (n.std.size() != n.mean.size())
    fail(where + ": \"std\" has " + std::to_string(n.std.size()) + " entries, \"mean\" " + std::to_string(n.mean.size()));
  // The graph input it applies to: the one f32 input, whose dim 1 holds the channels when there are several.
  const auto& inputs = graph.at("inputs");
  if (inputs.size() != 1 || inputs[0].at("dtype") != "f32")
    fail(where + " applies to an image model's single f32 input; this graph has " + std::to_string(inputs.size()) +
         " input(s)" + (inputs.size() == 1 ? " of dtype " + inputs[0].at("dtype").get<std::string>() : std::string()));
  const auto& shape = inputs[0].at("shape");
  if (n.mean.size() > 1 && (shape.size() < 2 || shape[1].get<std::int64_t>() != static_cast<std::int64_t>(n.mean.size())))
    fail(where + ": " + std::to_string(n.mean.size()) + " channel entries, but dim 1 of input '" +
         inputs[0].at("name").get<std::string>() + "' is " + (shape.size() < 2 ? std::string("absent") : shape[1].dump()));
  return n;
}

nlohmann::json to_json(const InputNormalization& n) {
  return {{"pixel_range", n.pixel_range}, {"mean", n.mean}, {"std", n.std}};
}

void normalize_pixels(const InputNormalization& n, const float* pixels, std::size_t count, std::size_t plane, float* out) {
  const std::size_t channels = n.mean.size();
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t c = channels == 1 ? 0 : (i / plane) % channels;
    const float scaled = pixels[i] / n.pixel_range;
    const float centred = scaled - n.mean[c];
    out[i] = centred / n.std[c];
  }
}

}  // namespace sparrow::format
