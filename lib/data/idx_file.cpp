#include "data/idx_file.h"

#include <zlib.h>

#include <limits>
#include <memory>
#include <string>

#include "core/errors.h"

namespace sparrow::data {

namespace {

constexpr uint8_t kUnsignedByteType = 0x08;
constexpr int kMaxRank = 4;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

// gzread handles plain files too (it passes uncompressed data through).
class Reader {
 public:
  explicit Reader(const std::filesystem::path& file) : name_(file.string()) {
    if (!std::filesystem::is_regular_file(file)) throw BadInput(name_ + ": IDX file not found");
    gz_.reset(gzopen(name_.c_str(), "rb"));
    if (!gz_) throw BadInput(name_ + ": cannot open IDX file");
    file_bytes_ = std::filesystem::file_size(file);
  }

  void read(void* dst, size_t n, const char* what) {
    size_t done = 0;
    auto* out = static_cast<unsigned char*>(dst);
    while (done < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
      const int got = gzread(gz_.get(), out + done, chunk);
      if (got < 0) {
        int errnum = 0;
        const char* msg = gzerror(gz_.get(), &errnum);
        throw BadInput(name_ + ": corrupt gzip data while reading " + what + " (" + msg + ")");
      }
      if (got == 0) {
        throw BadInput(name_ + ": file is truncated: expected " + std::to_string(n) + " bytes of " + what +
                       ", found " + std::to_string(done));
      }
      done += static_cast<size_t>(got);
    }
  }

  uint32_t read_u32_be(const char* what) {
    unsigned char b[4];
    read(b, 4, what);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
  }

  // Reading past the last byte makes zlib verify the gzip checksum.
  void expect_end() {
    unsigned char extra;
    const int got = gzread(gz_.get(), &extra, 1);
    if (got < 0) throw BadInput(name_ + ": corrupt gzip data (checksum mismatch)");
    if (got > 0) throw BadInput(name_ + ": unexpected bytes after the data the header announces");
  }

  const std::string& name() const { return name_; }
  uint64_t file_bytes() const { return file_bytes_; }
  uint64_t max_content_bytes() const {
    constexpr uint64_t kMaxDeflateRatio = 1032;
    return gzdirect(gz_.get()) ? file_bytes_ : file_bytes_ * kMaxDeflateRatio;
  }

 private:
  std::string name_;
  uint64_t file_bytes_ = 0;
  std::unique_ptr<gzFile_s, GzCloser> gz_;
};

}  // namespace

IdxArray read_idx(const std::filesystem::path& file, int64_t limit) {
  Reader in(file);
  unsigned char magic[4];
  in.read(magic, 4, "the header");
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != kUnsignedByteType || magic[3] == 0 || magic[3] > kMaxRank)
    throw BadInput(in.name() + ": not an IDX file of unsigned bytes (bad magic number)");

  IdxArray out;
  uint64_t total = 1;
  for (int i = 0; i < magic[3]; ++i) {
    const uint32_t d = in.read_u32_be("the header");
    if (d == 0) throw BadInput(in.name() + ": dimension " + std::to_string(i) + " is zero");
    out.dims.push_back(d);
    if (i > 0) total *= d;
    if (total > (uint64_t{1} << 32)) throw BadInput(in.name() + ": dimensions are implausibly large");
  }
  const bool limited = limit > 0 && limit < out.dims[0];
  if (limited) out.dims[0] = limit;
  total *= static_cast<uint64_t>(out.dims[0]);
  // Allocate only what the file can hold: its own size, or deflate's best ratio (1032:1) of it when gzipped.
  if (total > in.max_content_bytes())
    throw BadInput(in.name() + ": the header announces " + std::to_string(total) + " bytes of data, more than this " +
                   std::to_string(in.file_bytes()) + "-byte file can hold (the file is truncated or its header wrong)");
  out.values.resize(total);
  in.read(out.values.data(), out.values.size(), "the data");
  if (!limited) in.expect_end();
  return out;
}

}  // namespace sparrow::data
