#include "core/json_line.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/errors.h"

namespace sparrow {

namespace {

// Parses again to learn where and why the fast parse failed: nlohmann reports the position, the token it
// was reading and the error's id to a SAX handler, but only as prose to a DOM parse.
struct Diagnosis : nlohmann::json_sax<nlohmann::json> {
  std::size_t position = 0;  // bytes read when the error was found: the offending byte, counted from 1
  std::string token;
  int id = 0;
  bool utf8 = false;  // the lexer found a string holding bytes that are not UTF-8

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t at, const std::string& last_token, const nlohmann::detail::exception& ex) override {
    position = at;
    token = last_token;
    id = ex.id;
    utf8 = std::string_view(ex.what()).find("UTF-8") != std::string_view::npos;
    return false;
  }
};

bool is_continuation(unsigned char b) { return b >= 0x80 && b < 0xC0; }

std::string problem(std::string_view line, const Diagnosis& d) {
  constexpr int kNumberOverflow = 406;  // nlohmann's out_of_range.406: the number does not fit a double
  if (d.id == kNumberOverflow) return d.token + " is not a finite number";
  if (d.position == 0 || line.empty()) return "not valid JSON";
  const std::size_t at = std::min(d.position, line.size()) - 1;  // the offending byte, from 0
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(line[i]); };
  if (d.utf8) {
    // A sequence cut short is found at the byte after it: name the byte that starts it.
    std::size_t start = at;
    if (byte(start) < 0x80) {
      while (start > 0 && is_continuation(byte(start - 1))) --start;
      if (start > 0 && byte(start - 1) >= 0xC0) --start;
    }
    return fmt::format("not valid UTF-8 at byte {}", start + 1);
  }
  // NaN and Infinity, which many writers emit for floats: the word around the offending byte.
  const auto in_word = [&](std::size_t i) { return std::isalnum(byte(i)) || line[i] == '+' || line[i] == '-' || line[i] == '.'; };
  std::size_t begin = at, end = at;
  while (begin > 0 && in_word(begin - 1)) --begin;
  while (end < line.size() && in_word(end)) ++end;
  const std::string word(line.substr(begin, end - begin));
  std::string bare;
  for (const char c : word)
    if (c != '+' && c != '-') bare += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (bare == "nan" || bare == "inf" || bare == "infinity") return word + " is not JSON (JSON has no NaN or Infinity)";
  const std::string near = d.token.size() > 20 ? d.token.substr(d.token.size() - 20) : d.token;
  return fmt::format("not valid JSON at byte {} (near '{}')", at + 1, near);
}

}  // namespace

nlohmann::json parse_json_line(std::string_view line, const std::string& where) {
  // Each level costs memory: a line of a billion '[' would take tens of GB before it failed.
  const nlohmann::json::parser_callback_t limit_depth = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxJsonLineDepth) throw BadInput(fmt::format("{}: nested deeper than {} levels", where, kMaxJsonLineDepth));
    return true;
  };
  nlohmann::json j = nlohmann::json::parse(line, limit_depth, /*allow_exceptions=*/false);
  if (!j.is_discarded()) return j;
  Diagnosis d;
  nlohmann::json::sax_parse(line, &d);
  throw BadInput(where + ": " + problem(line, d));
}

}  // namespace sparrow
