#pragma once
// Hashes that give the same value on every machine, compiler and run: what deterministic splits are drawn
// from (std::hash and the std:: distributions are implementation-defined).
#include <cstdint>
#include <string_view>

namespace sparrow::data::text {

// FNV-1a 64 of the bytes.
inline uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// SplitMix64's finalizer: every input bit reaches every output bit, so keys that differ in one byte or one
// seed sort far apart.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace sparrow::data::text
