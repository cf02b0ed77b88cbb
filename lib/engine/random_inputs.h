// Inputs for timing a classifier's graph at one shape, as `sparrow bench` runs it: random token ids past the
// special tokens (ids 0-4) with no padding, or normal image values; seeded, so every timing sees the same.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/model.h"

namespace sparrow::engine {

struct RandomInputs {
  std::vector<std::int64_t> ids, mask;  // text: [batch][seq]
  std::vector<float> images;            // images: [batch][item_elements]
  std::vector<const void*> inputs;      // per graph input, pointing into the vectors above (Engine::run's)
};

// `seq` is ignored for an image model.
RandomInputs random_inputs(const Model& model, std::size_t batch, std::size_t seq);

}  // namespace sparrow::engine
