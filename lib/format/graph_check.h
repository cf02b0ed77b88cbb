// Validation of a file's graph JSON against its tensor table (docs/format.md "Graph" and "Weight layouts").
#pragma once

#include <nlohmann/json.hpp>

#include "format/reader.h"

namespace sparrow::format {

// Checks the graph's structure (ops, names, attributes), that every referenced tensor exists with the
// dtype and shape its role needs, and every sparse/INT8 weight's contents. Throws FormatError.
void check_graph(const File& file);

// The weights of a linear/conv2d op; with check_values, also the contents (row pointers, block indices
// sorted and in range, row sums, scales, zero padding).
WeightsView resolve_weights(const nlohmann::json& op, const File& file, bool check_values);

}  // namespace sparrow::format
