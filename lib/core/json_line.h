#pragma once
// One line of a JSONL file, parsed as JSON with an error that names the real problem. Lines come from
// users and other tools, which write NaN, Infinity, numbers too large for a double or Latin-1 bytes more
// often than broken syntax.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sparrow {

// Far deeper than any record a JSONL file holds.
inline constexpr int kMaxJsonLineDepth = 100;

// Parses `line` as one JSON value. Anything that is not JSON is BadInput starting with `where` (the file
// and line number) and saying what is wrong: "not valid UTF-8 at byte 17", "NaN is not JSON",
// "1e999 is not a finite number", "not valid JSON at byte 9 (near 'x')" (bytes count from 1), or "nested
// deeper than 100 levels".
nlohmann::json parse_json_line(std::string_view line, const std::string& where);

}  // namespace sparrow
