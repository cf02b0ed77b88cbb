#pragma once
// File helpers. Every output Sparrow writes goes through write_file_atomic or
// StagedDir, so a failed run never leaves a half-written file or folder.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace sparrow {

namespace fs = std::filesystem;

// Writes `content` to `path.tmp-<pid>`, flushes it to the disk (fsync) and renames it over `path`, so that
// neither a kill nor a power loss leaves half a file under `path`. A symbolic
// link is written through (its target is replaced); a device, FIFO or socket is
// written in place, never replaced; a folder is refused. Errors are BadInput.
void write_file_atomic(const fs::path& path, std::string_view content);

// Flushes a folder's entries (names created, renamed or removed in it) to the disk: what makes a rename
// durable. Errors are BadInput naming the folder.
void sync_folder(const fs::path& dir);

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
// itself, unless keep_for_resume() was called. The constructor refuses
// (BadInput naming `flag`), before any work, a `dir` that is a file, the
// current folder or one of its parents, a folder Sparrow did not write, or a
// run folder holding files Sparrow did not write. A previous run in `dir` is
// kept as `<dir>.old` (replacing an older one).
//
// Staging::Fresh starts a new `<dir>.partial`, replacing a killed run's leftover, but refuses one that holds
// a checkpoint to resume (the message names --resume). Staging::Resume continues the `<dir>.partial` such a
// run left, and refuses (naming --resume) when there is none; it writes nothing until the caller does.
enum class Staging { Fresh, Resume };

class StagedDir {
 public:
  StagedDir(fs::path final_dir, const std::string& flag, Staging mode = Staging::Fresh);
  ~StagedDir();
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;

  const fs::path& path() const { return staging_; }
  const fs::path& final_path() const { return final_; }
  // Names `entry` (inside the staged folder) as something a later run can continue from, once it exists: from
  // now on a failure keeps the staged folder, and while the entry exists a Fresh run refuses the folder.
  // Idempotent. The caller removes what the finished run must not carry before commit().
  void keep_for_resume(const std::string& entry);
  // Moves a previous run aside to `<dir>.old` and the staged one into place.
  void commit();

  // Whether `<final_dir>.partial` holds a checkpoint a Staging::Resume run can continue.
  static bool resumable(const fs::path& final_dir);

 private:
  fs::path final_;
  fs::path staging_;
  std::string flag_;
  std::vector<std::string> resume_entries_;
  bool committed_ = false;
};

}  // namespace sparrow
