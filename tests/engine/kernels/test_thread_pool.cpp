// The persistent pool: every index is run exactly once per call, whether the workers are still spinning from
// the previous call or have gone to sleep, and the pool shuts down from either state.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "engine/kernels/thread_pool.h"

namespace sk = sparrow::kernels;

namespace {

// Runs one parallel_for over `count` indices and checks each was visited once, by contiguous slices.
void check_one_call(sk::ThreadPool& pool, std::size_t count) {
  std::vector<std::atomic<int>> visits(count);
  std::atomic<std::size_t> slices{0}, empty_slices{0};
  // Catch2's assertions are not thread-safe: workers only count, the test thread checks.
  pool.parallel_for(count, [&](std::size_t begin, std::size_t end) {
    if (begin >= end) ++empty_slices;
    ++slices;
    for (std::size_t i = begin; i < end; ++i) ++visits[i];
  });
  for (std::size_t i = 0; i < count; ++i) REQUIRE(visits[i].load() == 1);
  REQUIRE(empty_slices.load() == 0);
  REQUIRE(slices.load() == std::min(count, pool.size()));
}

}  // namespace

TEST_CASE("thread pool: back-to-back calls while the workers spin", "[kernels][thread_pool]") {
  for (std::size_t threads : {1, 2, 3}) {
    sk::ThreadPool pool(threads);
    for (std::size_t call = 0; call < 2000; ++call) check_one_call(pool, 1 + call % 37);
  }
}

TEST_CASE("thread pool: calls after the workers went to sleep, and shutdown while asleep",
          "[kernels][thread_pool]") {
  sk::ThreadPool pool(2);
  for (int call = 0; call < 5; ++call) {
    // Longer than the workers' bounded spin (50 us), so each call has to wake a sleeping worker.
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    check_one_call(pool, 100);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
}

TEST_CASE("thread pool: gaps around the spin bound", "[kernels][thread_pool]") {
  sk::ThreadPool pool(2);
  for (int call = 0; call < 200; ++call) {
    std::this_thread::sleep_for(std::chrono::microseconds(call % 7 * 20));
    check_one_call(pool, 64);
  }
}
