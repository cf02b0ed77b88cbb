#pragma once
// The largest model Sparrow builds, checked before anything is allocated: every size (a width, a count of
// layers, classes or tokens) and the number of parameters they give. No LibTorch, so config readers use it.
#include <spdlog/fmt/fmt.h>

#include <cstdint>
#include <string>

#include "core/errors.h"

namespace sparrow::models {

inline constexpr int64_t kMaxModelSize = int64_t{1} << 20;  // products of a few sizes stay exact in a double
inline constexpr double kMaxModelParameters = 2147483648.0;  // 2^31: 8 GiB of FP32 weights

// BadInput "<what> must be from 1 to 1048576, got <v>" outside [1, kMaxModelSize].
inline void check_model_size(const std::string& what, int64_t v) {
  if (v <= 0 || v > kMaxModelSize)
    throw BadInput(what + " must be from 1 to " + std::to_string(kMaxModelSize) + ", got " + std::to_string(v));
}

// BadInput naming `context` when sizes give more than kMaxModelParameters parameters.
inline void check_model_parameters(const std::string& context, double parameters) {
  if (parameters > kMaxModelParameters)
    throw BadInput(context + ": the model's sizes give " + fmt::format("{:.3g}", parameters) + " parameters, more than the " +
                   fmt::format("{:.3g}", kMaxModelParameters) + " Sparrow builds");
}

}  // namespace sparrow::models
