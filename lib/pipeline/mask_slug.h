// A mask kind in file and folder names (a sweep's points, the analysis's plots): block4, 2x4 ([2,4]),
// 2of4 (2:4), unstructured.
#pragma once

#include <string>

#include "recipe/mask_kind.h"

namespace sparrow::pipeline {

inline std::string mask_slug(const recipe::MaskKind& kind) {
  if (kind.type == recipe::MaskKind::Type::Block && kind.rows != 1) return std::to_string(kind.rows) + "x" + std::to_string(kind.cols);
  if (kind.type == recipe::MaskKind::Type::NofM) return std::to_string(kind.n) + "of" + std::to_string(kind.m);
  return kind.name();
}

}  // namespace sparrow::pipeline
