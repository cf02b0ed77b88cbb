#pragma once
// Fashion-MNIST from its IDX files (Debian's dataset-fashion-mnist by default),
// as [N, 1, 28, 28] floats normalised with the training set's mean and std.
#include <filesystem>

#include "data/dataset.h"

namespace sparrow::data {

std::filesystem::path default_fashion_mnist_dir();
Dataset load_fashion_mnist(const std::filesystem::path& dir, Split split, int64_t limit);

}  // namespace sparrow::data
