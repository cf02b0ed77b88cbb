#include "data/random_images.h"

namespace sparrow::data {

Dataset random_images(int64_t n, int64_t channels, int64_t size, int64_t classes, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  Dataset d;
  d.name = kRandomImages;
  d.inputs = torch::randn({n, channels, size, size}, generator, torch::kFloat32);
  d.labels = torch::randint(classes, {n}, generator, torch::kInt64);
  for (int64_t c = 0; c < classes; ++c) d.label_names.push_back(std::to_string(c));
  return d;
}

}  // namespace sparrow::data
