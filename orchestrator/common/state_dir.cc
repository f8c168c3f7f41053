#include "orchestrator/common/state_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace foghorn::common {

absl::Status PrepareStateDir(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::UnavailableError(absl::StrCat("state_dir ", dir, ": ", std::strerror(errno)));
    }
    std::error_code ec;
    std::filesystem::path p(dir);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::UnavailableError(
          absl::StrCat("state_dir ", dir, ": cannot create it: ", std::strerror(errno)));
    }
    if (stat(dir.c_str(), &st) != 0) {
      return absl::UnavailableError(absl::StrCat("state_dir ", dir, ": ", std::strerror(errno)));
    }
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("state_dir ", dir, " is not a directory"));
  }
  if (st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(
        absl::StrCat("state_dir ", dir, " is owned by uid ", st.st_uid, ", not by this agent (uid ",
                     geteuid(), "); refusing to keep the journal there"));
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "state_dir %s is writable by its group or by others (mode %04o): anyone who can write it "
        "can plant an operation; chmod 0700 it",
        dir, st.st_mode & 07777));
  }
  return absl::OkStatus();
}

absl::Status PrivateFile(const std::string& path) {
  if (chmod(path.c_str(), 0600) != 0 && errno != ENOENT) {
    return absl::UnavailableError(absl::StrCat(path, ": chmod 0600: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status CheckSecretFileMode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return absl::OkStatus();
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s can be read by its group or by others (mode %04o); it holds a secret: chmod 0600 it",
        path, st.st_mode & 07777));
  }
  return absl::OkStatus();
}

}  // namespace foghorn::common
