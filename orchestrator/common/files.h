// Whole-file reads and crash-safe whole-file writes: config and runbook files, TLS material,
// token files, drill reports, the agent's ready file. (The state directory's own rules, private
// and owned by the agent, are state_dir.h's.)
#ifndef FOGHORN_ORCHESTRATOR_COMMON_FILES_H_
#define FOGHORN_ORCHESTRATOR_COMMON_FILES_H_

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace foghorn::common {

// Reads the whole file at `path`. Errors, each naming the path and the reason:
//  - NOT_FOUND when it does not exist (or a directory on the way is missing);
//  - PERMISSION_DENIED when it may not be opened or read;
//  - FAILED_PRECONDITION when it is a directory, or holds more than `max_bytes` bytes (when
//    given; nothing past max_bytes + 1 is read, so a huge file or an endless pipe costs nothing);
//  - UNAVAILABLE for any other I/O error.
// Blocks on the file system; thread-safe.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     std::optional<std::size_t> max_bytes = std::nullopt);

// Replaces the file at `path` with `content` so that a crash leaves either the old file or the
// new one, never a mix: writes a temporary file in the same directory, sets `mode` on it, fsyncs
// it, renames it over `path`, then fsyncs the directory. The directory must exist. UNAVAILABLE
// naming the path and the reason when a step fails (the temporary file is removed). Blocks on the
// file system; concurrent writers of one path leave one of their contents.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view content,
                                 mode_t mode = 0600);

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_FILES_H_
