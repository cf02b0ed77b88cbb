#pragma once
// What modifiers see and change during training.
#include <torch/torch.h>

#include "models/classifier.h"

namespace sparrow::compress {

struct TrainState {
  TrainState(models::Classifier& m, torch::optim::Optimizer& o, int64_t steps)
      : model(m), optimizer(o), steps_per_epoch(steps) {}

  models::Classifier& model;
  torch::optim::Optimizer& optimizer;
  int64_t steps_per_epoch = 1;
  double epoch = 0.0;  // fractional: epoch index + step / steps_per_epoch
  const data::Batch* batch = nullptr;  // the batch of the current step
  torch::Tensor logits;                // the student's logits of the current step
  // Set by a modifier that needs the student's hidden states (hidden-state
  // distillation); the trainer then fills hidden_states with the same forward.
  bool wants_hidden_states = false;
  std::vector<torch::Tensor> hidden_states;
  torch::Tensor loss;                  // set after the forward pass; modifiers may replace it
  models::Classifier* teacher = nullptr;  // the frozen distillation teacher, when the recipe has one
  // One-shot runs: the training batches one-shot pruning takes its layers' inputs from (one_shot.h).
  const std::vector<data::Batch>* calibration = nullptr;
};

// The points of a training step at which modifiers run (SparseML's events).
enum class EventType { BatchStart, LossCalculated, OptimizerPreStep, BatchEnd };

struct Event {
  EventType type;
  double epoch;
};

}  // namespace sparrow::compress
