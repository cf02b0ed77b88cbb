#pragma once
// GPT-2's byte-level alphabet: each of the 256 bytes stands for one printable
// character (the printable Latin-1 bytes for themselves, the others for U+0100
// onwards), so any byte string is a string of visible characters that a BPE
// vocabulary can spell. Also the GPT-2 pre-tokenization pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// matched by hand over code points (std::regex has no \p classes).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sparrow::text {

// The character byte `b` stands for.
char32_t byte_to_char(uint8_t b);
// The byte `c` stands for, or -1 when `c` is not one of the 256 characters.
int char_to_byte(char32_t c);
// The UTF-8 of the characters that stand for the bytes of `bytes`.
std::string bytes_to_chars(std::string_view bytes);

// `text` with every ill-formed UTF-8 subpart replaced by U+FFFD (unchanged when valid).
std::string to_valid_utf8(std::string_view text);

// The pieces of valid UTF-8 `text` that the GPT-2 pattern matches, in order, as
// views into `text`; together they cover it.
std::vector<std::string_view> gpt2_pre_tokenize(std::string_view text);

}  // namespace sparrow::text
