#include "text/byte_level.h"

#include <array>

#include "text/unicode.h"

namespace sparrow::text {

namespace {

// 256 bytes: 188 printable ones stand for themselves, the other 68 for U+0100..U+0143.
constexpr char32_t kCharsEnd = 0x100 + 68;

struct ByteTable {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, kCharsEnd> to_byte{};
  ByteTable() {
    to_byte.fill(-1);
    // Printable Latin-1 bytes stand for themselves; the rest, in byte order, for U+0100, U+0101, ...
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t c = printable ? static_cast<char32_t>(b) : next++;
      to_char[static_cast<size_t>(b)] = c;
      to_byte[c] = static_cast<int16_t>(b);
    }
  }
};

const ByteTable& table() {
  static const ByteTable t;
  return t;
}

const char32_t* const kContractions[] = {U"s", U"t", U"re", U"ve", U"m", U"ll", U"d"};

}  // namespace

char32_t byte_to_char(uint8_t b) { return table().to_char[b]; }

int char_to_byte(char32_t c) { return c < kCharsEnd ? table().to_byte[c] : -1; }

std::string bytes_to_chars(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) utf8_append(out, byte_to_char(static_cast<uint8_t>(b)));
  return out;
}

std::string to_valid_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (char32_t cp : utf8_decode(text)) utf8_append(out, cp);
  return out;
}

std::vector<std::string_view> gpt2_pre_tokenize(std::string_view text) {
  const std::vector<char32_t> c = utf8_decode(text);
  const size_t n = c.size();
  // Byte offset of each code point, and of the end.
  std::vector<size_t> at(n + 1, 0);
  for (size_t i = 0, pos = 0; i < n; ++i) {
    at[i] = pos;
    pos += c[i] < 0x80 ? 1 : c[i] < 0x800 ? 2 : c[i] < 0x10000 ? 3 : 4;
    at[i + 1] = pos;
  }
  // Length of the run of `cls` starting at j.
  const auto run = [&](size_t j, auto cls) {
    size_t e = j;
    while (e < n && cls(c[e])) ++e;
    return e - j;
  };
  std::vector<std::string_view> pieces;
  size_t i = 0;
  while (i < n) {
    size_t len = 0;
    if (c[i] == '\'') {
      for (const char32_t* k : kContractions) {
        size_t m = 0;
        while (k[m] != 0 && i + 1 + m < n && c[i + 1 + m] == k[m]) ++m;
        if (k[m] == 0) {
          len = 1 + m;
          break;
        }
      }
    }
    // " ?X+" for X = \p{L}, \p{N}, [^\s\p{L}\p{N}], in that order; the optional space is tried first.
    const bool space = c[i] == ' ' && i + 1 < n;
    for (auto cls : {+[](char32_t cp) { return is_letter(cp); }, +[](char32_t cp) { return is_number(cp); },
                     +[](char32_t cp) { return !is_regex_space(cp) && !is_letter(cp) && !is_number(cp); }}) {
      if (len != 0) break;
      if (space && cls(c[i + 1])) {
        len = 1 + run(i + 1, cls);
      } else if (cls(c[i])) {
        len = run(i, cls);
      }
    }
    if (len == 0) {
      // c[i] is whitespace: \s+(?!\S) keeps the run's last space for the word that follows it, unless
      // the run is a single space or ends the text; then \s+ takes the whole run.
      const size_t r = run(i, is_regex_space);
      len = (i + r == n || r == 1) ? r : r - 1;
    }
    pieces.push_back(text.substr(at[i], at[i + len] - at[i]));
    i += len;
  }
  return pieces;
}

}  // namespace sparrow::text
