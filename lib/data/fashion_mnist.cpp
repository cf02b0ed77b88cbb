#include "data/fashion_mnist.h"

#include <cstdlib>

#include "core/errors.h"
#include "data/idx_file.h"

namespace sparrow::data {

namespace {
// Mean and standard deviation of the training images' pixels scaled to [0, 1].
format::InputNormalization fashion_mnist_normalization() { return {255.0f, {0.2860f}, {0.3530f}}; }
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
  d.normalization = fashion_mnist_normalization();
  // The engine's own arithmetic (format::normalize_pixels), so raw pixels given to `sparrow run` become
  // bit for bit the inputs the model was trained on.
  const std::vector<float> pixels(images.values.begin(), images.values.end());
  d.inputs = torch::empty({n, 1, images.dims[1], images.dims[2]}, torch::kFloat32);
  format::normalize_pixels(*d.normalization, pixels.data(), pixels.size(), pixels.size(), d.inputs.data_ptr<float>());
  d.labels = torch::from_blob(labels.values.data(), {n}, torch::kUInt8).to(torch::kInt64);
  d.label_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return d;
}

}  // namespace sparrow::data
