#include "compress/masks/mask_kind.h"

#include <regex>
#include <stdexcept>

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
  if (std::regex_match(text, match, block)) {
    k.type = Type::Block;
    k.rows = std::stoll(match[1]);
    k.cols = std::stoll(match[2]);
    if (k.rows < 1 || k.cols < 1) throw std::invalid_argument("block dimensions must be >= 1");
    if (k.rows == 1 && k.cols == 1) k.type = Type::Unstructured;
    return k;
  }
  if (std::regex_match(text, match, n_of_m)) {
    k.type = Type::NofM;
    k.n = std::stoll(match[1]);
    k.m = std::stoll(match[2]);
    if (k.m < 2 || k.n < 1 || k.n >= k.m) throw std::invalid_argument("N:M needs 1 <= N < M");
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
