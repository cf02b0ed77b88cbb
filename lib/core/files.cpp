#include "core/files.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <system_error>

#include "core/errors.h"

namespace sparrow {

void write_file_atomic(const fs::path& path, std::string_view content) {
  fs::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw BadInput(path.string() + ": cannot open for writing");
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw BadInput(path.string() + ": write failed (disk full?)");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw BadInput(path.string() + ": cannot rename temporary file into place: " + ec.message());
  }
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput(path.string() + ": cannot open (does the file exist?)");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw BadInput(path.string() + ": read failed");
  return ss.str();
}

StagedDir::StagedDir(fs::path final_dir) : final_(std::move(final_dir)) {
  staging_ = final_;
  staging_ += ".partial";
  std::error_code ec;
  fs::remove_all(staging_, ec);
  fs::create_directories(staging_, ec);
  if (ec) throw BadInput(staging_.string() + ": cannot create output folder: " + ec.message());
}

StagedDir::~StagedDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedDir::commit() {
  std::error_code ec;
  fs::path old = final_;
  old += ".old";
  fs::remove_all(old, ec);
  if (fs::exists(final_)) {
    fs::rename(final_, old, ec);
    if (ec) throw BadInput(final_.string() + ": cannot move the previous output aside: " + ec.message());
  }
  fs::rename(staging_, final_, ec);
  if (ec) throw BadInput(final_.string() + ": cannot move the finished output into place: " + ec.message());
  committed_ = true;
  fs::remove_all(old, ec);
}

}  // namespace sparrow
