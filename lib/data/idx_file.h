#pragma once
// The IDX format of (Fashion-)MNIST, optionally gzip-compressed: a big-endian
// header (magic 0x0000 08 <rank>, then rank u32 dimensions) and u8 data.
// No LibTorch here.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace sparrow::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> values;  // first `limit` items when read with a limit
};

// Reads at most `limit` items along the first dimension (0: all). A missing,
// truncated or corrupt file is BadInput naming the file and what is wrong.
IdxArray read_idx(const std::filesystem::path& file, int64_t limit = 0);

}  // namespace sparrow::data
