#include "compress/trainer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "compress/distributed/process_group.h"
#include "compress/distributed/sampler.h"
#include "compress/masks/magnitude_mask.h"
#include "compress/modifier_registry.h"
#include "compress/modifiers/gm_pruning_modifier.h"
#include "compress/modifiers/one_shot_pruning_modifier.h"
#include "compress/modifiers/set_learning_rate_modifier.h"
#include "compress/one_shot.h"
#include "compress/param_selection.h"
#include "compress/quant/qat_hook.h"
#include "compress/task_loss.h"
#include "compress/training_checkpoint.h"
#include "core/errors.h"
#include "core/interrupt.h"
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

// Distributed runs: what must be bit-identical on every rank is checked to be.
void check_ranks_agree(models::Classifier& model, const std::vector<std::unique_ptr<Modifier>>& modifiers) {
  if (!distributed::active()) return;
  std::vector<std::pair<std::string, torch::Tensor>> masks, params;
  for (const auto& m : modifiers)
    if (const auto* gmp = dynamic_cast<const GMPruningModifier*>(m.get()))
      for (const auto& [name, mask] : gmp->masks()) masks.emplace_back(name, mask);
  for (const auto& p : model.named_parameters()) params.emplace_back(p.key(), p.value());
  distributed::check_agreement("pruning masks", masks);
  distributed::check_agreement("parameters", params);
  if (const auto* qat = dynamic_cast<const QatHook*>(model.linear_hook().get())) {
    std::vector<std::pair<std::string, torch::Tensor>> ranges;
    const nlohmann::json observers = qat->to_json();
    for (const auto& [layer, r] : observers.items())
      ranges.emplace_back(layer, torch::tensor({r["lo"].get<float>(), r["hi"].get<float>()}));
    distributed::check_agreement("QAT observer ranges", ranges);
  }
}

}  // namespace

double evaluate_accuracy(models::Classifier& model, const data::Dataset& test, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  // Each rank evaluates its contiguous share of the test set; counts are summed.
  const auto [first, last] = distributed::shard_range(test.size(), distributed::world_size(), distributed::rank());
  int64_t correct = 0;
  for (int64_t begin = first; begin < last; begin += batch_size) {
    const auto idx = torch::arange(begin, std::min(begin + batch_size, last), torch::kInt64);
    const data::Batch batch = test.batch(idx);
    correct += (model.logits(batch).argmax(1) == batch.labels).sum().item<int64_t>();
  }
  model.train(was_training);
  const double total_correct = distributed::all_reduce_sum({static_cast<double>(correct)})[0];
  return test.size() ? total_correct / static_cast<double>(test.size()) : 0.0;
}

TrainResult train(const recipe::Recipe& recipe, models::Classifier& model, const data::Dataset& train_set,
                  const data::Dataset& test_set, models::Classifier* teacher, const Checkpointing* checkpointing) {
  if (is_one_shot(recipe)) return run_one_shot(recipe, model, train_set, test_set);
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
  const int world = distributed::world_size(), rank = distributed::rank();
  distributed::broadcast_parameters(model);
  // Dropout must not draw the same masks on every rank's different items.
  if (world > 1) torch::manual_seed(spec.seed + static_cast<uint64_t>(rank));

  // SparseGPT / Wanda prune at epoch 0, before the first step, from these; then training fine-tunes the rest.
  const auto calibration = one_shot_calibration(recipe, train_set);
  if (!calibration.empty()) state.calibration = &calibration;
  for (auto& m : modifiers) m->initialize(state);
  const Checkpointing* checkpoints = checkpointing;
  TrainResult result;
  LoopPosition start;  // where the loop begins: the checkpoint's position when resuming
  if (checkpoints && checkpoints->resume) std::tie(start, result) = load_training_checkpoint(*checkpoints, state, modifiers);
  const bool resumed = checkpoints && checkpoints->resume;
  const auto save_checkpoint = [&](const LoopPosition& at) {
    if (checkpoints) save_training_checkpoint(*checkpoints, at, result, state, modifiers);
  };
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
    if (!m->pruned_parameters().empty() || dynamic_cast<const OneShotPruningModifier*>(m.get()))
      pruning_start = std::min(pruning_start, m->start_epoch());

  const bool lm = train_set.task == data::TaskKind::CausalLm;
  // The dense figure: the teacher's, or the model's before pruning starts.
  const auto measure_dense = [&](models::Classifier& m, const char* what) {
    if (lm) {
      result.dense_perplexity = evaluate_causal_lm(m, test_set, spec.eval_batch_size).perplexity();
      spdlog::info("{} perplexity: {:.3f}", what, *result.dense_perplexity);
    } else {
      result.dense_accuracy = evaluate_accuracy(m, test_set, spec.eval_batch_size);
      spdlog::info("{} accuracy: {:.4f}", what, *result.dense_accuracy);
    }
  };
  // A resumed run has its dense figure from the checkpoint.
  if (!resumed && teacher) measure_dense(*teacher, "teacher");
  else if (!resumed && pruning_start < 1.0) measure_dense(model, "dense before pruning");

  const auto fire = [&](EventType type) {
    for (auto& m : modifiers) m->on_event(state, Event{type, state.epoch});
  };

  const auto full_epochs = static_cast<int64_t>(std::ceil(epochs - 1e-9));
  double train_seconds = start.train_seconds;
  int64_t train_items = start.train_items;
  for (int64_t epoch = start.epoch; epoch < full_epochs; ++epoch) {
    const bool resumed_epoch = resumed && epoch == start.epoch;
    model.train();
    const auto batches = data::make_batches(data::epoch_order(train_set.size(), spec.seed, epoch), spec.batch_size);
    const double fraction = std::min(1.0, epochs - static_cast<double>(epoch));
    const auto steps = static_cast<int64_t>(std::ceil(fraction * static_cast<double>(batches.size()) - 1e-9));
    Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(full_epochs), steps);
    double loss_sum = resumed_epoch ? start.loss_sum : 0;    // of each global batch's mean loss (this rank's share of it)
    double local_sum = resumed_epoch ? start.local_sum : 0;  // of this rank's mean losses, for the progress line
    const auto started = std::chrono::steady_clock::now();
    const auto position = [&](int64_t next_step) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      return LoopPosition{epoch, next_step, loss_sum, local_sum, train_items, train_seconds + seconds};
    };
    for (int64_t step = resumed_epoch ? start.step : 0; step < steps; ++step) {
      state.epoch = static_cast<double>(epoch) + static_cast<double>(step) / static_cast<double>(steps_per_epoch);
      fire(EventType::BatchStart);
      // This rank's slice of the global batch, and its weight in the batch's mean loss.
      const torch::Tensor& global = batches[static_cast<size_t>(step)];
      const torch::Tensor local = distributed::shard(global, world, rank);
      const double share = static_cast<double>(local.size(0)) / static_cast<double>(global.size(0));
      optimizer->zero_grad();
      std::optional<data::Batch> batch;  // lives through the step: modifiers see it as state.batch
      if (local.size(0) > 0) {
        batch = train_set.batch(local);
        state.batch = &*batch;
        state.logits = state.wants_hidden_states ? model.logits(*batch, state.hidden_states) : model.logits(*batch);
        state.loss = task_loss(train_set.task, state.logits, batch->labels);
        fire(EventType::LossCalculated);
        state.loss.backward();
      } else {
        // A last batch smaller than the world leaves some ranks nothing to compute.
        if (const auto& hook = model.linear_hook()) hook->step_without_items();
        state.batch = nullptr;
        state.logits = torch::Tensor();
        state.loss = torch::zeros({});
      }
      distributed::all_reduce_gradients(model, share);
      fire(EventType::OptimizerPreStep);
      optimizer->step();
      fire(EventType::BatchEnd);
      const double loss = state.loss.item<double>();
      if (!std::isfinite(loss))
        throw BadInput(fmt::format(
            "{}: training diverged: the loss is {} at step {} of epoch {} (lr {:.3g}); try a lower learning rate "
            "(train.lr, or the learning-rate modifiers), a smaller batch, or fewer epochs of warm-up",
            recipe.file.string(), loss, step + 1, epoch + 1, learning_rate(*optimizer)));
      loss_sum += loss * share;
      local_sum += loss;
      train_items += global.size(0);
      if (interrupt_signal() != 0) {
        // One process keeps the step it finished; ranks cannot all be counted on to have seen the signal.
        if (world == 1) save_checkpoint(position(step + 1));
        throw_if_interrupted(fmt::format("at step {} of epoch {}", step + 1, epoch + 1));
      }
      progress.update(step + 1, fmt::format("loss {:.4f}", local_sum / static_cast<double>(step + 1)));
      if (checkpoints && checkpoints->save_steps > 0 && (step + 1) % checkpoints->save_steps == 0 && step + 1 < steps)
        save_checkpoint(position(step + 1));
    }
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    progress.finish();
    loss_sum = distributed::all_reduce_sum({loss_sum})[0];
    state.epoch = static_cast<double>(epoch) + static_cast<double>(steps) / static_cast<double>(steps_per_epoch);
    if (epoch + 1 == full_epochs)
      for (auto& m : modifiers) m->finalize(state);
    check_ranks_agree(model, modifiers);

    EpochRecord rec;
    rec.epoch = state.epoch;
    rec.loss = steps ? loss_sum / static_cast<double>(steps) : 0.0;
    if (lm) {
      const LmScore score = evaluate_causal_lm(model, test_set, spec.eval_batch_size);
      rec.validation_loss = score.loss();
      rec.perplexity = score.perplexity();
    } else {
      rec.accuracy = evaluate_accuracy(model, test_set, spec.eval_batch_size);
    }
    rec.lr = learning_rate(*optimizer);
    rec.sparsity = pruned_sparsity(model, pruned_now());
    result.epochs.push_back(rec);
    const std::string figure = lm ? fmt::format("validation loss {:.4f} perplexity {:.3f}", rec.validation_loss, rec.perplexity)
                                  : fmt::format("accuracy {:.4f}", rec.accuracy);
    spdlog::info("epoch {:.2f}: loss {:.4f} {} lr {:.3g} sparsity {:.4f}", rec.epoch, rec.loss, figure, rec.lr, rec.sparsity);
    if (!teacher && rec.epoch <= pruning_start + 1e-9) {
      if (lm) result.dense_perplexity = rec.perplexity;
      else result.dense_accuracy = rec.accuracy;
    }
    save_checkpoint({epoch + 1, 0, 0, 0, train_items, train_seconds});
  }
  if (train_seconds > 0)
    spdlog::info("training: {} samples in {:.2f} s, {:.0f} samples/s over {} rank(s)", train_items, train_seconds,
                 static_cast<double>(train_items) / train_seconds, world);
  result.final_accuracy = result.epochs.empty() ? 0.0 : result.epochs.back().accuracy;
  result.final_perplexity = result.epochs.empty() ? 0.0 : result.epochs.back().perplexity;
  if (const auto* qat = dynamic_cast<const QatHook*>(model.linear_hook().get())) result.quantized = qat->layers();
  result.pruned = pruned_now();
  result.final_sparsity = pruned_sparsity(model, result.pruned);
  return result;
}

}  // namespace sparrow::compress
