#pragma once
// One c10d process group per process: rendezvous through a TCPStore hosted by
// rank 0, collectives through ProcessGroupGloo. While a Session lives, the
// free functions below act on it; without one they are no-ops (or identities),
// so single-process code calls them unconditionally.
#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "compress/distributed/launch.h"
#include "core/errors.h"

namespace sparrow::compress::distributed {

// Another rank died, hung past the timeout or failed: the message names it.
class PeerFailure : public Error {
 public:
  explicit PeerFailure(const std::string& message) : Error(ErrorKind::Internal, message) {}
};

struct Options {
  // How long a collective or the rendezvous may wait for the slowest rank.
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  // Gradients are all-reduced in flat buckets of about this size (as DDP does).
  size_t bucket_bytes = 25u << 20;
};

class Session {
 public:
  // Joins the job; throws PeerFailure naming the ranks that did not join in time.
  Session(const LaunchEnv& env, const Options& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

bool active();
int rank();        // 0 without a session
int world_size();  // 1 without a session

// Copies every parameter and buffer of `module` from rank 0 to all ranks.
void broadcast_parameters(torch::nn::Module& module);

// Replaces each parameter's gradient with the sum over ranks of
// `weight` × the local gradient (missing gradients count as zeros). With
// weight = local items / global batch items and mean-reduced local losses,
// the result is the gradient of the mean loss over the global batch.
void all_reduce_gradients(torch::nn::Module& module, double weight);

// Element-wise sums over ranks.
std::vector<double> all_reduce_sum(std::vector<double> values);

// QAT observer statistics: lo becomes the min of the ranks' lo, hi the max of their hi.
void all_reduce_min_max(float& lo, float& hi);

// Checks that each named tensor is bit-identical on every rank (by a hash of
// its bytes); throws InternalError naming those that differ.
void check_agreement(const std::string& what, const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

// Checks that `value` is the same on every rank; throws BadInput with `what` if not.
void require_same(const std::string& what, int64_t value);

// Tells the other ranks why this one is about to fail, so that their error
// names it and its cause rather than only a lost connection.
void report_failure(const std::string& message);

}  // namespace sparrow::compress::distributed
