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

// Sets report["engine"] = {accuracy, threads, batch, isa, speedup, items_per_second, baseline_items_per_second,
// reliable, unreliable_reason (when not reliable), measurement} when `sparrow_file` exists (otherwise leaves
// the report alone). Accuracy is over the whole test set; speed over its first 128 items, in batches of 32.
// The baseline is `dense` when given (the dense teacher), else a dense FP32 model of `compressed`'s
// architecture. threads <= 0: all cores.
void add_engine_check(nlohmann::json& report, const std::filesystem::path& sparrow_file, const data::Dataset& test,
                      const models::Classifier& compressed, models::Classifier* dense, int threads);

}  // namespace sparrow::pipeline
