// How Sparrow times its engine against LibTorch baselines (dense FP32; for `sparrow bench --compare` also
// LibTorch's dynamic INT8), for `sparrow bench --compare` and the "engine" section of a `compress --recipe`
// report (docs/benchmarks.md, "Measuring on a busy machine"). Load from other processes must not be able to
// inflate the ratios:
// - interleaved rounds (engine, each baseline at 1 thread and at T threads; the order reversed every other
//   round), so all sides see the same machine, and medians, so a few preempted repetitions do not count;
// - each baseline at 1 thread and at T, its faster one kept: LibTorch's OpenMP threads spin-wait at barriers,
//   and with another process on a core a T-thread run can be many times slower than a 1-thread one;
// - a verdict: /proc/loadavg before and after, and the CPU time the calling thread got against wall time in
//   the 1-thread runs. When either says the machine was too busy, the figures are marked unreliable and a
//   `min_speedup` gate fails on them (lib/recipe/gates.cpp).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sparrow::pipeline {

// The rule's thresholds (tests/apps/test_engine_check.cpp checks them).
// A 1-thread run whose calling thread got less CPU time than this fraction of its wall time was preempted.
inline constexpr double kMinCpuShare = 0.8;
// The 1-minute load average may exceed the CPUs online (or the measurement's threads, when more) by at most
// this much. This process's own running threads count in the load, so a machine that runs nothing else stays
// at or below that.
inline constexpr double kLoadSlack = 0.5;

// One side at one thread count: every repetition's wall time, the whole process's CPU time and the calling
// thread's CPU time, in seconds.
struct Timings {
  std::size_t threads = 1;
  std::vector<double> wall, process_cpu, thread_cpu;

  double median_wall() const;
  double median_process_cpu() const;
  // Median of the calling thread's CPU time / wall time per repetition (1: never preempted).
  double cpu_share() const;
};

// One repetition of `run`, timed and appended to `t`.
void time_once(Timings& t, const std::function<void()>& run);

// 1-minute load averages around the measurement (nullopt: /proc/loadavg could not be read) and the CPUs online.
struct LoadAverage {
  std::optional<double> before, after;
  std::size_t cpus = 1;
};

// /proc/loadavg now; with SPARROW_TEST=1, the file SPARROW_TEST_LOADAVG names instead when it is set.
std::optional<double> read_load_average();

struct Verdict {
  bool reliable = true;
  std::string reason;  // what was seen, when not reliable
};

// The rule: unreliable when the CPU share of a 1-thread run (the lowest, from `single_thread_side`) is below
// kMinCpuShare, or when the higher load average exceeds max(cpus, threads) + kLoadSlack.
Verdict judge_measurement(double single_thread_cpu_share, const std::string& single_thread_side, const LoadAverage& load,
                          std::size_t threads);

struct ComparisonPlan {
  std::size_t threads = 1;  // the engine's threads; each baseline runs at 1 and at this many
  std::size_t warmup = 1;   // untimed repetitions of each side first
  std::size_t rounds = 5;   // timed repetitions of each side
  std::function<void()> after_warmup;  // optional (bench --profile clears the engine's op times)
};

// One side the engine is timed against.
struct Baseline {
  std::string label;  // in the method and the verdict: "LibTorch", "LibTorch INT8"
  // Names its JSON keys. The first baseline's must be empty: it has the report's stable keys (speedup,
  // baseline_items_per_second, measurement.baseline, ...). Another's, e.g. "int8", prefixes its own:
  // speedup_vs_int8, int8_baseline_items_per_second, measurement.int8_baseline, .int8_baseline_threads,
  // .int8_cpu_speedup.
  std::string key;
  std::function<void(std::size_t threads)> run;  // one repetition on that many threads
};

// The JSON key `name` ("speedup", "baseline_items_per_second", "baseline", ...) of the baseline keyed
// `baseline_key`: `name` itself for the first baseline (empty key), else "speedup_vs_<key>" or "<key>_<name>".
std::string baseline_json_key(const std::string& baseline_key, const std::string& name);

// A baseline's timings: at 1 thread, then at the plan's threads when that is more.
struct BaselineTimings {
  std::string label, key;
  std::vector<Timings> runs;
  std::size_t best = 0;  // the run with the lowest median wall time

  const Timings& fastest() const { return runs[best]; }
};

struct SpeedComparison {
  ComparisonPlan plan;
  Timings engine;
  std::vector<BaselineTimings> baselines;  // in the order given
  LoadAverage load;
  Verdict verdict;

  // The baseline's median wall time at its faster thread count / the engine's.
  double speedup(std::size_t baseline = 0) const { return baselines[baseline].fastest().median_wall() / engine.median_wall(); }
  // {speedup, items_per_second, baseline_items_per_second, reliable, unreliable_reason (when not), measurement},
  // and each further baseline's keys (Baseline::key).
  nlohmann::json to_json(double items_per_repetition) const;
};

// `engine()` and each baseline's `run(threads)` run one repetition of the same work. InternalError unless the
// first baseline's key is empty and the others' are distinct and not empty.
SpeedComparison compare_speed(const std::function<void()>& engine, const std::vector<Baseline>& baselines, ComparisonPlan plan);
// Against one baseline, "LibTorch" (the report's engine check).
SpeedComparison compare_speed(const std::function<void()>& engine, const std::function<void(std::size_t threads)>& baseline,
                              ComparisonPlan plan);

}  // namespace sparrow::pipeline
