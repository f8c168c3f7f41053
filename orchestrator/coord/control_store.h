// ControlStore: shared control state (pause, approvals, cooldown anchors, the current outage:
// their meaning is the agent's) as JSON blobs under "control/<key>" (relative to the client's key
// prefix), with etcd's revisions for compare-and-set and a watch so every agent sees a change
// made through any other. Not attached to any lease: control state outlives the agent that wrote
// it.
#ifndef FOGHORN_ORCHESTRATOR_COORD_CONTROL_STORE_H_
#define FOGHORN_ORCHESTRATOR_COORD_CONTROL_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "orchestrator/coord/etcd_client.h"

namespace foghorn::coord {

struct ControlEntry {
  std::string key;   // without "control/"
  std::string json;  // empty for a deletion seen by a watch
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  bool deleted = false;
};

struct ControlSnapshot {
  std::vector<ControlEntry> entries;
  // The store's revision of the read: watch from revision + 1 to miss nothing.
  int64_t revision = 0;
};

// Thread-safe. `client` must outlive it. Keys are non-empty; JSON is checked on the way in and
// on the way out (a malformed blob read back is kInternal, never handed up). etcd errors as
// EtcdClient.
class ControlStore {
 public:
  explicit ControlStore(EtcdClient& client) : client_(client) {}

  // Writes unconditionally; returns the write's revision.
  absl::StatusOr<int64_t> Put(absl::string_view key, absl::string_view json);
  // Compare-and-set: writes only if the key's mod_revision is still `expected_mod_revision`
  // (0: only if the key does not exist). kAborted when it changed (re-read and decide again).
  absl::StatusOr<int64_t> PutIfUnchanged(absl::string_view key, absl::string_view json,
                                         int64_t expected_mod_revision);
  absl::StatusOr<std::optional<ControlEntry>> Get(absl::string_view key);
  absl::StatusOr<ControlSnapshot> List();
  // OK whether or not the key existed.
  absl::Status Delete(absl::string_view key);

  // Calls `callback` for every change under control/ from `start_revision` (List().revision + 1
  // to follow a snapshot). Entries with malformed JSON are dropped and reported to `on_error`.
  // compacted: see WatchUpdate.
  std::unique_ptr<WatchHandle> Watch(
      int64_t start_revision,
      std::function<void(const std::vector<ControlEntry>& changes, bool compacted)> callback,
      std::function<void(const absl::Status&)> on_error = nullptr);

  static std::string FullKey(absl::string_view key);

 private:
  EtcdClient& client_;
};

}  // namespace foghorn::coord

#endif  // FOGHORN_ORCHESTRATOR_COORD_CONTROL_STORE_H_
