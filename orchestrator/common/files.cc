#include "orchestrator/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace foghorn::common {
namespace {

absl::Status ReadError(const std::string& path, int err) {
  std::string message = absl::StrCat("cannot read ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EISDIR:
      return absl::FailedPreconditionError(absl::StrCat(path, " is a directory"));
    default:
      return absl::UnavailableError(message);
  }
}

absl::Status WriteError(const std::string& path, absl::string_view step, int err) {
  return absl::UnavailableError(
      absl::StrCat("cannot write ", path, ": ", step, ": ", std::strerror(err)));
}

// Closes the fd when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now, returning close()'s result (a delayed write error shows up here).
  int Close() {
    int rc = close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     std::optional<std::size_t> max_bytes) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ReadError(path, errno);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return ReadError(path, errno);
  if (S_ISDIR(st.st_mode)) return ReadError(path, EISDIR);
  auto too_big = [&] {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is larger than ", *max_bytes, " bytes"));
  };
  if (max_bytes && S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) > *max_bytes) {
    return too_big();
  }
  std::string out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[64 * 1024];
  while (true) {
    // A file may grow while it is read, and a pipe has no size: the limit is checked as it goes.
    std::size_t want = sizeof(buf);
    if (max_bytes && *max_bytes - out.size() < want) want = *max_bytes - out.size() + 1;
    const ssize_t n = read(fd.get(), buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ReadError(path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (max_bytes && out.size() > *max_bytes) return too_big();
  }
  return out;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view content, mode_t mode) {
  const std::filesystem::path target(path);
  const std::string dir =
      target.has_parent_path() ? target.parent_path().string() : std::string(".");
  // A unique name beside the target (same file system, so the rename is atomic); mkstemp
  // creates it 0600 and O_EXCL, so no one else's file is ever truncated.
  std::string tmp = absl::StrCat(path, ".tmp.XXXXXX");
  Fd fd(mkostemp(tmp.data(), O_CLOEXEC));
  if (fd.get() < 0) return WriteError(path, "create a temporary file", errno);
  auto fail = [&](absl::string_view step, int err) {
    unlink(tmp.c_str());
    return WriteError(path, step, err);
  };
  if (fchmod(fd.get(), mode) != 0) return fail("chmod", errno);
  for (absl::string_view rest = content; !rest.empty();) {
    const ssize_t n = write(fd.get(), rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write", errno);
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (fsync(fd.get()) != 0) return fail("fsync", errno);
  if (fd.Close() != 0) return fail("close", errno);
  if (rename(tmp.c_str(), path.c_str()) != 0) return fail("rename", errno);
  // The rename is durable only once the directory entry is.
  Fd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) return WriteError(path, "open its directory", errno);
  if (fsync(dir_fd.get()) != 0) return WriteError(path, "fsync its directory", errno);
  return absl::OkStatus();
}

}  // namespace foghorn::common
