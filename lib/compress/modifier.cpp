#include "compress/modifier.h"

namespace sparrow::compress {

namespace {
// Fractional epochs come from step / steps_per_epoch; compare with slack.
constexpr double kEpochSlack = 1e-9;
}  // namespace

Modifier::Modifier(std::string tag, double start_epoch, double end_epoch, double update_frequency)
    : tag_(std::move(tag)), start_(start_epoch), end_(end_epoch), update_frequency_(update_frequency) {}

void Modifier::initialize(TrainState& state) {
  if (phase_ != Phase::Created) throw LifecycleError(tag_ + ": initialize called twice");
  on_initialize(state);
  phase_ = Phase::Initialized;
}

void Modifier::end(TrainState& state, double epoch) {
  on_end(state, epoch);
  phase_ = Phase::Ended;
}

void Modifier::on_event(TrainState& state, const Event& event) {
  if (phase_ == Phase::Created) throw LifecycleError(tag_ + ": on_event before initialize");
  if (phase_ == Phase::Finalized) throw LifecycleError(tag_ + ": cannot update a finalized modifier");
  const double e = event.epoch;
  if (event.type == EventType::BatchStart) {
    if (phase_ == Phase::Initialized && e + kEpochSlack >= start_) {
      phase_ = Phase::Started;
      on_start(state, e);
      on_update(state, e);
      last_update_ = e;
    } else if (phase_ == Phase::Started && end_ >= 0 && e + kEpochSlack >= end_) {
      end(state, e);
    } else if (phase_ == Phase::Started && update_frequency_ > 0 && e + kEpochSlack >= last_update_ + update_frequency_) {
      on_update(state, e);
      last_update_ = e;
    }
  }
  if (phase_ == Phase::Started || (phase_ == Phase::Ended && keeps_effect_after_end())) on_step(state, event);
}

void Modifier::finalize(TrainState& state) {
  if (phase_ == Phase::Created) throw LifecycleError(tag_ + ": finalize before initialize");
  if (phase_ == Phase::Finalized) throw LifecycleError(tag_ + ": finalize called twice");
  if (phase_ == Phase::Started && (end_ < 0 || state.epoch + kEpochSlack >= end_)) end(state, state.epoch);
  on_finalize(state);
  phase_ = Phase::Finalized;
}

nlohmann::json Modifier::save_state(std::map<std::string, torch::Tensor>& tensors) const {
  return {{"tag", tag_}, {"phase", static_cast<int>(phase_)}, {"last_update", last_update_}, {"own", on_save_state(tensors)}};
}

void Modifier::restore_state(TrainState& state, const nlohmann::json& saved,
                             const std::map<std::string, torch::Tensor>& tensors) {
  if (phase_ != Phase::Initialized) throw LifecycleError(tag_ + ": restore_state needs a freshly initialized modifier");
  if (saved.at("tag").get<std::string>() != tag_)
    throw LifecycleError(tag_ + ": restore_state given the state of " + saved.at("tag").get<std::string>());
  const int phase = saved.at("phase").get<int>();
  if (phase < static_cast<int>(Phase::Created) || phase > static_cast<int>(Phase::Finalized))
    throw LifecycleError(tag_ + ": restore_state given phase " + std::to_string(phase));
  phase_ = static_cast<Phase>(phase);
  last_update_ = saved.at("last_update").get<double>();
  on_restore_state(state, saved.at("own"), tensors);
}

}  // namespace sparrow::compress
