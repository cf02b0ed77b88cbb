#pragma once
// Images of normal noise, for speed benchmarks of untrained models: a recipe's data.dataset random_images
// calibrates a one-shot model's activation ranges on them. The model gives their shape (its in_channels and
// image_size) and class count; the values are already the model's inputs, so the dataset has no pixel
// normalization. Accuracy on them means nothing.
#include <cstdint>

#include "data/dataset.h"

namespace sparrow::data {

inline constexpr const char* kRandomImages = "random_images";

// n items [channels, size, size] ~ N(0, 1) with uniform labels in [0, classes), the same for the same seed.
Dataset random_images(int64_t n, int64_t channels, int64_t size, int64_t classes, uint64_t seed);

}  // namespace sparrow::data
