#pragma once
// The ranges a recipe's numbers and shapes must lie in (docs/reliability.md). Each is far beyond any real
// run, and near enough that nothing downstream overflows, allocates without bound or runs for ever: epochs
// times steps per epoch stays well inside int64, a mask block is a few rows, a plan prints in seconds.
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace sparrow::recipe {

constexpr double kMaxEpochs = 100000;          // train.epochs and every epoch field of a modifier
constexpr int64_t kMaxBatchSize = 65536;       // train.batch_size, train.eval_batch_size
constexpr int64_t kMaxCalibrationSteps = 1000000;  // num_calibration_steps
constexpr int64_t kMaxBlockRows = 256;         // a block mask_type [r, 4]
constexpr int64_t kMaxGroupSize = 64;          // M of an N:M mask_type
constexpr size_t kMaxPatternLength = 1000;     // a params "re:<regex>" (std::regex recurses per character)
constexpr size_t kMaxPatternDigits = 9;        // a number in one (std::regex reads {n,m} into an int unchecked)
constexpr int kMaxNesting = 100;               // lists and mappings inside each other, in the file or a flag
constexpr int64_t kMaxValues = 100000;         // values of a recipe or a flag once its aliases are expanded
constexpr int64_t kMaxScheduleRows = 100001;   // rows `compress schedule` prints (100 000 epochs, step 1)
constexpr double kMinScheduleStep = 0.001;     // epochs between rows of `compress schedule`

// "end_epoch must be at most 100000 (epochs: the longest run a recipe may plan), got 1e+19".
std::string above_max_epochs(const std::string& what, double value);

// Decimal digits as a count, saturated at 1 000 000 000: beyond every limit here, and never an int64 overflow
// (std::stoll throws on "99999999999999999999").
int64_t bounded_count(const std::string& digits);

// True when `j` nests arrays and objects more than kMaxNesting deep. Stops looking at that depth, so a
// hostile value cannot exhaust the stack here.
bool too_deep(const nlohmann::json& j);

// Why `node` is more than a recipe may hold, or empty: "is nested more than 100 levels deep ..." (kMaxNesting)
// or "expands to more than 100000 values ..." once its aliases are expanded, as every later pass walks it (a
// few lines of nested aliases expand to billions). Stops looking at either limit.
std::string oversized(const YAML::Node& node);

// "nested more than 100 levels deep (the most a recipe or a flag may nest)": the end of the message for both,
// and for the YAML reader's own depth limit, which lies beyond it.
std::string too_deep_message();

}  // namespace sparrow::recipe
