#include "compress/one_shot.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "compress/modifier_registry.h"
#include "compress/param_selection.h"
#include "compress/quant/qat_hook.h"
#include "compress/task_loss.h"
#include "core/errors.h"
#include "recipe/diagnostics.h"

namespace sparrow::compress {

namespace {

// The observers see `steps` training batches (the first epoch's order): the quantized layers and attention
// blocks run in training mode, so their observers move, while dropout (an attention block's too) and batch
// norm stay in evaluation mode and no gradient is kept.
void calibrate(models::Classifier& model, const QatHook& hook, const data::Dataset& train_set,
               const recipe::TrainSpec& spec, int64_t steps) {
  torch::NoGradGuard no_grad;
  model.eval();
  const auto layers = hook.layers(), blocks = hook.attention_blocks();
  const auto observed = [](const std::vector<std::string>& names, const std::string& name) {
    return std::binary_search(names.begin(), names.end(), name);
  };
  // train() recurses into children; modules come parent first, so each one ends in its own mode.
  for (const auto& item : model.named_modules("", /*include_self=*/false))
    item.value()->train(observed(layers, item.key()) || observed(blocks, item.key()));
  const auto batches = data::make_batches(data::epoch_order(train_set.size(), spec.seed, 0), spec.batch_size);
  const auto count = std::min<int64_t>(steps, static_cast<int64_t>(batches.size()));
  for (int64_t step = 0; step < count; ++step) (void)model.logits(train_set.batch(batches[static_cast<size_t>(step)]));
  model.eval();
  spdlog::info("one-shot: calibrated the activation ranges of {} layers and {} attention blocks on {} batches of {}",
               layers.size(), blocks.size(), count, spec.batch_size);
}

const recipe::OneShotPruningParams* one_shot_pruning(const recipe::ModifierParams& params);

// What a run without training can act on; every other modifier is refused, naming it. Returns the training
// batches the quantization observers see.
int64_t check_one_shot(const recipe::Recipe& r) {
  std::vector<std::string> errors;
  int64_t calibration_steps = 0;
  for (const auto& m : r.modifiers) {
    const recipe::GMPruningParams* gm = std::get_if<recipe::GMPruningParams>(&m.params);
    if (const auto* global = std::get_if<recipe::GlobalMagnitudePruningParams>(&m.params)) gm = global;
    const std::string where = m.location + ": !" + m.tag + " in a one-shot recipe (train.epochs: 0)";
    if (gm) {
      if (gm->start_epoch != 0 || gm->end_epoch != 0)
        errors.push_back(where + " needs start_epoch: 0 and end_epoch: 0 (it prunes to final_sparsity at once)");
    } else if (const auto* q = std::get_if<recipe::QuantizationParams>(&m.params)) {
      if (q->start_epoch != 0) errors.push_back(where + " needs start_epoch: 0");
      if (q->num_calibration_steps <= 0)
        errors.push_back(where + " needs num_calibration_steps > 0: the training batches its activation ranges are calibrated on");
      calibration_steps = std::max(calibration_steps, q->num_calibration_steps);
    } else if (one_shot_pruning(m.params)) {
      // one_shot_calibration() checks its calibration items.
    } else {
      errors.push_back(where + " cannot act: one-shot runs magnitude, SparseGPT, Wanda pruning and quantization modifiers only");
    }
  }
  if (!errors.empty()) throw BadInput(recipe::join_errors(r.file.string(), errors));
  return calibration_steps;
}

const recipe::OneShotPruningParams* one_shot_pruning(const recipe::ModifierParams& params) {
  if (const auto* g = std::get_if<recipe::SparseGPTParams>(&params)) return g;
  return std::get_if<recipe::WandaPruningParams>(&params);
}

// Perplexity for a causal LM, accuracy for a classifier, into `accuracy` or `perplexity`.
void measure(models::Classifier& model, const data::Dataset& test_set, int64_t batch_size, const char* when,
             double& accuracy, double& perplexity) {
  if (test_set.task == data::TaskKind::CausalLm) {
    perplexity = evaluate_causal_lm(model, test_set, batch_size).perplexity();
    spdlog::info("one-shot: perplexity {} {:.3f}", when, perplexity);
  } else {
    accuracy = evaluate_accuracy(model, test_set, batch_size);
    spdlog::info("one-shot: accuracy {} {:.4f}", when, accuracy);
  }
}

}  // namespace

bool is_one_shot(const recipe::Recipe& recipe) { return recipe::planned_epochs(recipe) <= 0; }

std::vector<data::Batch> one_shot_calibration(const recipe::Recipe& recipe, const data::Dataset& train_set) {
  std::vector<std::string> errors;
  int64_t samples = 0;
  for (const auto& m : recipe.modifiers)
    if (const auto* p = one_shot_pruning(m.params)) {
      if (p->num_calibration_samples > train_set.size())
        errors.push_back(m.location + ": num_calibration_samples of !" + m.tag + " is " + std::to_string(p->num_calibration_samples) +
                         " but the training data has " + std::to_string(train_set.size()) + " items; lower it, or raise data.train_limit");
      samples = std::max(samples, p->num_calibration_samples);
    }
  if (!errors.empty()) throw BadInput(recipe::join_errors(recipe.file.string(), errors));
  std::vector<data::Batch> batches;
  if (samples == 0) return batches;
  auto order = data::epoch_order(train_set.size(), recipe.train.seed, 0);
  order.resize(static_cast<size_t>(samples));
  for (const auto& indices : data::make_batches(order, recipe.train.batch_size)) batches.push_back(train_set.batch(indices));
  return batches;
}

TrainResult run_one_shot(const recipe::Recipe& recipe, models::Classifier& model, const data::Dataset& train_set,
                         const data::Dataset& test_set) {
  const int64_t calibration_steps = check_one_shot(recipe);
  const recipe::TrainSpec& spec = recipe.train;
  // The modifiers' state holds an optimizer; a one-shot run never steps it.
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(spec.lr));
  auto modifiers = make_modifiers(recipe);
  TrainState state{model, optimizer, 1};
  const auto calibration = one_shot_calibration(recipe, train_set);
  if (!calibration.empty()) state.calibration = &calibration;
  for (auto& m : modifiers) m->initialize(state);

  TrainResult result;
  double dense_accuracy = 0, dense_perplexity = 0;
  measure(model, test_set, spec.eval_batch_size, "before compression", dense_accuracy, dense_perplexity);
  if (test_set.task == data::TaskKind::CausalLm) result.dense_perplexity = dense_perplexity;
  else result.dense_accuracy = dense_accuracy;
  {
    torch::NoGradGuard no_grad;
    // Epoch 0 starts every modifier: masks at final_sparsity, the quantization hook installed.
    for (auto& m : modifiers) m->on_event(state, Event{EventType::BatchStart, 0.0});
  }
  if (auto* hook = dynamic_cast<QatHook*>(model.linear_hook().get())) {
    calibrate(model, *hook, train_set, spec, calibration_steps);
    hook->freeze_observers();
    result.quantized = hook->layers();
  }
  for (auto& m : modifiers) m->finalize(state);
  for (const auto& m : modifiers) {
    const auto p = m->pruned_parameters();
    result.pruned.insert(result.pruned.end(), p.begin(), p.end());
  }
  result.final_sparsity = pruned_sparsity(model, result.pruned);
  measure(model, test_set, spec.eval_batch_size, "after compression", result.final_accuracy, result.final_perplexity);
  spdlog::info("one-shot: sparsity {:.4f}", result.final_sparsity);
  return result;
}

}  // namespace sparrow::compress
