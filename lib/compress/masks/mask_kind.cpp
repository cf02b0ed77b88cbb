#include "compress/masks/mask_kind.h"

#include <regex>
#include <stdexcept>

#include "recipe/limits.h"

namespace sparrow::compress {

MaskKind MaskKind::parse(const std::string& text) {
  static const std::regex block(R"(\[\s*(\d+)\s*,\s*(\d+)\s*\])");
  static const std::regex n_of_m(R"((\d+)\s*:\s*(\d+))");
  MaskKind k;
  std::smatch match;
  if (text == "unstructured") return k;
  if (text == "block4" || text == "block") {
    k.type = Type::Block;
    k.cols = 4;
    return k;
  }
  // std::regex recurses per character: a long text is no mask name, and must not reach it.
  constexpr size_t kLongestName = 32;
  if (text.size() > kLongestName) throw std::invalid_argument("expected unstructured, block4, [rows, cols] or N:M");
  if (std::regex_match(text, match, block)) {
    k.type = Type::Block;
    k.rows = recipe::bounded_count(match[1]);
    k.cols = recipe::bounded_count(match[2]);
    if (k.rows < 1 || k.cols < 1 || k.rows > recipe::kMaxBlockRows || k.cols > recipe::kMaxBlockRows)
      throw std::invalid_argument("block dimensions must be in [1, " + std::to_string(recipe::kMaxBlockRows) + "]");
    if (k.rows == 1 && k.cols == 1) k.type = Type::Unstructured;
    return k;
  }
  if (std::regex_match(text, match, n_of_m)) {
    k.type = Type::NofM;
    k.n = recipe::bounded_count(match[1]);
    k.m = recipe::bounded_count(match[2]);
    if (k.m < 2 || k.n < 1 || k.n >= k.m || k.m > recipe::kMaxGroupSize)
      throw std::invalid_argument("N:M needs 1 <= N < M <= " + std::to_string(recipe::kMaxGroupSize));
    return k;
  }
  throw std::invalid_argument("expected unstructured, block4, [rows, cols] or N:M");
}

std::string MaskKind::name() const {
  switch (type) {
    case Type::Unstructured: return "unstructured";
    case Type::Block:
      return rows == 1 && cols == 4 ? "block4" : "[" + std::to_string(rows) + "," + std::to_string(cols) + "]";
    case Type::NofM: return std::to_string(n) + ":" + std::to_string(m);
  }
  return "unstructured";
}

double MaskKind::max_sparsity() const {
  return type == Type::NofM ? 1.0 - static_cast<double>(n) / static_cast<double>(m) : 1.0;
}

}  // namespace sparrow::compress
