#pragma once
// File helpers. Every output Sparrow writes goes through write_file_atomic or
// StagedDir, so a failed run never leaves a half-written file or folder.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace sparrow {

namespace fs = std::filesystem;

// Writes `content` to `path.tmp-<pid>` and renames it over `path`. A symbolic
// link is written through (its target is replaced); a device, FIFO or socket is
// written in place, never replaced; a folder is refused. Errors are BadInput.
void write_file_atomic(const fs::path& path, std::string_view content);

// Reads a whole regular file of at most `max_bytes`. Anything else (missing,
// a folder, a device, a /proc file, a symlink loop, too large) is BadInput
// naming the file and what was expected.
std::string read_file(const fs::path& path, std::uintmax_t max_bytes = UINTMAX_MAX);

// Sparrow's output folders carry this file, naming their kind ("run" or
// "sweep") and, for a run, every entry Sparrow put there, so that Sparrow only
// ever replaces or deletes what it wrote itself.
inline constexpr const char* kOutputMarker = ".sparrow-output.json";

// Makes `dir` a sweep's output folder: creates it (with its marker) if it does
// not exist or is empty, accepts a sweep folder Sparrow wrote, and refuses
// anything else (BadInput naming `flag`).
void claim_sweep_folder(const fs::path& dir, const std::string& flag);

// Marks `dir`, a folder Sparrow filled itself outside a StagedDir (a sweep
// point's cached starting model), as a run holding what it holds now.
void mark_run_folder(const fs::path& dir);

// Records `name` among the entries Sparrow wrote in the run folder `dir` (one it adds to a finished run, such as
// a regenerated report.html), so that a later run may replace it. BadInput naming `flag` when `dir` is not a run
// folder Sparrow wrote, or holds files it did not write.
void add_run_entry(const fs::path& dir, const std::string& name, const std::string& flag);

// A run's output folder built under a temporary name (`<dir>.partial`) and
// renamed to its final name by commit(). Destroyed without commit(), it removes
// itself. The constructor refuses (BadInput naming `flag`), before any work,
// a `dir` that is a file, the current folder or one of its parents, a folder
// Sparrow did not write, or a run folder holding files Sparrow did not write.
// A previous run in `dir` is kept as `<dir>.old` (replacing an older one).
class StagedDir {
 public:
  StagedDir(fs::path final_dir, const std::string& flag);
  ~StagedDir();
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;

  const fs::path& path() const { return staging_; }
  const fs::path& final_path() const { return final_; }
  // Moves a previous run aside to `<dir>.old` and the staged one into place.
  void commit();

 private:
  fs::path final_;
  fs::path staging_;
  std::string flag_;
  bool committed_ = false;
};

}  // namespace sparrow
