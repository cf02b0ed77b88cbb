#include "core/files.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <system_error>
#include <vector>

#include "core/errors.h"

namespace sparrow {

namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// Closes a file descriptor when it goes out of scope.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Writes all of `content` to `fd`; false (errno set) on a short or failed write.
bool write_all(int fd, std::string_view content) {
  while (!content.empty()) {
    const ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    content.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string write_failure(const fs::path& path, int err) {
  return path.string() + ": write failed: " + errno_text(err) + (err == ENOSPC || err == EDQUOT ? " (disk full?)" : "");
}

}  // namespace

void write_file_atomic(const fs::path& path, std::string_view content) {
  std::error_code ec;
  // A symlink is written through: the file it names is replaced, the link stays.
  fs::path target = path;
  if (fs::is_symlink(fs::symlink_status(path, ec))) {
    target = fs::weakly_canonical(path, ec);
    if (ec) throw BadInput(path.string() + ": cannot resolve the symbolic link: " + ec.message());
  }
  const auto status = fs::status(target, ec);
  if (fs::is_directory(status)) throw BadInput(path.string() + ": is a folder; expected the name of a file to write");
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    // A device, FIFO or socket is written in place: renaming over it would replace the node itself.
    const Fd out{::open(target.c_str(), O_WRONLY | O_CLOEXEC)};
    if (out.fd < 0) throw BadInput(path.string() + ": cannot open for writing: " + errno_text(errno));
    if (!write_all(out.fd, content)) throw BadInput(write_failure(path, errno));
    return;
  }
  fs::path tmp = target;
  tmp += ".tmp-" + std::to_string(::getpid());
  {
    const Fd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (out.fd < 0) throw BadInput(path.string() + ": cannot open for writing: " + errno_text(errno));
    // Flushed before the rename: otherwise a power loss may leave the new name on an empty file.
    if (!write_all(out.fd, content) || ::fsync(out.fd) != 0) {
      const int err = errno;
      fs::remove(tmp, ec);
      throw BadInput(write_failure(path, err));
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    throw BadInput(path.string() + ": cannot rename the temporary file into place: " + why);
  }
}

void sync_folder(const fs::path& dir) {
  const Fd folder{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (folder.fd < 0) throw BadInput(dir.string() + ": cannot open the folder: " + errno_text(errno));
  // EINVAL: a file system that has nothing to flush for folders.
  if (::fsync(folder.fd) != 0 && errno != EINVAL) throw BadInput(write_failure(dir, errno));
}

std::string read_file(const fs::path& path, std::uintmax_t max_bytes) {
  const Fd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (in.fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw BadInput(path.string() + ": cannot open (does the file exist?)");
    if (err == ELOOP) throw BadInput(path.string() + ": cannot open: a loop of symbolic links");
    throw BadInput(path.string() + ": cannot open: " + errno_text(err));
  }
  struct stat st {};
  struct statfs sfs {};
  if (::fstat(in.fd, &st) != 0) throw BadInput(path.string() + ": cannot read: " + errno_text(errno));
  const bool pseudo = ::fstatfs(in.fd, &sfs) == 0 && (sfs.f_type == PROC_SUPER_MAGIC || sfs.f_type == SYSFS_MAGIC);
  if (!S_ISREG(st.st_mode) || pseudo) {
    const char* what = S_ISDIR(st.st_mode) ? "a folder" : pseudo ? "a /proc or /sys file" : "a device, FIFO or socket";
    throw BadInput(path.string() + ": not a regular file (it is " + what + "); expected a file");
  }
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes)
    throw BadInput(path.string() + ": " + std::to_string(st.st_size) + " bytes, more than the " +
                   std::to_string(max_bytes) + " bytes a file of this kind may have");
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(in.fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw BadInput(path.string() + ": read failed: " + errno_text(errno));
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

namespace {

enum class FolderState { Absent, Empty, Ours };

std::string listing(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 5; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 5) out += ", and " + std::to_string(names.size() - 5) + " more";
  return out;
}

// What `dir` is, for an output of `kind`; throws BadInput (naming `flag`) when Sparrow must not use it.
// `staged`: a run's `.partial` folder, whose marker lists no entries while the run fills it.
FolderState inspect_output_folder(const fs::path& dir, const std::string& kind, const std::string& flag,
                                  bool staged = false) {
  std::error_code ec;
  const auto status = fs::symlink_status(dir, ec);
  const std::string where = flag + " " + dir.string();
  if (!fs::exists(status)) return FolderState::Absent;
  if (fs::is_symlink(status)) throw BadInput(where + ": is a symbolic link; give the folder it points to");
  if (!fs::is_directory(status)) throw BadInput(where + ": exists and is not a folder; choose a folder name");
  const fs::path here = fs::current_path(ec);
  const fs::path target = fs::weakly_canonical(dir, ec);
  if (!ec && !here.empty()) {
    const auto mismatch = std::mismatch(target.begin(), target.end(), here.begin(), here.end());
    if (mismatch.first == target.end())
      throw BadInput(where + ": is the current folder or one of its parents; choose a folder of its own");
  }
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e.path().filename().string());
  if (ec) throw BadInput(where + ": cannot list the folder: " + ec.message());
  if (entries.empty()) return FolderState::Empty;
  nlohmann::json marker;
  if (fs::is_regular_file(dir / kOutputMarker, ec))
    marker = nlohmann::json::parse(read_file(dir / kOutputMarker, 1 << 20), nullptr, /*allow_exceptions=*/false);
  if (!marker.is_object() || marker.value("kind", "") != kind)
    throw BadInput(where + ": a folder Sparrow did not write as a " + kind + " output (it holds " + listing(entries) +
                   "); Sparrow never replaces such a folder: choose another " + flag + ", or move it away");
  if (kind != "run" || staged) return FolderState::Ours;
  std::vector<std::string> foreign;
  const auto ours = marker.value("entries", nlohmann::json::array());
  for (const auto& name : entries)
    if (name != kOutputMarker && std::find(ours.begin(), ours.end(), name) == ours.end()) foreign.push_back(name);
  if (!foreign.empty())
    throw BadInput(where + ": holds files Sparrow did not write (" + listing(foreign) +
                   "); a new run would replace the folder: move them out, or choose another " + flag);
  return FolderState::Ours;
}

// `resume`: a staged run's checkpoints (StagedDir::keep_for_resume), when it has any.
void write_marker(const fs::path& dir, const std::string& kind, const nlohmann::json& entries,
                  const std::vector<std::string>& resume = {}) {
  nlohmann::json marker = {{"kind", kind}, {"written_by", "Sparrow " SPARROW_VERSION}};
  if (!entries.is_null()) marker["entries"] = entries;
  if (!resume.empty()) marker["resume"] = resume;
  write_file_atomic(dir / kOutputMarker, marker.dump(2) + "\n");
}

nlohmann::json entries_of(const fs::path& dir) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename() != kOutputMarker) entries.push_back(e.path().filename().string());
  return entries;
}

fs::path with_suffix(fs::path p, const char* suffix) {
  p += suffix;
  return p;
}

// The checkpoints a staged folder's marker names (keep_for_resume) that it still holds.
std::vector<std::string> resume_entries(const fs::path& staging) {
  std::error_code ec;
  std::vector<std::string> out;
  if (!fs::is_regular_file(staging / kOutputMarker, ec)) return out;
  const auto marker = nlohmann::json::parse(read_file(staging / kOutputMarker, 1 << 20), nullptr, false);
  if (!marker.is_object() || marker.value("kind", "") != "run") return out;
  for (const auto& e : marker.value("resume", nlohmann::json::array()))
    if (e.is_string() && fs::exists(staging / e.get<std::string>(), ec)) out.push_back(e.get<std::string>());
  return out;
}

}  // namespace

void claim_sweep_folder(const fs::path& dir, const std::string& flag) {
  if (inspect_output_folder(dir, "sweep", flag) == FolderState::Ours) return;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw BadInput(flag + " " + dir.string() + ": cannot create the folder: " + ec.message());
  write_marker(dir, "sweep", nullptr);
}

void mark_run_folder(const fs::path& dir) { write_marker(dir, "run", entries_of(dir)); }

void add_run_entry(const fs::path& dir, const std::string& name, const std::string& flag) {
  if (inspect_output_folder(dir, "run", flag) != FolderState::Ours)
    throw BadInput(flag + " " + dir.string() + ": not a run's output folder (it is missing or empty)");
  auto entries = nlohmann::json::parse(read_file(dir / kOutputMarker, 1 << 20))["entries"];
  if (std::find(entries.begin(), entries.end(), name) == entries.end()) entries.push_back(name);
  write_marker(dir, "run", entries);
}

StagedDir::StagedDir(fs::path final_dir, const std::string& flag, Staging mode)
    : final_(std::move(final_dir)), staging_(with_suffix(final_, ".partial")), flag_(flag) {
  // Checked before any work, so that a run never trains for an hour to find its folder refused.
  inspect_output_folder(final_, "run", flag_);
  const FolderState staged = inspect_output_folder(staging_, "run", flag_, /*staged=*/true);
  inspect_output_folder(with_suffix(final_, ".old"), "run", flag_);
  if (mode == Staging::Resume) {
    if (staged == FolderState::Absent)
      throw BadInput("--resume: " + staging_.string() + " does not exist: there is no unfinished run of " + flag_ + " " +
                     final_.string() + " to continue; run without --resume to start one");
    resume_entries_ = resume_entries(staging_);
    if (resume_entries_.empty())
      throw BadInput("--resume: " + staging_.string() +
                     " holds no checkpoint (its run stopped before writing one); run without --resume to start over");
    return;
  }
  if (staged == FolderState::Ours && !resume_entries(staging_).empty())
    throw BadInput(flag_ + " " + final_.string() + ": " + staging_.string() +
                   " holds an unfinished run that can continue from its last checkpoint: add --resume to continue it "
                   "(same recipe, data and binary), or remove " + staging_.string() + " to start over");
  std::error_code ec;
  fs::remove_all(staging_, ec);  // a killed run's leftover, with nothing to resume
  fs::create_directories(staging_, ec);
  if (ec) throw BadInput(staging_.string() + ": cannot create output folder: " + ec.message());
  write_marker(staging_, "run", nlohmann::json::array());
}

StagedDir::~StagedDir() {
  if (committed_ || !resume_entries_.empty()) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedDir::keep_for_resume(const std::string& entry) {
  if (std::find(resume_entries_.begin(), resume_entries_.end(), entry) != resume_entries_.end()) return;
  resume_entries_.push_back(entry);
  write_marker(staging_, "run", nlohmann::json::array(), resume_entries_);
  sync_folder(staging_);
}

bool StagedDir::resumable(const fs::path& final_dir) {
  return !resume_entries(with_suffix(final_dir, ".partial")).empty();
}

void StagedDir::commit() {
  std::error_code ec;
  const fs::path old = with_suffix(final_, ".old");
  // Checked again: the user may have put files there while the run trained.
  const FolderState previous = inspect_output_folder(final_, "run", flag_);
  if (previous == FolderState::Ours) inspect_output_folder(old, "run", flag_);
  resume_entries_.clear();
  mark_run_folder(staging_);  // a marker that names no resume entries any more
  if (previous == FolderState::Empty) fs::remove(final_, ec);
  if (previous == FolderState::Ours) {
    fs::remove_all(old, ec);
    fs::rename(final_, old, ec);
    if (ec) throw BadInput(final_.string() + ": cannot move the previous run aside to " + old.string() + ": " + ec.message());
  }
  fs::rename(staging_, final_, ec);
  if (ec) throw BadInput(final_.string() + ": cannot move the finished output into place: " + ec.message());
  committed_ = true;
}

}  // namespace sparrow
