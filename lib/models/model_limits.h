#pragma once
// The largest model Sparrow builds, checked before anything is allocated: every size (a width, a count of
// layers, classes or tokens) and the number of parameters they give. No LibTorch, so config readers use it.
#include <spdlog/fmt/fmt.h>

#include <cstdint>
#include <string>

#include "core/errors.h"

namespace sparrow::models {

inline constexpr int64_t kMaxModelSize = int64_t{1} << 20;  // products of a few sizes stay exact in a double
inline constexpr int64_t kMaxModelLayers = 1024;            // a stack of layers, each one a module to build
inline constexpr double kMaxModelParameters = 2147483648.0;  // 2^31: 8 GiB of FP32 weights

// BadInput "<what> must be from <lo> to <hi>, got <v>" outside [lo, hi].
inline void check_model_range(const std::string& what, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    throw BadInput(what + " must be from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " + std::to_string(v));
}

// A size: 1 to kMaxModelSize, so that products of sizes cannot overflow before check_model_parameters.
inline void check_model_size(const std::string& what, int64_t v) { check_model_range(what, v, 1, kMaxModelSize); }

// BadInput "<what> must be in [0, 1), got <p>" for a dropout probability outside it.
inline void check_probability(const std::string& what, double p) {
  if (!(p >= 0 && p < 1)) throw BadInput(what + " must be in [0, 1), got " + fmt::format("{:g}", p));
}

// BadInput naming `context` when sizes give more than kMaxModelParameters parameters.
inline void check_model_parameters(const std::string& context, double parameters) {
  if (parameters > kMaxModelParameters)
    throw BadInput(context + ": the model's sizes give " + fmt::format("{:.3g}", parameters) + " parameters, more than the " +
                   fmt::format("{:.3g}", kMaxModelParameters) + " Sparrow builds");
}

}  // namespace sparrow::models
