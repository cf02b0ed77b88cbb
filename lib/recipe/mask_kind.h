#pragma once
// What a magnitude pruning mask removes together (a recipe's mask_type, in SparseML's names): the one type the
// recipe parser, the pruning modifiers, the masks, `compress check` and `compress sweep` share.
//   unstructured      single weights;
//   block4 = [1, 4]   4 consecutive inputs of one output row, scored by their mean |w|;
//   [r, 4]            r output rows x 4 inputs, 1 <= r <= 256 (the engine packs [4, 4] and [2, 4] tiles, and
//                     [1, 4] blocks for any other r);
//   N:M               N kept of every M consecutive inputs, 1 <= N < M <= 64.
// Blocks are 4 inputs wide because that is the engine's INT8 lane (one vpdpbusd reduces 4 inputs): a block of
// another width would not leave whole 1 x 4 blocks for the sparse kernels to skip, so it is refused here.
// No LibTorch here.
#include <cstdint>
#include <string>

namespace sparrow::recipe {

struct MaskKind {
  enum class Type { Unstructured, Block, NofM };
  static constexpr int64_t kBlockCols = 4;

  Type type = Type::Unstructured;
  int64_t rows = 1;  // Block: output rows per block (1 otherwise)
  int64_t cols = 1;  // Block: kBlockCols inputs per block (1 otherwise)
  int64_t n = 0;     // NofM: kept per group
  int64_t m = 0;     // NofM: group size

  // "unstructured", "block4" (or "block"), "[r, 4]", "N:M". Throws std::invalid_argument with a message that
  // echoes the text and says what is valid, e.g. "an N:M mask_type needs 0 < N < M <= 64, got '4:2'".
  static MaskKind parse(const std::string& text);
  // A block of rows x cols (a recipe's mask_type: [r, c] list), with parse's checks and messages.
  static MaskKind block(int64_t rows, int64_t cols);

  std::string name() const;  // canonical: "unstructured", "block4", "[2,4]", "2:4"
  // The highest sparsity this kind can reach: 1 - N/M for N:M, else 1.
  double max_sparsity() const;
};

}  // namespace sparrow::recipe
