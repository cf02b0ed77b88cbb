#pragma once
// The shape of what a pruning mask removes together, in SparseML's names:
// "unstructured" (single weights), "block4" = [1, 4], "[r, c]" (r output rows x
// c consecutive inputs), "N:M" (N kept in every M consecutive inputs).
// No LibTorch here: the recipe parser validates names with it too.
#include <cstdint>
#include <string>

namespace sparrow::compress {

struct MaskKind {
  enum class Type { Unstructured, Block, NofM };
  Type type = Type::Unstructured;
  int64_t rows = 1;  // Block: output rows per block
  int64_t cols = 1;  // Block: consecutive inputs per block
  int64_t n = 0;     // NofM: kept per group
  int64_t m = 0;     // NofM: group size

  // Accepts "unstructured", "block4", "[r,c]" / "[r, c]", "N:M". Throws
  // std::invalid_argument with what was expected.
  static MaskKind parse(const std::string& text);
  std::string name() const;  // canonical: "unstructured", "block4", "[2,4]", "2:4"
  // The highest sparsity this kind can reach (N:M: 1 - N/M).
  double max_sparsity() const;
};

}  // namespace sparrow::compress
