#include "engine/kernels/thread_pool.h"

#include <immintrin.h>

namespace sparrow::kernels {
namespace {
// Spin this many pause iterations before sleeping (a pause is ~65 cycles on recent AMD, ~140 on Intel, so
// some 50-100 microseconds): consecutive kernel calls of a forward pass then hand over without a futex
// wake-up, and an idle or oversubscribed machine does not lose much more than that to spinning.
constexpr int kSpinIterations = 2000;
}  // namespace

ThreadPool::ThreadPool(std::size_t threads) {
  for (std::size_t i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    count_ = count;
    fn_ = &fn;
    pending_.store(workers_.size(), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_slice(0);
  // Spin briefly, then yield: on a busy machine a worker may be waiting for this very core.
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < kSpinIterations) {
      _mm_pause();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::worker(std::size_t index) {
  std::uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && spins < kSpinIterations) {
      _mm_pause();
      ++spins;
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      seen = generation_.load(std::memory_order_acquire);
      if (stop_) return;
    }
    run_slice(index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace sparrow::kernels
