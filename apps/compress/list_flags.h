// Comma-separated list flags shared by compress subcommands (sweep, analyze): sparsities and mask kinds.
#pragma once

#include <string>
#include <vector>

#include "recipe/mask_kind.h"

namespace sparrow::apps {

// Comma-separated items; commas inside [...] belong to the item ("[4,4]").
std::vector<std::string> split_list(const std::string& text);

// The parsers add one message per bad item (naming `flag`) to `errors`, so that every flag error is reported at
// once; repeats are dropped.
std::vector<double> parse_sparsities(const std::string& text, const std::string& flag, std::vector<std::string>& errors);
std::vector<recipe::MaskKind> parse_masks(const std::string& text, const std::string& flag, std::vector<std::string>& errors);

}  // namespace sparrow::apps
