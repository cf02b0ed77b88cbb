#include "pipeline/evaluation.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <vector>

namespace sparrow::pipeline {

Evaluation evaluate(models::Classifier& model, const data::Dataset& set, std::int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto started = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> logits;
  for (std::int64_t begin = 0; begin < set.size(); begin += batch_size) {
    const auto idx = torch::arange(begin, std::min(begin + batch_size, set.size()), torch::kInt64);
    logits.push_back(model.logits(set.batch(idx)));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Evaluation e;
  e.logits = logits.empty() ? torch::empty({0, 0}) : torch::cat(logits);
  e.predicted = e.logits.size(0) ? e.logits.argmax(1) : torch::empty({0}, torch::kInt64);
  e.correct = e.logits.size(0) ? (e.predicted == set.labels).sum().item<std::int64_t>() : 0;
  e.accuracy = set.size() ? static_cast<double>(e.correct) / static_cast<double>(set.size()) : 0.0;
  e.items_per_second = seconds > 0 ? static_cast<double>(set.size()) / seconds : 0.0;
  return e;
}

std::string predictions_jsonl(const Evaluation& e, const data::Dataset& set) {
  std::string out;
  const auto p = e.predicted.accessor<std::int64_t, 1>();
  const auto y = set.labels.accessor<std::int64_t, 1>();
  for (std::int64_t i = 0; i < set.size(); ++i) {
    const auto row = e.logits[i].contiguous();
    const std::vector<float> values(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    nlohmann::json line = {{"index", i}, {"label", y[i]}, {"predicted", p[i]}, {"logits", values}};
    if (static_cast<size_t>(p[i]) < set.label_names.size()) line["predicted_name"] = set.label_names[static_cast<size_t>(p[i])];
    out += line.dump() + "\n";
  }
  return out;
}

}  // namespace sparrow::pipeline
