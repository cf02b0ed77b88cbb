#include "pipeline/speed_comparison.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include "core/errors.h"

namespace sparrow::pipeline {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double clock_seconds(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

nlohmann::json spread(const std::vector<double>& v) {
  return {{"median", median(v)}, {"min", *std::min_element(v.begin(), v.end())}, {"max", *std::max_element(v.begin(), v.end())}};
}

nlohmann::json timings_json(const Timings& t) {
  return {{"threads", t.threads}, {"wall_seconds", spread(t.wall)}, {"cpu_seconds", spread(t.process_cpu)}, {"cpu_share", t.cpu_share()}};
}

std::string shown(const std::optional<double>& load) { return load ? fmt::format("{:.2f}", *load) : "unknown"; }

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

void time_once(Timings& t, const std::function<void()>& run) {
  const double process = clock_seconds(CLOCK_PROCESS_CPUTIME_ID), thread = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
  const auto start = std::chrono::steady_clock::now();
  run();
  t.wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  t.process_cpu.push_back(clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - process);
  t.thread_cpu.push_back(clock_seconds(CLOCK_THREAD_CPUTIME_ID) - thread);
}

double Timings::median_wall() const { return median(wall); }

double Timings::median_process_cpu() const { return median(process_cpu); }

double Timings::cpu_share() const {
  std::vector<double> shares;
  for (std::size_t i = 0; i < wall.size(); ++i) shares.push_back(wall[i] > 0 ? thread_cpu[i] / wall[i] : 1.0);
  return median(shares);
}

std::optional<double> read_load_average() {
  const char* path = "/proc/loadavg";
  if (const char* test = std::getenv("SPARROW_TEST"); test != nullptr && std::string(test) == "1")
    if (const char* other = std::getenv("SPARROW_TEST_LOADAVG")) path = other;
  // Not read_file: it refuses /proc files, which are not untrusted input here. Bounded, in case of a device.
  std::ifstream in(path, std::ios::binary);
  char text[128] = {};
  in.read(text, sizeof text - 1);
  char* end = nullptr;
  const double load = std::strtod(text, &end);
  if (end == text || !(load >= 0)) return std::nullopt;
  return load;
}

Verdict judge_measurement(double single_thread_cpu_share, const std::string& single_thread_side, const LoadAverage& load,
                          std::size_t threads) {
  std::vector<std::string> seen;
  const double highest = std::max(load.before.value_or(0), load.after.value_or(0));
  const double limit = static_cast<double>(std::max(load.cpus, threads)) + kLoadSlack;
  if (highest > limit)
    seen.push_back(fmt::format("load average {} before and {} after on {} CPUs, above the {:.1f} allowed", shown(load.before),
                               shown(load.after), load.cpus, limit));
  if (single_thread_cpu_share < kMinCpuShare)
    seen.push_back(fmt::format("{} at 1 thread got {:.0f} % of a CPU over its wall time, under the {:.0f} % allowed: it was preempted",
                               single_thread_side, 100 * single_thread_cpu_share, 100 * kMinCpuShare));
  Verdict v;
  v.reliable = seen.empty();
  for (const auto& s : seen) v.reason += (v.reason.empty() ? "" : "; ") + s;
  return v;
}

std::string baseline_json_key(const std::string& baseline_key, const std::string& name) {
  if (baseline_key.empty()) return name;
  return name == "speedup" ? "speedup_vs_" + baseline_key : baseline_key + "_" + name;
}

nlohmann::json SpeedComparison::to_json(double items_per_repetition) const {
  std::vector<std::string> sides = {fmt::format("the engine at {} thread(s)", plan.threads)};
  for (const auto& b : baselines)
    sides.push_back(fmt::format("{} at {}", b.label, b.runs.size() == 1 ? "1 thread" : fmt::format("1 and {} threads", plan.threads)));
  nlohmann::json measurement = {
      {"method", fmt::format("{} interleaved rounds of one repetition each of {}, the order reversed every other round, after {} "
                             "warm-up repetition(s) of each; medians of wall time, {} at its faster thread count",
                             plan.rounds, fmt::join(sides, sides.size() == 2 ? " and " : ", "), plan.warmup,
                             baselines.size() == 1 ? baselines[0].label : "each baseline")},
      {"rounds", plan.rounds},
      {"items_per_repetition", items_per_repetition},
      {"engine", timings_json(engine)},
      {"load_average", {{"before", optional_json(load.before)}, {"after", optional_json(load.after)}, {"cpus", load.cpus}}}};
  nlohmann::json out = {{"items_per_second", items_per_repetition / engine.median_wall()}, {"reliable", verdict.reliable}};
  for (std::size_t i = 0; i < baselines.size(); ++i) {
    const BaselineTimings& b = baselines[i];
    const auto key = [&](const std::string& name) { return baseline_json_key(b.key, name); };
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& t : b.runs) runs.push_back(timings_json(t));
    measurement[key("baseline")] = runs;
    measurement[key("baseline_threads")] = b.fastest().threads;
    measurement[key("cpu_speedup")] = b.fastest().median_process_cpu() / engine.median_process_cpu();
    out[key("speedup")] = speedup(i);
    out[key("baseline_items_per_second")] = items_per_repetition / b.fastest().median_wall();
  }
  out["measurement"] = measurement;
  if (!verdict.reliable) out["unreliable_reason"] = verdict.reason;
  return out;
}

SpeedComparison compare_speed(const std::function<void()>& engine, const std::vector<Baseline>& baselines, ComparisonPlan plan) {
  if (baselines.empty() || !baselines[0].key.empty()) throw InternalError("compare_speed: the first baseline must have the empty key");
  for (std::size_t i = 1; i < baselines.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (baselines[i].key.empty() || baselines[i].key == baselines[j].key)
        throw InternalError(fmt::format("compare_speed: baseline {} ('{}') needs a key of its own", i, baselines[i].label));
  plan.threads = std::max<std::size_t>(1, plan.threads);
  plan.rounds = std::max<std::size_t>(1, plan.rounds);
  SpeedComparison c;
  c.plan = plan;
  c.engine.threads = plan.threads;
  // Slot 0 is the engine; then each baseline at 1 thread and, when the engine has more, at the engine's.
  std::vector<std::function<void()>> slots = {engine};
  std::vector<Timings*> timings;
  for (const Baseline& b : baselines) {
    BaselineTimings t{b.label, b.key, {Timings{}}, 0};
    if (plan.threads > 1) t.runs.push_back(Timings{plan.threads, {}, {}, {}});
    c.baselines.push_back(std::move(t));
  }
  timings.push_back(&c.engine);
  for (std::size_t i = 0; i < baselines.size(); ++i)
    for (Timings& t : c.baselines[i].runs) {
      slots.push_back([run = baselines[i].run, threads = t.threads] { run(threads); });
      timings.push_back(&t);
    }
  c.load.cpus = static_cast<std::size_t>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  c.load.before = read_load_average();

  for (std::size_t i = 0; i < plan.warmup; ++i)
    for (const auto& run : slots) run();
  if (plan.after_warmup) plan.after_warmup();
  for (std::size_t round = 0; round < plan.rounds; ++round)
    for (std::size_t k = 0; k < slots.size(); ++k) {
      const std::size_t slot = round % 2 == 0 ? k : slots.size() - 1 - k;
      time_once(*timings[slot], slots[slot]);
    }
  c.load.after = read_load_average();

  // The 1-thread runs say whether a core was ours: each baseline's at 1 thread always, the engine's when it
  // had 1; the lowest share counts.
  double share = 2;
  std::string side;
  for (BaselineTimings& b : c.baselines) {
    for (std::size_t i = 1; i < b.runs.size(); ++i)
      if (b.runs[i].median_wall() < b.fastest().median_wall()) b.best = i;
    if (b.runs[0].cpu_share() < share) {
      share = b.runs[0].cpu_share();
      side = b.label;
    }
  }
  if (plan.threads == 1 && c.engine.cpu_share() < share) {
    share = c.engine.cpu_share();
    side = "the engine";
  }
  c.verdict = judge_measurement(share, side, c.load, plan.threads);
  if (!c.verdict.reliable)
    spdlog::warn("the speed-up ({:.2f}x) is not reliable: the machine was too busy to measure it: {}", c.speedup(), c.verdict.reason);
  return c;
}

SpeedComparison compare_speed(const std::function<void()>& engine, const std::function<void(std::size_t threads)>& baseline,
                              ComparisonPlan plan) {
  return compare_speed(engine, {{"LibTorch", "", baseline}}, std::move(plan));
}

}  // namespace sparrow::pipeline
