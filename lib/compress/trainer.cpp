#include "compress/trainer.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>

#include "compress/masks/magnitude_mask.h"
#include "compress/modifier_registry.h"
#include "compress/modifiers/set_learning_rate_modifier.h"
#include "compress/param_selection.h"
#include "compress/quant/qat_hook.h"
#include "core/progress.h"

namespace sparrow::compress {

namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const recipe::TrainSpec& t, models::Classifier& model) {
  if (t.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(model.parameters(),
                                                 torch::optim::AdamWOptions(t.lr).weight_decay(t.weight_decay));
  return std::make_unique<torch::optim::SGD>(
      model.parameters(), torch::optim::SGDOptions(t.lr).momentum(t.momentum).weight_decay(t.weight_decay));
}

double pruned_sparsity(models::Classifier& model, const std::vector<std::pair<std::string, std::string>>& pruned) {
  int64_t zeros = 0, total = 0;
  for (const auto& [name, kind] : pruned) {
    const auto w = parameter(model, name);
    zeros += (w == 0).sum().item<int64_t>();
    total += w.numel();
  }
  return total ? static_cast<double>(zeros) / static_cast<double>(total) : 0.0;
}

}  // namespace

double evaluate_accuracy(models::Classifier& model, const data::Dataset& test, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  int64_t correct = 0;
  for (int64_t begin = 0; begin < test.size(); begin += batch_size) {
    const auto idx = torch::arange(begin, std::min(begin + batch_size, test.size()), torch::kInt64);
    const data::Batch batch = test.batch(idx);
    correct += (model.logits(batch).argmax(1) == batch.labels).sum().item<int64_t>();
  }
  model.train(was_training);
  return test.size() ? static_cast<double>(correct) / static_cast<double>(test.size()) : 0.0;
}

TrainResult train(const recipe::Recipe& recipe, models::Classifier& model, const data::Dataset& train_set,
                  const data::Dataset& test_set, models::Classifier* teacher) {
  const recipe::TrainSpec& spec = recipe.train;
  auto optimizer = make_optimizer(spec, model);
  auto modifiers = make_modifiers(recipe);
  const double epochs = recipe::planned_epochs(recipe);
  const int64_t steps_per_epoch = (train_set.size() + spec.batch_size - 1) / spec.batch_size;
  TrainState state{model, *optimizer, steps_per_epoch};
  if (teacher) {
    teacher->eval();
    for (auto& p : teacher->parameters()) p.set_requires_grad(false);
    state.teacher = teacher;
  }

  for (auto& m : modifiers) m->initialize(state);
  // Asked again at every epoch, of started modifiers only: structured pruning
  // may rename parameters before masks are made.
  const auto pruned_now = [&] {
    std::vector<std::pair<std::string, std::string>> pruned;
    for (const auto& m : modifiers) {
      if (!m->started()) continue;
      const auto p = m->pruned_parameters();
      pruned.insert(pruned.end(), p.begin(), p.end());
    }
    return pruned;
  };
  double pruning_start = std::numeric_limits<double>::infinity();
  for (const auto& m : modifiers)
    if (!m->pruned_parameters().empty()) pruning_start = std::min(pruning_start, m->start_epoch());

  TrainResult result;
  if (teacher) {
    result.dense_accuracy = evaluate_accuracy(*teacher, test_set, spec.eval_batch_size);
    spdlog::info("teacher accuracy: {:.4f}", *result.dense_accuracy);
  } else if (pruning_start < 1.0) {
    result.dense_accuracy = evaluate_accuracy(model, test_set, spec.eval_batch_size);
    spdlog::info("dense accuracy before pruning: {:.4f}", *result.dense_accuracy);
  }

  const auto fire = [&](EventType type) {
    for (auto& m : modifiers) m->on_event(state, Event{type, state.epoch});
  };

  const auto full_epochs = static_cast<int64_t>(std::ceil(epochs - 1e-9));
  for (int64_t epoch = 0; epoch < full_epochs; ++epoch) {
    model.train();
    const auto batches = data::make_batches(data::epoch_order(train_set.size(), spec.seed, epoch), spec.batch_size);
    const double fraction = std::min(1.0, epochs - static_cast<double>(epoch));
    const auto steps = static_cast<int64_t>(std::ceil(fraction * static_cast<double>(batches.size()) - 1e-9));
    Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(full_epochs), steps);
    double loss_sum = 0;
    for (int64_t step = 0; step < steps; ++step) {
      state.epoch = static_cast<double>(epoch) + static_cast<double>(step) / static_cast<double>(steps_per_epoch);
      fire(EventType::BatchStart);
      const data::Batch batch = train_set.batch(batches[static_cast<size_t>(step)]);
      optimizer->zero_grad();
      state.batch = &batch;
      state.logits = model.logits(batch);
      state.loss = torch::nn::functional::cross_entropy(state.logits, batch.labels);
      fire(EventType::LossCalculated);
      state.loss.backward();
      fire(EventType::OptimizerPreStep);
      optimizer->step();
      fire(EventType::BatchEnd);
      loss_sum += state.loss.item<double>();
      progress.update(step + 1, fmt::format("loss {:.4f}", loss_sum / static_cast<double>(step + 1)));
    }
    progress.finish();
    state.epoch = static_cast<double>(epoch) + static_cast<double>(steps) / static_cast<double>(steps_per_epoch);
    if (epoch + 1 == full_epochs)
      for (auto& m : modifiers) m->finalize(state);

    EpochRecord rec;
    rec.epoch = state.epoch;
    rec.loss = steps ? loss_sum / static_cast<double>(steps) : 0.0;
    rec.accuracy = evaluate_accuracy(model, test_set, spec.eval_batch_size);
    rec.lr = learning_rate(*optimizer);
    rec.sparsity = pruned_sparsity(model, pruned_now());
    result.epochs.push_back(rec);
    spdlog::info("epoch {:.2f}: loss {:.4f} accuracy {:.4f} lr {:.3g} sparsity {:.4f}", rec.epoch, rec.loss,
                 rec.accuracy, rec.lr, rec.sparsity);
    if (!teacher && rec.epoch <= pruning_start + 1e-9) result.dense_accuracy = rec.accuracy;
  }
  result.final_accuracy = result.epochs.empty() ? 0.0 : result.epochs.back().accuracy;
  if (const auto* qat = dynamic_cast<const QatHook*>(model.linear_hook().get())) result.quantized = qat->layers();
  result.pruned = pruned_now();
  result.final_sparsity = pruned_sparsity(model, result.pruned);
  return result;
}

}  // namespace sparrow::compress
