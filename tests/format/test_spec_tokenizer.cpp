// docs/format.md "The tokenizer": the character classes, lower-casing and accent tables are written here
// again from the spec and compared with the tokenizer's behaviour on every code point up to U+3FFFF (which
// holds every listed range) and a sample above; then the UTF-8, WordPiece and encoding rules.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>

#include "data/text/tokenizer.h"

using namespace sparrow::data::text;

namespace {

struct Range {
  char32_t lo, hi;
};
bool in(char32_t cp, std::initializer_list<Range> ranges) {
  return std::any_of(ranges.begin(), ranges.end(), [&](const Range& r) { return cp >= r.lo && cp <= r.hi; });
}

// The spec's tables.
bool spec_whitespace(char32_t cp) {
  return in(cp, {{0x09, 0x0A}, {0x0D, 0x0D}, {0x20, 0x20}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A}, {0x202F, 0x202F},
                 {0x205F, 0x205F}, {0x3000, 0x3000}});
}
bool spec_control(char32_t cp) {
  if (cp == 0x09 || cp == 0x0A || cp == 0x0D) return false;
  return in(cp, {{0x00, 0x1F}, {0x7F, 0x9F}, {0xAD, 0xAD}, {0x600, 0x605}, {0x61C, 0x61C}, {0x6DD, 0x6DD}, {0x70F, 0x70F},
                 {0x180E, 0x180E}, {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064}, {0x2066, 0x206F}, {0xFEFF, 0xFEFF},
                 {0xFFF9, 0xFFFB}});
}
bool spec_punctuation(char32_t cp) {
  return in(cp, {{0x21, 0x2F}, {0x3A, 0x40}, {0x5B, 0x60}, {0x7B, 0x7E}, {0xA1, 0xA1}, {0xA7, 0xA7}, {0xAB, 0xAB},
                 {0xB6, 0xB7}, {0xBB, 0xBB}, {0xBF, 0xBF}, {0x37E, 0x37E}, {0x387, 0x387}, {0x55A, 0x55F}, {0x589, 0x58A},
                 {0x5BE, 0x5BE}, {0x5C0, 0x5C0}, {0x5C3, 0x5C3}, {0x5C6, 0x5C6}, {0x5F3, 0x5F4}, {0x609, 0x60D},
                 {0x61B, 0x61B}, {0x61E, 0x61F}, {0x66A, 0x66D}, {0x6D4, 0x6D4}, {0x964, 0x965}, {0x970, 0x970},
                 {0xE4F, 0xE4F}, {0xE5A, 0xE5B}, {0x2010, 0x2027}, {0x2030, 0x2043}, {0x2045, 0x2051}, {0x2053, 0x205E},
                 {0x207D, 0x207E}, {0x208D, 0x208E}, {0x2308, 0x230B}, {0x2329, 0x232A}, {0x2768, 0x2775},
                 {0x27C5, 0x27C6}, {0x27E6, 0x27EF}, {0x2983, 0x2998}, {0x29D8, 0x29DB}, {0x29FC, 0x29FD},
                 {0x2E00, 0x2E4F}, {0x3001, 0x3003}, {0x3008, 0x3011}, {0x3014, 0x301F}, {0x3030, 0x3030},
                 {0x303D, 0x303D}, {0x30A0, 0x30A0}, {0x30FB, 0x30FB}, {0xFE10, 0xFE19}, {0xFE30, 0xFE52},
                 {0xFE54, 0xFE61}, {0xFE63, 0xFE63}, {0xFE68, 0xFE68}, {0xFE6A, 0xFE6B}, {0xFF01, 0xFF03},
                 {0xFF05, 0xFF0A}, {0xFF0C, 0xFF0F}, {0xFF1A, 0xFF1B}, {0xFF1F, 0xFF20}, {0xFF3B, 0xFF3D},
                 {0xFF3F, 0xFF3F}, {0xFF5B, 0xFF5B}, {0xFF5D, 0xFF5D}, {0xFF5F, 0xFF65}});
}
bool spec_cjk(char32_t cp) {
  return in(cp, {{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xF900, 0xFAFF}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B73F},
                 {0x2B740, 0x2B81F}, {0x2B820, 0x2CEAF}, {0x2F800, 0x2FA1F}});
}
bool spec_mark(char32_t cp) {
  return in(cp, {{0x300, 0x36F}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF}, {0xFE20, 0xFE2F}});
}
char32_t spec_lower(char32_t cp) {
  if (in(cp, {{0x41, 0x5A}, {0xC0, 0xD6}, {0xD8, 0xDE}, {0x391, 0x3A1}, {0x3A3, 0x3AB}, {0x410, 0x42F}, {0xFF21, 0xFF3A}})) return cp + 0x20;
  if (in(cp, {{0x400, 0x40F}})) return cp + 0x50;
  if (cp == 0x130) return 'i';
  if (in(cp, {{0x100, 0x137}, {0x14A, 0x177}}) && cp % 2 == 0) return cp + 1;
  if (in(cp, {{0x139, 0x148}, {0x179, 0x17E}}) && cp % 2 == 1) return cp + 1;
  if (cp == 0x178) return 0xFF;
  if (cp == 0x386) return 0x3AC;
  if (in(cp, {{0x388, 0x38A}})) return cp + 0x25;
  if (cp == 0x38C) return 0x3CC;
  if (in(cp, {{0x38E, 0x38F}})) return cp + 0x3F;
  return cp;
}
char32_t spec_base(char32_t cp) {
  static const std::map<char, std::vector<Range>> kBases = {
      {'A', {{0xC0, 0xC5}, {0x100, 0x100}, {0x102, 0x102}, {0x104, 0x104}}},
      {'a', {{0xE0, 0xE5}, {0x101, 0x101}, {0x103, 0x103}, {0x105, 0x105}}},
      {'C', {{0xC7, 0xC7}, {0x106, 0x106}, {0x108, 0x108}, {0x10A, 0x10A}, {0x10C, 0x10C}}},
      {'c', {{0xE7, 0xE7}, {0x107, 0x107}, {0x109, 0x109}, {0x10B, 0x10B}, {0x10D, 0x10D}}},
      {'D', {{0x10E, 0x10E}}}, {'d', {{0x10F, 0x10F}}},
      {'E', {{0xC8, 0xCB}, {0x112, 0x112}, {0x114, 0x114}, {0x116, 0x116}, {0x118, 0x118}, {0x11A, 0x11A}}},
      {'e', {{0xE8, 0xEB}, {0x113, 0x113}, {0x115, 0x115}, {0x117, 0x117}, {0x119, 0x119}, {0x11B, 0x11B}}},
      {'G', {{0x11C, 0x11C}, {0x11E, 0x11E}, {0x120, 0x120}, {0x122, 0x122}}},
      {'g', {{0x11D, 0x11D}, {0x11F, 0x11F}, {0x121, 0x121}, {0x123, 0x123}}},
      {'H', {{0x124, 0x124}}}, {'h', {{0x125, 0x125}}},
      {'I', {{0xCC, 0xCF}, {0x128, 0x128}, {0x12A, 0x12A}, {0x12C, 0x12C}, {0x12E, 0x12E}, {0x130, 0x130}}},
      {'i', {{0xEC, 0xEF}, {0x129, 0x129}, {0x12B, 0x12B}, {0x12D, 0x12D}, {0x12F, 0x12F}}},
      {'J', {{0x134, 0x134}}}, {'j', {{0x135, 0x135}}}, {'K', {{0x136, 0x136}}}, {'k', {{0x137, 0x137}}},
      {'L', {{0x139, 0x139}, {0x13B, 0x13B}, {0x13D, 0x13D}}}, {'l', {{0x13A, 0x13A}, {0x13C, 0x13C}, {0x13E, 0x13E}}},
      {'N', {{0xD1, 0xD1}, {0x143, 0x143}, {0x145, 0x145}, {0x147, 0x147}}},
      {'n', {{0xF1, 0xF1}, {0x144, 0x144}, {0x146, 0x146}, {0x148, 0x148}}},
      {'O', {{0xD2, 0xD6}, {0x14C, 0x14C}, {0x14E, 0x14E}, {0x150, 0x150}}},
      {'o', {{0xF2, 0xF6}, {0x14D, 0x14D}, {0x14F, 0x14F}, {0x151, 0x151}}},
      {'R', {{0x154, 0x154}, {0x156, 0x156}, {0x158, 0x158}}}, {'r', {{0x155, 0x155}, {0x157, 0x157}, {0x159, 0x159}}},
      {'S', {{0x15A, 0x15A}, {0x15C, 0x15C}, {0x15E, 0x15E}, {0x160, 0x160}}},
      {'s', {{0x15B, 0x15B}, {0x15D, 0x15D}, {0x15F, 0x15F}, {0x161, 0x161}}},
      {'T', {{0x162, 0x162}, {0x164, 0x164}}}, {'t', {{0x163, 0x163}, {0x165, 0x165}}},
      {'U', {{0xD9, 0xDC}, {0x168, 0x168}, {0x16A, 0x16A}, {0x16C, 0x16C}, {0x16E, 0x16E}, {0x170, 0x170}, {0x172, 0x172}}},
      {'u', {{0xF9, 0xFC}, {0x169, 0x169}, {0x16B, 0x16B}, {0x16D, 0x16D}, {0x16F, 0x16F}, {0x171, 0x171}, {0x173, 0x173}}},
      {'W', {{0x174, 0x174}}}, {'w', {{0x175, 0x175}}},
      {'Y', {{0xDD, 0xDD}, {0x176, 0x176}, {0x178, 0x178}}}, {'y', {{0xFD, 0xFD}, {0xFF, 0xFF}, {0x177, 0x177}}},
      {'Z', {{0x179, 0x179}, {0x17B, 0x17B}, {0x17D, 0x17D}}}, {'z', {{0x17A, 0x17A}, {0x17C, 0x17C}, {0x17E, 0x17E}}},
  };
  for (const auto& [base, ranges] : kBases)
    for (const auto& r : ranges)
      if (cp >= r.lo && cp <= r.hi) return static_cast<char32_t>(base);
  return cp;
}

std::string utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

using Words = std::vector<std::string>;

// What the spec's basic tokenization makes of "x" + cp + "y" (x and y are letters of no class).
Words spec_words(char32_t cp, const BasicTokenizerOptions& o) {
  const std::string x = "x", y = "y";
  if (cp == 0 || cp == 0xFFFD || spec_control(cp)) return {x + y};
  if (spec_whitespace(cp)) return {x, y};
  if (o.tokenize_chinese_chars && spec_cjk(cp)) return {x, utf8(cp), y};
  if (o.do_lower_case) cp = spec_lower(cp);
  if (o.strip_accents) {
    if (spec_mark(cp)) return {x + y};
    cp = spec_base(cp);
  }
  if (spec_punctuation(cp)) return {x, utf8(cp), y};
  return {x + utf8(cp) + y};
}

}  // namespace

TEST_CASE("spec tokenizer: character classes, lower-casing and accents, code point by code point", "[format][spec][tokenizer]") {
  std::vector<char32_t> cps;
  for (char32_t cp = 0; cp <= 0x3FFFF; ++cp)
    if (cp < 0xD800 || cp > 0xDFFF) cps.push_back(cp);
  for (char32_t cp = 0x40000; cp <= 0x10FFFF; cp += 0x1001) cps.push_back(cp);
  cps.push_back(0x10FFFF);
  for (const bool lower : {false, true})
    for (const bool strip : {false, true})
      for (const bool cjk : {false, true}) {
        const BasicTokenizerOptions o{lower, strip, cjk};
        std::size_t mismatches = 0;
        for (const char32_t cp : cps) {
          if (basic_tokenize("x" + utf8(cp) + "y", o) == spec_words(cp, o)) continue;
          if (++mismatches <= 5) FAIL_CHECK("U+" << std::hex << static_cast<std::uint32_t>(cp) << " lower " << lower << " strip " << strip << " cjk " << cjk);
        }
        CHECK(mismatches == 0);
      }
}

TEST_CASE("spec tokenizer: invalid UTF-8 bytes are each dropped as U+FFFD", "[format][spec][tokenizer]") {
  const BasicTokenizerOptions o;
  CHECK(basic_tokenize("a\xC3" "b", o) == Words{"ab"});                 // cut short
  CHECK(basic_tokenize("a\xC0\xAF" "b", o) == Words{"ab"});             // overlong
  CHECK(basic_tokenize("a\xED\xA0\x80" "b", o) == Words{"ab"});         // surrogate
  CHECK(basic_tokenize("a\xF4\x90\x80\x80" "b", o) == Words{"ab"});     // above U+10FFFF
  CHECK(basic_tokenize("a\x80\xBF\xF8" "b", o) == Words{"ab"});         // stray continuation bytes, lead F8
  CHECK(basic_tokenize("a\xE2\x82" "b c", o) == Words{"ab", "c"});      // bad continuation: decoding resumes at 'b'
  CHECK(basic_tokenize("Caf\xC3\xA9 na\xC3\xAF" "ve", o) == Words{"cafe", "naive"});
}

TEST_CASE("spec tokenizer: WordPiece is greedy longest-match with ##, [UNK] for a word it cannot cover", "[format][spec][tokenizer]") {
  const Tokenizer t({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "play", "##ing", "##in", "##g", "un", "##play", "a", "##a", "\xC3\xA9", "##\xC3\xA9"},
                    BasicTokenizerOptions{true, false, true});
  CHECK(t.tokenize("playing") == Words{"play", "##ing"});  // not ##in ##g
  CHECK(t.tokenize("unplaying") == Words{"un", "##play", "##ing"});
  CHECK(t.tokenize("playx unplay") == Words{"[UNK]", "un", "##play"});  // the whole word, not "play [UNK]"
  CHECK(t.tokenize("ing") == Words{"[UNK]"});  // ##ing only continues a word
  // More than 100 code points: [UNK]; 100 two-byte code points are still 100.
  CHECK(t.tokenize(std::string(100, 'a')).size() == 100);
  CHECK(t.tokenize(std::string(101, 'a')) == Words{"[UNK]"});
  std::string e100;
  for (int i = 0; i < 100; ++i) e100 += "\xC3\xA9";
  CHECK(t.tokenize(e100).size() == 100);
  CHECK(t.tokenize(e100 + "\xC3\xA9") == Words{"[UNK]"});
}

TEST_CASE("spec tokenizer: max_seq_length counts [CLS] and [SEP]; a word may be cut between pieces", "[format][spec][tokenizer]") {
  const Tokenizer t({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "play", "##ing", "a"}, BasicTokenizerOptions{});
  const Encoding e = t.encode("a playing a", 4);
  CHECK(e.ids == std::vector<std::int64_t>{2, 6, 4, 3});  // [CLS] a play [SEP]: ##ing cut off
  CHECK(e.mask == std::vector<std::int64_t>{1, 1, 1, 1});
  const Encoding padded = t.encode("a", 5);
  CHECK(padded.ids == std::vector<std::int64_t>{2, 6, 3, 0, 0});
  CHECK(padded.mask == std::vector<std::int64_t>{1, 1, 1, 0, 0});
}
