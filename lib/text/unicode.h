#pragma once
// The few Unicode facts the tokenizers need, without ICU: UTF-8
// decoding/encoding, character classes, simple lower-casing and accent
// stripping. Lower-casing covers Latin, Greek, Cyrillic and full-width Latin;
// accent stripping covers Latin-1, Latin Extended-A and combining marks, which
// is what the corpora Sparrow ships with contain. The general categories L and N
// come from generated tables (unicode_categories.inc).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sparrow::text {

constexpr char32_t kReplacement = 0xFFFD;

// Invalid or truncated sequences decode to U+FFFD, one per maximal ill-formed
// subpart (Unicode's recommended practice, which Python's and JavaScript's
// decoders follow, so text reaches the tokenizers as Hugging Face's would see it).
std::vector<char32_t> utf8_decode(std::string_view s);
bool is_valid_utf8(std::string_view s);
void utf8_append(std::string& out, char32_t cp);

bool is_whitespace(char32_t cp);
bool is_control(char32_t cp);
bool is_punctuation(char32_t cp);
bool is_cjk(char32_t cp);
bool is_combining_mark(char32_t cp);
// General categories L* and N*: the regular-expression classes \p{L} and \p{N}.
bool is_letter(char32_t cp);
bool is_number(char32_t cp);
// The regular-expression class \s as ECMAScript defines it (White_Space plus
// U+FEFF, without U+0085), which Hugging Face's JavaScript tokenizers use.
bool is_regex_space(char32_t cp);

char32_t to_lower(char32_t cp);
// The base letter of an accented Latin letter; other characters unchanged.
char32_t strip_accent(char32_t cp);

}  // namespace sparrow::text
