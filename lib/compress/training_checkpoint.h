#pragma once
// A training run's resume checkpoint (`compress --resume`, docs/resume.md): written at the end of every epoch
// and every train.save_steps steps, and read back to continue the loop exactly where it was taken. A folder
// of its own holds:
//   latest                     the name of the newest complete checkpoint, written last (atomically)
//   epoch-<E>-step-<S>/        one checkpoint, taken before step S of epoch E (both from 0):
//     state.json               the loop's position and sums, the result so far, each modifier's state, the
//                              run's identity (the number of ranks included)
//     model.safetensors        every parameter and buffer (and config.json)
//     tensors.safetensors      the modifiers' tensors (masks), every rank's RNG state, and the other ranks'
//                              buffers (BatchNorm statistics differ by rank)
//     optimizer.pt             LibTorch's optimizer archive (momentum, Adam moments, step counts, lr)
// Every file is flushed before `latest` names its folder, so a kill or a power loss at any moment leaves the
// previous checkpoint intact; the first one is built in `<dir>.tmp` and renamed to `<dir>` once complete. The data order needs no state: it is a function of (seed, epoch).
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "compress/modifier.h"
#include "compress/trainer.h"

namespace sparrow::compress {

// Where the loop is: the next step to run, and what the epoch has summed so far.
struct LoopPosition {
  int64_t epoch = 0;
  int64_t step = 0;
  double loss_sum = 0;   // of each global batch's mean loss (this rank's share)
  double local_sum = 0;  // of this rank's mean losses (the progress line)
  int64_t train_items = 0;
  double train_seconds = 0;
};

struct Checkpointing {
  std::filesystem::path dir;       // the checkpoints' folder
  int64_t save_steps = 0;          // also every this many steps within an epoch (0: at epoch ends only)
  nlohmann::json identity;         // stored in every checkpoint: what a resumed run must match
  bool resume = false;             // continue from the latest checkpoint in `dir`
  // Called once, just before the first checkpoint appears in `dir` (by a rename): the caller names `dir` as
  // what makes its folder resumable, so that no kill can leave a checkpoint the folder does not announce.
  std::function<void()> announce;
};

// state.json of the latest checkpoint in `dir`; null when there is none. BadInput names a broken one.
nlohmann::json read_latest_checkpoint_state(const std::filesystem::path& dir);

// Writes a checkpoint at `at`. Collective in a distributed run: every rank's RNG state goes to rank 0, which
// alone writes (the other ranks hold the same model, optimizer and modifiers).
void save_training_checkpoint(const Checkpointing& c, const LoopPosition& at, const TrainResult& so_far,
                              TrainState& state, const std::vector<std::unique_ptr<Modifier>>& modifiers);

// Puts the model, the optimizer, the modifiers (initialized, not started) and this rank's RNG state back as
// the latest checkpoint in `c.dir` holds them (every rank reads the same one), and returns where the loop
// was and the result so far.
std::pair<LoopPosition, TrainResult> load_training_checkpoint(const Checkpointing& c, TrainState& state,
                                                              const std::vector<std::unique_ptr<Modifier>>& modifiers);

}  // namespace sparrow::compress
