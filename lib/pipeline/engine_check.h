// The engine's part of a `compress --recipe` report: when the run exported a .sparrow file, its accuracy on
// the test set through Sparrow's engine and its speed against the dense FP32 model in LibTorch, both measured
// here, in the same process (so `gates.min_speedup` has a figure to check), the speed as
// pipeline/speed_comparison.h measures it.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>

#include "data/dataset.h"
#include "models/classifier.h"

namespace sparrow::pipeline {

// Sets report["engine"] when `sparrow_file` exists (otherwise leaves the report alone):
// - accuracy over the whole test set, in batches of 32, and isa;
// - configurations: the speed at batch 1 and batch 32, each at 1 thread and at `threads` (threads <= 0: all
//   cores), each {batch, threads, speedup, items_per_second, baseline_items_per_second, reliable,
//   unreliable_reason (when not reliable), measurement}; batch 32 over the test set's first 128 items, batch 1
//   over its first 16;
// - the same keys at the top for the configuration a min_speedup gate checks: batch `speedup_batch` (1 or 32)
//   at 1 thread (`speedup_threads` 1) or at `threads` (0).
// The baseline is `dense` when given (the dense teacher), else a dense FP32 model of `compressed`'s
// architecture, at 1 thread and at the configuration's threads, its faster kept.
void add_engine_check(nlohmann::json& report, const std::filesystem::path& sparrow_file, const data::Dataset& test,
                      const models::Classifier& compressed, models::Classifier* dense, int threads, int speedup_batch = 32,
                      int speedup_threads = 0);

}  // namespace sparrow::pipeline
