#pragma once
// What modifiers see and change during training.
#include <torch/torch.h>

#include "models/classifier.h"

namespace sparrow::compress {

struct TrainState {
  models::Classifier& model;
  torch::optim::Optimizer& optimizer;
  int64_t steps_per_epoch = 1;
  double epoch = 0.0;  // fractional: epoch index + step / steps_per_epoch
  torch::Tensor loss;  // set after the forward pass; modifiers may replace it
};

// The points of a training step at which modifiers run (SparseML's events).
enum class EventType { BatchStart, LossCalculated, OptimizerPreStep, BatchEnd };

struct Event {
  EventType type;
  double epoch;
};

}  // namespace sparrow::compress
