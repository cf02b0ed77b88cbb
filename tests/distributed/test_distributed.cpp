#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

#include "compress/distributed/launch.h"
#include "compress/distributed/process_group.h"
#include "compress/distributed/sampler.h"

using namespace sparrow;
namespace dist = sparrow::compress::distributed;

namespace {

// Sets environment variables for one scope and restores them after.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::string>& vars) {
    for (const auto& [k, v] : vars) {
      const char* old = std::getenv(k.c_str());
      saved_.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
      ::setenv(k.c_str(), v.c_str(), 1);
    }
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : saved_)
      if (v) ::setenv(k.c_str(), v->c_str(), 1);
      else ::unsetenv(k.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// One rank of the two-process collective test; returns the number of failed checks.
int collective_rank(int rank, uint16_t port) {
  int failures = 0;
  const auto expect = [&](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "rank %d: %s\n", rank, what);
      ++failures;
    }
  };
  dist::LaunchEnv env;
  env.master_port = port;
  env.world_size = 2;
  env.rank = env.local_rank = rank;
  dist::Options options;
  options.timeout = std::chrono::seconds(20);
  options.bucket_bytes = 16;  // several buckets even for a tiny layer
  dist::Session session(env, options);
  expect(dist::active() && dist::rank() == rank && dist::world_size() == 2, "rank and world size");

  float lo = rank == 0 ? -1.0f : -3.0f, hi = rank == 0 ? 5.0f : 2.0f;
  dist::all_reduce_min_max(lo, hi);
  expect(lo == -3.0f && hi == 5.0f, "all_reduce_min_max");
  expect(dist::all_reduce_sum({rank + 1.0, 10.0}) == std::vector<double>{3.0, 20.0}, "all_reduce_sum");

  torch::nn::Linear layer(3, 2);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : layer->parameters()) p.fill_(rank + 1.0);
  }
  dist::broadcast_parameters(*layer);
  expect(layer->weight.eq(1.0).all().item<bool>() && layer->bias.eq(1.0).all().item<bool>(), "broadcast from rank 0");

  layer->weight.mutable_grad() = torch::full({2, 3}, rank + 1.0);
  // bias has no gradient on rank 1: it counts as zeros.
  if (rank == 0) layer->bias.mutable_grad() = torch::full({2}, 4.0);
  dist::all_reduce_gradients(*layer, rank == 0 ? 0.25 : 0.75);
  expect(layer->weight.grad().eq(0.25 * 1 + 0.75 * 2).all().item<bool>(), "weighted gradient sum");
  expect(layer->bias.grad().eq(1.0).all().item<bool>(), "missing gradient as zeros");

  dist::check_agreement("tensors", {{"same", torch::ones({5})}, {"other", torch::ones({5})}});
  try {
    dist::check_agreement("tensors", {{"same", torch::ones({5})}, {"other", torch::full({5}, rank * 1.0)}});
    expect(false, "check_agreement missed a difference");
  } catch (const InternalError& e) {
    expect(std::string(e.what()) == "tensors differ between ranks: other", e.what());
  }
  dist::require_same("a value", 7);
  try {
    dist::require_same("a value", rank);
    expect(false, "require_same missed a difference");
  } catch (const BadInput& e) {
    expect(std::string(e.what()).find("a value differs between ranks") == 0, e.what());
  }
  return failures;
}

}  // namespace

TEST_CASE("the sampler splits every batch into disjoint near-equal slices that cover it", "[distributed]") {
  for (int world : {1, 2, 3, 7})
    for (int64_t n : {0, 1, 5, 100, 101}) {
      int64_t next = 0;
      for (int r = 0; r < world; ++r) {
        const auto [begin, end] = dist::shard_range(n, world, r);
        CHECK(begin == next);
        CHECK(end - begin >= n / world);
        CHECK(end - begin <= n / world + 1);
        next = end;
      }
      CHECK(next == n);
    }
  CHECK(dist::shard(torch::arange(10, 15), 2, 1).equal(torch::tensor({12, 13, 14})));
  CHECK_THROWS_AS(dist::shard_range(4, 2, 2), std::invalid_argument);
}

TEST_CASE("without a session every collective is a no-op", "[distributed]") {
  REQUIRE_FALSE(dist::active());
  CHECK(dist::rank() == 0);
  CHECK(dist::world_size() == 1);
  float lo = -2, hi = 3;
  dist::all_reduce_min_max(lo, hi);
  CHECK((lo == -2 && hi == 3));
  CHECK(dist::all_reduce_sum({1.5, 2.5}) == std::vector<double>{1.5, 2.5});
  torch::nn::Linear layer(2, 2);
  layer->weight.mutable_grad() = torch::ones({2, 2});
  dist::all_reduce_gradients(*layer, 0.5);
  CHECK(layer->weight.grad().eq(1).all().item<bool>());
  CHECK_FALSE(layer->bias.grad().defined());
  CHECK_NOTHROW(dist::check_agreement("x", {{"a", torch::ones({2})}}));
}

TEST_CASE("the launch environment is torchrun's", "[distributed]") {
  {
    ScopedEnv none(std::map<std::string, std::string>{{"WORLD_SIZE", ""}});
    CHECK_FALSE(dist::launch_env_from_environment());
  }
  {
    ScopedEnv vars({{"WORLD_SIZE", "4"}, {"RANK", "3"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "29511"}});
    const auto env = dist::launch_env_from_environment();
    REQUIRE(env);
    CHECK(env->world_size == 4);
    CHECK(env->rank == 3);
    CHECK(env->local_rank == 1);
    CHECK(env->master_addr == "10.0.0.2");
    CHECK(env->master_port == 29511);
  }
  {
    ScopedEnv bad({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29511"}});
    CHECK_THROWS_WITH(dist::launch_env_from_environment(), Catch::Contains("RANK=2") && Catch::Contains("[0, 1]"));
  }
  {
    ScopedEnv no_port({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", ""}});
    CHECK_THROWS_WITH(dist::launch_env_from_environment(), Catch::Contains("MASTER_PORT is not set"));
  }
}

TEST_CASE("two processes agree through c10d's TCPStore and Gloo", "[distributed]") {
  const uint16_t port = dist::free_loopback_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int failures = 1;
      try {
        failures = collective_rank(r, port);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", r, e.what());
      }
      std::_Exit(failures == 0 ? 0 : 1);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}
