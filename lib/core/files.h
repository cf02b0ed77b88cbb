#pragma once
// File helpers. Every output Sparrow writes goes through write_file_atomic or
// StagedDir, so a failed run never leaves a half-written file or folder.
#include <filesystem>
#include <string>
#include <string_view>

namespace sparrow {

namespace fs = std::filesystem;

// Writes `content` to `path.tmp-<pid>` and renames it over `path`.
void write_file_atomic(const fs::path& path, std::string_view content);

// Reads a whole file; a missing or unreadable file is BadInput naming it.
std::string read_file(const fs::path& path);

// An output folder built under a temporary name (`<dir>.partial`) and renamed
// to its final name by commit(). Destroyed without commit(), it removes itself.
class StagedDir {
 public:
  explicit StagedDir(fs::path final_dir);
  ~StagedDir();
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;

  const fs::path& path() const { return staging_; }
  const fs::path& final_path() const { return final_; }
  // Replaces any previous folder of the same name with the staged one.
  void commit();

 private:
  fs::path final_;
  fs::path staging_;
  bool committed_ = false;
};

}  // namespace sparrow
