// What `compress analyze` writes from its result (analysis.h): analysis.md (a sensitivity table, rows layer x
// mask, columns sparsity; a timing table, rows layer shape x mask), and per mask kind sensitivity_<mask>.svg
// (accuracy change against sparsity, one line per layer) and timing_<mask>.svg (the sparse INT8 kernel's time
// against sparsity, one line per layer shape). Plain text out of the JSON, so tests feed fixed results.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sparrow::pipeline {

std::string analysis_markdown(const nlohmann::json& analysis);
std::string sensitivity_svg(const nlohmann::json& analysis, const std::string& mask);
std::string timing_svg(const nlohmann::json& analysis, const std::string& mask);

}  // namespace sparrow::pipeline
