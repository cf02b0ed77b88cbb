#include "data/fashion_mnist.h"

#include <cstdlib>

#include "core/errors.h"
#include "data/idx_file.h"

namespace sparrow::data {

namespace {
// Mean and standard deviation of the training images' pixels in [0, 1].
constexpr double kMean = 0.2860;
constexpr double kStd = 0.3530;
}  // namespace

std::filesystem::path default_fashion_mnist_dir() {
  if (const char* env = std::getenv("SPARROW_FASHION_MNIST_DIR")) return env;
  return "/usr/share/datasets/fashion-mnist";
}

Dataset load_fashion_mnist(const std::filesystem::path& dir, Split split, int64_t limit) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const auto images_file = dir / (prefix + "-images-idx3-ubyte.gz");
  const auto labels_file = dir / (prefix + "-labels-idx1-ubyte.gz");
  IdxArray images = read_idx(images_file, limit);
  IdxArray labels = read_idx(labels_file, limit);
  if (images.dims.size() != 3)
    throw BadInput(images_file.string() + ": expected images of rank 3 [N, rows, cols], found rank " +
                   std::to_string(images.dims.size()));
  if (labels.dims.size() != 1)
    throw BadInput(labels_file.string() + ": expected labels of rank 1, found rank " +
                   std::to_string(labels.dims.size()));
  if (images.dims[0] != labels.dims[0])
    throw BadInput(labels_file.string() + ": " + std::to_string(labels.dims[0]) + " labels for " +
                   std::to_string(images.dims[0]) + " images in " + images_file.string());
  for (uint8_t l : labels.values)
    if (l > 9) throw BadInput(labels_file.string() + ": label " + std::to_string(l) + " outside 0..9");

  Dataset d;
  d.name = "fashion_mnist";
  const int64_t n = images.dims[0];
  auto raw = torch::from_blob(images.values.data(), {n, 1, images.dims[1], images.dims[2]}, torch::kUInt8);
  d.inputs = (raw.to(torch::kFloat32).div_(255.0).sub_(kMean).div_(kStd)).contiguous();
  d.labels = torch::from_blob(labels.values.data(), {n}, torch::kUInt8).to(torch::kInt64);
  d.label_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return d;
}

}  // namespace sparrow::data
