#pragma once
// The modifier lifecycle. Public methods are non-virtual and enforce the call
// order (initialize -> on_event* -> finalize); subclasses override hooks only.
// A modifier is active from start_epoch (inclusive) to end_epoch (exclusive,
// -1: to the end of training) and updates at start, every update_frequency
// epochs (-1: only at start and end) and at end.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "compress/train_state.h"

namespace sparrow::compress {

class LifecycleError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class Modifier {
 public:
  Modifier(std::string tag, double start_epoch, double end_epoch, double update_frequency);
  virtual ~Modifier() = default;

  void initialize(TrainState& state);
  void on_event(TrainState& state, const Event& event);
  // Ends a modifier whose end_epoch is the end of training.
  void finalize(TrainState& state);

  const std::string& tag() const { return tag_; }
  double start_epoch() const { return start_; }
  double end_epoch() const { return end_; }
  bool started() const { return phase_ >= Phase::Started; }
  bool ended() const { return phase_ >= Phase::Ended; }
  // Parameters this modifier prunes, with their mask kind (empty: prunes nothing).
  virtual std::vector<std::pair<std::string, std::string>> pruned_parameters() const { return {}; }

  // A resume checkpoint's part for this modifier (compress/training_checkpoint.h): its phase and last update,
  // and what a subclass keeps (tensors such as masks into `tensors` by name, the rest in the JSON returned).
  // restore_state() puts an initialized modifier back where save_state() found it.
  nlohmann::json save_state(std::map<std::string, torch::Tensor>& tensors) const;
  void restore_state(TrainState& state, const nlohmann::json& saved, const std::map<std::string, torch::Tensor>& tensors);
  // Before a checkpoint's weights are loaded into a freshly built model: a modifier that reshaped the model
  // reshapes it again from its saved state (save_state's JSON), so that the saved tensors fit.
  void restore_structure(TrainState& state, const nlohmann::json& saved) { on_restore_structure(state, saved.at("own")); }

 protected:
  virtual void on_initialize(TrainState&) {}
  virtual void on_start(TrainState&, double /*epoch*/) {}
  virtual void on_update(TrainState&, double /*epoch*/) {}
  virtual void on_end(TrainState&, double /*epoch*/) {}
  virtual void on_finalize(TrainState&) {}
  // Every event while active (and after the end if keeps_effect_after_end()).
  virtual void on_step(TrainState&, const Event&) {}
  virtual bool keeps_effect_after_end() const { return false; }
  // A subclass's own state for save_state / restore_state (nothing by default: stateless modifiers).
  virtual nlohmann::json on_save_state(std::map<std::string, torch::Tensor>& /*tensors*/) const { return nullptr; }
  virtual void on_restore_state(TrainState&, const nlohmann::json& /*saved*/,
                                const std::map<std::string, torch::Tensor>& /*tensors*/) {}
  virtual void on_restore_structure(TrainState&, const nlohmann::json& /*saved*/) {}

 private:
  enum class Phase { Created, Initialized, Started, Ended, Finalized };
  void end(TrainState& state, double epoch);

  std::string tag_;
  double start_;
  double end_;
  double update_frequency_;
  double last_update_ = 0.0;
  Phase phase_ = Phase::Created;
};

}  // namespace sparrow::compress
