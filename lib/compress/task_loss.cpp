#include "compress/task_loss.h"

#include <cmath>

#include "compress/distributed/process_group.h"
#include "compress/distributed/sampler.h"

namespace sparrow::compress {

namespace {

// Summed NLL over the scored tokens (the mean when `mean`).
torch::Tensor shifted_nll(const torch::Tensor& logits, const torch::Tensor& labels, bool mean) {
  const int64_t vocab = logits.size(-1);
  const auto predicted = logits.slice(1, 0, logits.size(1) - 1).reshape({-1, vocab});
  const auto targets = labels.slice(1, 1).reshape({-1});
  namespace F = torch::nn::functional;
  auto options = F::CrossEntropyFuncOptions().ignore_index(data::kIgnoredLabel);
  if (mean) options.reduction(torch::kMean);
  else options.reduction(torch::kSum);
  return F::cross_entropy(predicted, targets, options);
}

}  // namespace

torch::Tensor causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  return shifted_nll(logits, labels, /*mean=*/true);
}

torch::Tensor task_loss(data::TaskKind task, const torch::Tensor& logits, const torch::Tensor& labels) {
  if (task == data::TaskKind::CausalLm) return causal_lm_loss(logits, labels);
  return torch::nn::functional::cross_entropy(logits, labels);
}

double LmScore::loss() const { return tokens ? nll_sum / static_cast<double>(tokens) : 0.0; }
double LmScore::perplexity() const { return std::exp(loss()); }

LmScore evaluate_causal_lm(models::Classifier& model, const data::Dataset& set, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const auto [first, last] = distributed::shard_range(set.size(), distributed::world_size(), distributed::rank());
  double nll = 0, tokens = 0;
  for (int64_t begin = first; begin < last; begin += batch_size) {
    const auto idx = torch::arange(begin, std::min(begin + batch_size, last), torch::kInt64);
    const data::Batch batch = set.batch(idx);
    nll += shifted_nll(model.logits(batch), batch.labels, /*mean=*/false).item<double>();
    tokens += static_cast<double>((batch.labels.slice(1, 1) != data::kIgnoredLabel).sum().item<int64_t>());
  }
  model.train(was_training);
  const auto sums = distributed::all_reduce_sum({nll, tokens});
  return {sums[0], static_cast<int64_t>(sums[1])};
}

}  // namespace sparrow::compress
