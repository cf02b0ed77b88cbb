#include "data/dataset.h"

#include <random>

#include "core/errors.h"
#include "data/fashion_mnist.h"

namespace sparrow::data {

Batch Dataset::batch(const torch::Tensor& indices) const {
  Batch b;
  b.inputs = inputs.index_select(0, indices);
  if (attention_mask.defined()) b.attention_mask = attention_mask.index_select(0, indices);
  b.labels = labels.index_select(0, indices);
  return b;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

std::vector<torch::Tensor> make_batches(const std::vector<int64_t>& order, int64_t batch_size) {
  std::vector<torch::Tensor> batches;
  const auto n = static_cast<int64_t>(order.size());
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t len = std::min(batch_size, n - begin);
    batches.push_back(torch::from_blob(const_cast<int64_t*>(order.data() + begin), {len}, torch::kInt64).clone());
  }
  return batches;
}

Dataset load_dataset(const recipe::DataSpec& spec, Split split) {
  const int64_t limit = split == Split::Train ? spec.train_limit : spec.test_limit;
  if (spec.dataset == "fashion_mnist") {
    const std::filesystem::path dir = spec.path.empty() ? default_fashion_mnist_dir() : std::filesystem::path(spec.path);
    return load_fashion_mnist(dir, split, limit);
  }
  if (spec.dataset == "random_images")
    throw BadInput("data.dataset: random_images takes its shape from the model, so only a training run (compress "
                   "--recipe) makes it; give --data an image dataset");
  // Text datasets are tokenized with the model's vocabulary: data/text/text_dataset.h loads them.
  if (spec.dataset == "spam_assassin" || spec.dataset == "jsonl" || spec.dataset == "csv")
    throw BadInput("data.dataset: '" + spec.dataset + "' holds text, which only a text model (model: bert) can read");
  // Corpora load as documents (data/text/corpus.h) for a causal language model, which the trainer has not yet.
  if (recipe::is_corpus_dataset(spec.dataset))
    throw BadInput("data.dataset: '" + spec.dataset + "' is a text corpus, which only a causal language model (model: llama) reads");
  throw BadInput("data.dataset: unknown dataset '" + spec.dataset +
                 "'; available: fashion_mnist, random_images, spam_assassin, jsonl, csv, and the text corpora sotu, moby_dick, text");
}

}  // namespace sparrow::data
