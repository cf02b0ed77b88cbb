// random_images: the model's image shape, labels among its classes, the same items for the same seed and
// others for another, and no pixel normalization (the values are the model's inputs already).
#include <catch2/catch.hpp>

#include "data/random_images.h"

using namespace sparrow;

TEST_CASE("random_images has the model's shape and classes and depends only on its seed", "[data]") {
  const data::Dataset a = data::random_images(12, 3, 20, 7, 1), b = data::random_images(12, 3, 20, 7, 1);
  const data::Dataset c = data::random_images(12, 3, 20, 7, 2);
  CHECK(a.inputs.sizes() == torch::IntArrayRef({12, 3, 20, 20}));
  CHECK(a.labels.sizes() == torch::IntArrayRef({12}));
  CHECK(a.labels.min().item<int64_t>() >= 0);
  CHECK(a.labels.max().item<int64_t>() < 7);
  CHECK(a.num_classes() == 7);
  CHECK_FALSE(a.normalization.has_value());
  CHECK(torch::equal(a.inputs, b.inputs));
  CHECK(torch::equal(a.labels, b.labels));
  CHECK_FALSE(torch::equal(a.inputs, c.inputs));
  // Normal noise: mean near 0 and standard deviation near 1 over 14 400 values.
  CHECK(std::abs(a.inputs.mean().item<double>()) < 0.05);
  CHECK(std::abs(a.inputs.std().item<double>() - 1.0) < 0.05);
}
