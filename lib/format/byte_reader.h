// A bounded little-endian cursor over untrusted bytes: every read checks what remains first, so a
// malformed file can make a read fail (a FormatError naming the field) but never run past the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "format/format.h"

namespace sparrow::format {

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size, std::string source)
      : data_(data), size_(size), source_(std::move(source)) {}

  std::size_t remaining() const { return size_ - pos_; }

  // `field` names what was being read, for the error.
  std::uint32_t u32(const std::string& field) { return read_le<std::uint32_t>(field); }
  std::uint64_t u64(const std::string& field) { return read_le<std::uint64_t>(field); }
  std::string_view bytes(std::size_t n, const std::string& field) {
    need(n, field);
    std::string_view out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }

 private:
  void need(std::size_t n, const std::string& field) const {
    if (n > remaining())
      throw FormatError(FormatErrc::truncated, source_ + ": " + field + ": needs " + std::to_string(n) +
                                                   " bytes at offset " + std::to_string(pos_) + ", " +
                                                   std::to_string(remaining()) + " remain");
  }
  template <class T>
  T read_le(const std::string& field) {
    need(sizeof(T), field);
    T v = 0;
    // Assembled byte by byte: correct on any host byte order and for unaligned positions.
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(data_[pos_ + i]) << (8 * i);
    pos_ += sizeof(T);
    return v;
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::string source_;
};

}  // namespace sparrow::format
