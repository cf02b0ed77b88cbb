#include "recipe/mask_kind.h"

#include <regex>
#include <stdexcept>

#include "recipe/diagnostics.h"
#include "recipe/limits.h"

namespace sparrow::recipe {

namespace {

const char* const kValid = "; valid: unstructured, block4, [r, 4] (e.g. [2, 4]) or \"N:M\" (e.g. \"2:4\")";

// `shown` is the block as the user wrote it: numbers too large for int64 arrive saturated.
MaskKind checked_block(int64_t rows, int64_t cols, const std::string& shown) {
  if (cols != MaskKind::kBlockCols)
    throw std::invalid_argument("block masks are 4 columns wide ([r, 4]: the engine's INT8 lane), got " + shown);
  if (rows < 1 || rows > kMaxBlockRows)
    throw std::invalid_argument("a block mask_type [r, 4] has 1 <= r <= " + std::to_string(kMaxBlockRows) +
                                " rows, got " + shown);
  MaskKind k;
  k.type = MaskKind::Type::Block;
  k.rows = rows;
  k.cols = cols;
  return k;
}

}  // namespace

MaskKind MaskKind::block(int64_t rows, int64_t cols) {
  return checked_block(rows, cols, "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
}

MaskKind MaskKind::parse(const std::string& text) {
  static const std::regex block_text(R"(\[\s*(\d+)\s*,\s*(\d+)\s*\])");
  static const std::regex n_of_m(R"((\d+)\s*:\s*(\d+))");
  if (text == "unstructured") return {};
  if (text == "block4" || text == "block") return block(1, kBlockCols);
  if (text == "channel" || text == "filter")
    throw std::invalid_argument("mask_type '" + text + "' is a SparseML mask Sparrow does not implement" + kValid);
  // std::regex recurses per character: a long text is no mask name, and must not reach it.
  constexpr size_t kLongestName = 32;
  std::smatch match;
  if (text.size() <= kLongestName && std::regex_match(text, match, block_text))
    return checked_block(bounded_count(match[1]), bounded_count(match[2]),
                         "[" + match[1].str() + ", " + match[2].str() + "]");
  if (text.size() <= kLongestName && std::regex_match(text, match, n_of_m)) {
    MaskKind k;
    k.type = Type::NofM;
    k.n = bounded_count(match[1]);
    k.m = bounded_count(match[2]);
    if (k.n < 1 || k.m <= k.n || k.m > kMaxGroupSize)
      throw std::invalid_argument("an N:M mask_type needs 0 < N < M <= " + std::to_string(kMaxGroupSize) + ", got '" +
                                  text + "'");
    return k;
  }
  throw std::invalid_argument("unknown mask_type '" + excerpt(text) + "'" + did_you_mean(text, {"unstructured", "block4"}) +
                              kValid);
}

std::string MaskKind::name() const {
  switch (type) {
    case Type::Unstructured: return "unstructured";
    case Type::Block: return rows == 1 ? "block4" : "[" + std::to_string(rows) + "," + std::to_string(cols) + "]";
    case Type::NofM: return std::to_string(n) + ":" + std::to_string(m);
  }
  return "unstructured";
}

double MaskKind::max_sparsity() const {
  return type == Type::NofM ? 1.0 - static_cast<double>(n) / static_cast<double>(m) : 1.0;
}

}  // namespace sparrow::recipe
