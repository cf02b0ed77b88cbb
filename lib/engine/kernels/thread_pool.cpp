#include "engine/kernels/thread_pool.h"

#include <immintrin.h>

#include <chrono>

namespace sparrow::kernels {
namespace {
// How long an idle worker spins (on pause, about 25 ns each here) for the next call before it sleeps:
// consecutive ops of a forward pass start within microseconds. Longer spins (0.5 and 1 ms, also with yields)
// were tried and measured slower on this shared 2-core machine: a spinning worker takes the core the caller
// or another process needs.
constexpr std::chrono::microseconds kSpin{50};
constexpr int kPausesPerCheck = 64;
// Pauses the caller spins for the workers' slices before it yields its core.
constexpr int kCallerSpins = 2000;
}  // namespace

ThreadPool::ThreadPool(std::size_t threads) {
  for (std::size_t i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_slice(std::size_t index) {
  const std::size_t n = size();
  const std::size_t begin = count_ * index / n, end = count_ * (index + 1) / n;
  if (begin < end) (*fn_)(begin, end);
}

void ThreadPool::parallel_for(std::size_t count, const std::function<void(std::size_t, std::size_t)>& fn) {
  count_ = count;
  fn_ = &fn;
  pending_.store(workers_.size(), std::memory_order_relaxed);
  // Sequentially consistent, as is the worker's sleeping_ increment before its last look at generation_:
  // either this thread sees the sleeper and notifies it, or the sleeper sees the new generation and stays up.
  generation_.fetch_add(1);
  if (sleeping_.load() != 0) {
    // Taking the mutex orders the notify after a sleeper's predicate check, so the wake-up is not lost.
    { std::lock_guard<std::mutex> lock(mutex_); }
    wake_.notify_all();
  }
  run_slice(0);
  // Spin briefly, then yield: on a busy machine a worker may be waiting for this very core.
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < kCallerSpins) {
      _mm_pause();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::wait_for_work(std::uint64_t seen) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < kPausesPerCheck; ++i) _mm_pause();
  }
  if (generation_.load(std::memory_order_acquire) != seen) return;
  sleeping_.fetch_add(1);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return generation_.load() != seen; });
  }
  sleeping_.fetch_sub(1);
}

void ThreadPool::worker(std::size_t index) {
  std::uint64_t seen = 0;
  for (;;) {
    wait_for_work(seen);
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_relaxed)) return;
    run_slice(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace sparrow::kernels
