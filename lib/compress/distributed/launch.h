#pragma once
// How a rank learns its place in the job: torchrun's environment variables
// (MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK), which
// `compress --nproc N` also sets for the N local ranks it starts.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sparrow::compress::distributed {

struct LaunchEnv {
  std::string master_addr = "127.0.0.1";
  uint16_t master_port = 29500;
  int world_size = 1;
  int rank = 0;
  int local_rank = 0;
  // torchrun with a static rendezvous hosts the store itself (TORCHELASTIC_USE_AGENT_STORE=True).
  bool agent_store = false;
};

// The job this process belongs to; nullopt when WORLD_SIZE is unset (a plain
// single-process run). Malformed or inconsistent variables are BadInput.
std::optional<LaunchEnv> launch_env_from_environment();

// Starts `nproc` copies of this executable with `args` (argv without argv[0])
// as ranks 0..nproc-1 of a job rendezvousing on 127.0.0.1 at a free port, and
// waits for them. Each rank gets `threads_per_rank` LibTorch threads unless
// args or SPARROW_THREADS set them, and `timeout` as SPARROW_DIST_TIMEOUT. If
// a rank fails, the others get `timeout` plus a grace period to notice and
// exit before they are killed. SIGINT, SIGTERM or SIGHUP to the launcher is
// passed on to the ranks, and Interrupted is thrown once they have stopped.
// Returns the exit
// code of the rank that failed first (0 if all succeeded).
int run_local_ranks(int nproc, const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                    int threads_per_rank);

// In a rank started by run_local_ranks: dies (SIGKILL) when the launcher does, so that a launcher killed at
// once (kill -9, the out-of-memory killer) never leaves ranks running on into its output folder. Nothing in
// other processes.
void follow_launcher();

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice).
uint16_t free_loopback_port();

// This process's arguments (argv without argv[0]) as the kernel recorded them.
std::vector<std::string> own_arguments();

}  // namespace sparrow::compress::distributed
