#include "text/unicode.h"

#include <algorithm>
#include <string>

namespace sparrow::text {

namespace {

struct Range {
  char32_t lo, hi;
};

#include "text/unicode_categories.inc"

template <size_t N>
bool in_sorted_ranges(char32_t cp, const Range (&ranges)[N]) {
  const auto* it = std::upper_bound(std::begin(ranges), std::end(ranges), cp,
                                    [](char32_t c, const Range& r) { return c < r.lo; });
  return it != std::begin(ranges) && cp <= (it - 1)->hi;
}

template <size_t N>
bool in_ranges(char32_t cp, const Range (&ranges)[N]) {
  for (const auto& r : ranges)
    if (cp >= r.lo && cp <= r.hi) return true;
  return false;
}

// Base letters of U+00C0..U+017F under NFD; '-' where there is no decomposition.
constexpr const char* kLatinBase =
    "AAAAAA-CEEEEIIII-NOOOOO--UUUUY--aaaaaa-ceeeeiiii-nooooo--uuuuy-y"
    "AaAaAaCcCcCcCcDd--EeEeEeEeEeGgGgGgGgHh--IiIiIiIiI---JjKk-LlLlLl-"
    "---NnNnNn---OoOoOo--RrRrRrSsSsSsSsTtTt--UuUuUuUuUuUuWwYyYZzZzZz-";
static_assert(std::char_traits<char>::length(kLatinBase) == 0x180 - 0xC0);

}  // namespace

std::vector<char32_t> utf8_decode(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    // Table 3-7 of the Unicode standard: the lead byte fixes the length and the range of the second
    // byte (which excludes overlong forms, surrogates and code points above U+10FFFF).
    int extra = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    char32_t cp = 0;
    if (b >= 0xC2 && b <= 0xDF) {
      extra = 1, cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      extra = 2, cp = b & 0x0F;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      extra = 3, cp = b & 0x07;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    // The longest prefix that could start a valid sequence is one ill-formed subpart: one U+FFFD.
    size_t k = 1;
    for (; k <= static_cast<size_t>(extra) && i + k < s.size(); ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < lo || c > hi) break;
      cp = (cp << 6) | (c & 0x3F);
      lo = 0x80, hi = 0xBF;
    }
    out.push_back(k == static_cast<size_t>(extra) + 1 ? cp : kReplacement);
    i += k;
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  // Decoding never yields U+FFFD for a valid sequence except for U+FFFD itself (EF BF BD).
  size_t replacements = 0;
  for (char32_t cp : utf8_decode(s)) replacements += cp == kReplacement;
  size_t encoded = 0;
  for (size_t at = s.find("\xEF\xBF\xBD"); at != std::string_view::npos; at = s.find("\xEF\xBF\xBD", at + 3)) ++encoded;
  return replacements == encoded;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_whitespace(char32_t cp) {
  static constexpr Range kSpace[] = {{' ', ' '},       {'\t', '\t'},     {'\n', '\n'},     {'\r', '\r'},
                                     {0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A}, {0x202F, 0x202F},
                                     {0x205F, 0x205F}, {0x3000, 0x3000}};
  return in_ranges(cp, kSpace);
}

bool is_control(char32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;  // whitespace, as in HF
  // Unicode categories Cc and Cf.
  static constexpr Range kControl[] = {{0x00, 0x1F},     {0x7F, 0x9F},     {0xAD, 0xAD},     {0x600, 0x605},
                                       {0x61C, 0x61C},   {0x6DD, 0x6DD},   {0x70F, 0x70F},   {0x180E, 0x180E},
                                       {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064}, {0x2066, 0x206F},
                                       {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB}};
  return in_ranges(cp, kControl);
}

bool is_punctuation(char32_t cp) {
  // HF treats every non-alphanumeric printable ASCII character as punctuation.
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126))
    return true;
  // Unicode category P* outside ASCII.
  static constexpr Range kPunct[] = {
      {0xA1, 0xA1},     {0xA7, 0xA7},     {0xAB, 0xAB},     {0xB6, 0xB7},     {0xBB, 0xBB},     {0xBF, 0xBF},
      {0x37E, 0x37E},   {0x387, 0x387},   {0x55A, 0x55F},   {0x589, 0x58A},   {0x5BE, 0x5BE},   {0x5C0, 0x5C0},
      {0x5C3, 0x5C3},   {0x5C6, 0x5C6},   {0x5F3, 0x5F4},   {0x609, 0x60D},   {0x61B, 0x61B},   {0x61E, 0x61F},
      {0x66A, 0x66D},   {0x6D4, 0x6D4},   {0x964, 0x965},   {0x970, 0x970},   {0xE4F, 0xE4F},   {0xE5A, 0xE5B},
      {0x2010, 0x2027}, {0x2030, 0x2043}, {0x2045, 0x2051}, {0x2053, 0x205E}, {0x207D, 0x207E}, {0x208D, 0x208E},
      {0x2308, 0x230B}, {0x2329, 0x232A}, {0x2768, 0x2775}, {0x27C5, 0x27C6}, {0x27E6, 0x27EF}, {0x2983, 0x2998},
      {0x29D8, 0x29DB}, {0x29FC, 0x29FD}, {0x2E00, 0x2E4F}, {0x3001, 0x3003}, {0x3008, 0x3011}, {0x3014, 0x301F},
      {0x3030, 0x3030}, {0x303D, 0x303D}, {0x30A0, 0x30A0}, {0x30FB, 0x30FB}, {0xFE10, 0xFE19}, {0xFE30, 0xFE52},
      {0xFE54, 0xFE61}, {0xFE63, 0xFE63}, {0xFE68, 0xFE68}, {0xFE6A, 0xFE6B}, {0xFF01, 0xFF03}, {0xFF05, 0xFF0A},
      {0xFF0C, 0xFF0F}, {0xFF1A, 0xFF1B}, {0xFF1F, 0xFF20}, {0xFF3B, 0xFF3D}, {0xFF3F, 0xFF3F}, {0xFF5B, 0xFF5B},
      {0xFF5D, 0xFF5D}, {0xFF5F, 0xFF65}};
  return in_ranges(cp, kPunct);
}

bool is_cjk(char32_t cp) {
  // The CJK Unified Ideographs blocks HF's _is_chinese_char lists.
  static constexpr Range kCjk[] = {{0x4E00, 0x9FFF},   {0x3400, 0x4DBF},   {0x20000, 0x2A6DF}, {0x2A700, 0x2B73F},
                                   {0x2B740, 0x2B81F}, {0x2B820, 0x2CEAF}, {0xF900, 0xFAFF},   {0x2F800, 0x2FA1F}};
  return in_ranges(cp, kCjk);
}

bool is_combining_mark(char32_t cp) {
  static constexpr Range kMarks[] = {{0x300, 0x36F}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF}, {0xFE20, 0xFE2F}};
  return in_ranges(cp, kMarks);
}

bool is_letter(char32_t cp) { return in_sorted_ranges(cp, kLetterRanges); }

bool is_number(char32_t cp) { return in_sorted_ranges(cp, kNumberRanges); }

bool is_regex_space(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
  static constexpr Range kSpace[] = {{0xA0, 0xA0},     {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029},
                                     {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}};
  return in_ranges(cp, kSpace);
}

char32_t to_lower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;
  if (cp >= 0x100 && cp <= 0x17F) {
    if (cp == 0x130) return 'i';
    if (cp == 0x178) return 0xFF;
    // Upper/lower pairs alternate; the parity flips at U+0139..U+0148 and U+0179..U+017E.
    const bool odd_upper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
    if (cp == 0x131 || cp == 0x138 || cp == 0x149 || cp == 0x17F) return cp;
    return (cp % 2 == (odd_upper ? 1u : 0u)) ? cp + 1 : cp;
  }
  if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) return cp + 32;
  if (cp == 0x386) return 0x3AC;
  if (cp >= 0x388 && cp <= 0x38A) return cp + 37;
  if (cp == 0x38C) return 0x3CC;
  if (cp == 0x38E || cp == 0x38F) return cp + 63;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  if (cp >= 0xFF21 && cp <= 0xFF3A) return cp + 32;
  return cp;
}

char32_t strip_accent(char32_t cp) {
  if (cp < 0xC0 || cp > 0x17F) return cp;
  const char base = kLatinBase[cp - 0xC0];
  return base == '-' ? cp : static_cast<char32_t>(base);
}

}  // namespace sparrow::text
