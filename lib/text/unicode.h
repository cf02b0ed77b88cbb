#pragma once
// The few Unicode facts BERT's basic tokenizer needs, without ICU: UTF-8
// decoding/encoding, character classes, simple lower-casing and accent
// stripping. Lower-casing covers Latin, Greek, Cyrillic and full-width Latin;
// accent stripping covers Latin-1, Latin Extended-A and combining marks, which
// is what the corpora Sparrow ships with contain.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sparrow::text {

constexpr char32_t kReplacement = 0xFFFD;

// Invalid or truncated sequences decode to U+FFFD, one per offending byte.
std::vector<char32_t> utf8_decode(std::string_view s);
bool is_valid_utf8(std::string_view s);
void utf8_append(std::string& out, char32_t cp);

bool is_whitespace(char32_t cp);
bool is_control(char32_t cp);
bool is_punctuation(char32_t cp);
bool is_cjk(char32_t cp);
bool is_combining_mark(char32_t cp);

char32_t to_lower(char32_t cp);
// The base letter of an accented Latin letter; other characters unchanged.
char32_t strip_accent(char32_t cp);

}  // namespace sparrow::text
