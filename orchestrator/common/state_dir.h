// The agent's state directory (journal, drill reports) holds the audit trail and what the agent
// will do next: anyone who can read it learns every step detail, anyone who can write it can
// plant an operation. PrepareStateDir creates it private (0700) and refuses one that others could
// write to or that belongs to another user; PrivateFile tightens a file to 0600.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_STATE_DIR_H_
#define FOGHORN_ORCHESTRATOR_COMMON_STATE_DIR_H_

#include <string>

#include "absl/status/status.h"

namespace foghorn::common {

// Creates `dir` (and missing parents) with mode 0700 when it does not exist. FAILED_PRECONDITION
// when it exists but is not a directory, is group- or world-writable, or is owned by another user
// than the effective one; UNAVAILABLE when it cannot be created or inspected.
absl::Status PrepareStateDir(const std::string& dir);

// Sets `path` to mode 0600 when it exists (no error when it does not). UNAVAILABLE on failure.
absl::Status PrivateFile(const std::string& path);

// FAILED_PRECONDITION naming the file when `path` (a token or credential file) can be read by
// its group or by others; OK otherwise (also when it does not exist: the reader reports that).
absl::Status CheckSecretFileMode(const std::string& path);

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_STATE_DIR_H_
