// A small persistent pool: threads are started once (per model / benchmark) and reused by every kernel
// call, since forking and joining threads costs more than a short GEMM. The calling thread works too.
// Between calls the workers spin for a bounded time (thread_pool.cpp) before they sleep, so the ops of a
// forward pass, which follow each other within microseconds, hand work over without a wake-up; only a
// sleeping worker costs the caller the mutex and a notify.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sparrow::kernels {

class ThreadPool {
 public:
  // `threads` counts the caller: ThreadPool(1) starts no thread.
  explicit ThreadPool(std::size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t size() const { return workers_.size() + 1; }

  // Calls fn(begin, end) on contiguous, near-equal slices of [0, count), one slice per thread; returns when
  // all are done. Not reentrant: one parallel_for at a time.
  void parallel_for(std::size_t count, const std::function<void(std::size_t, std::size_t)>& fn);

 private:
  void worker(std::size_t index);
  void run_slice(std::size_t index);
  // Returns once generation_ differs from `seen`: spins first, then sleeps on wake_.
  void wait_for_work(std::uint64_t seen);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  // A new call (or stop) bumps the generation; its release publishes count_, fn_ and stop_.
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::size_t> pending_{0};
  std::atomic<std::size_t> sleeping_{0};
  std::atomic<bool> stop_{false};
  std::size_t count_ = 0;
  const std::function<void(std::size_t, std::size_t)>* fn_ = nullptr;
};

// Runs fn over [0, count) on the pool, or inline when pool is null.
inline void parallel_for(ThreadPool* pool, std::size_t count, const std::function<void(std::size_t, std::size_t)>& fn) {
  if (pool == nullptr || pool->size() == 1 || count <= 1) {
    if (count != 0) fn(0, count);
    return;
  }
  pool->parallel_for(count, fn);
}

}  // namespace sparrow::kernels
