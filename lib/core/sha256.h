#pragma once
// SHA-256 of a byte string as lowercase hex (FIPS 180-4), for recipe hashes.
#include <string>
#include <string_view>

namespace sparrow {

std::string sha256_hex(std::string_view data);

}  // namespace sparrow
