// The ARM-state probe's view of a failover group: a small read-only interface the agent adapts
// its ARM client to (orchestrator/arm), plus a fake for tests. Kept here so probes do not depend
// on the ARM client.
#ifndef FOGHORN_PROBES_FAILOVER_GROUP_STATE_READER_H_
#define FOGHORN_PROBES_FAILOVER_GROUP_STATE_READER_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "foghorn/v1/common.pb.h"

namespace foghorn::probes {

// Names one server's view of a failover group in ARM:
// /subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Sql/servers/
// {server}/failoverGroups/{failover_group}.
struct FailoverGroupRef {
  std::string subscription;
  std::string resource_group;
  std::string server;
  std::string failover_group;

  // "sub/rg/server/fog", for logs and fake keys.
  std::string Key() const;
};

// What ARM says about the group as seen from `server`.
struct FailoverGroupState {
  // properties.replicationRole of this server.
  v1::Role role = v1::ROLE_UNSPECIFIED;
  // properties.replicationState, free-form (e.g. "CATCH_UP"); empty when ARM omits it.
  std::string replication_state;
};

// Reads a failover group's state. Implementations must not block the caller: they start the read
// and call `done` exactly once, from any thread, no later than about `deadline` (the probe's
// timeout). Status codes follow STYLE.md: kNotFound when the group or server does not exist,
// kUnavailable / kDeadlineExceeded when ARM could not be reached (the probe reports UNKNOWN),
// kUnauthenticated / kPermissionDenied for credential problems (UNKNOWN as well).
class FailoverGroupStateReader {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<FailoverGroupState>) &&>;
  virtual ~FailoverGroupStateReader() = default;
  virtual void Read(const FailoverGroupRef& ref, absl::Time deadline, Callback done) = 0;
};

// In-memory reader for tests: answers synchronously from a table set by the test; unknown refs
// get kNotFound. Thread-safe.
class FakeFailoverGroupStateReader final : public FailoverGroupStateReader {
 public:
  void Set(const FailoverGroupRef& ref, absl::StatusOr<FailoverGroupState> state);
  void Read(const FailoverGroupRef& ref, absl::Time deadline, Callback done) override;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::StatusOr<FailoverGroupState>> states_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_FAILOVER_GROUP_STATE_READER_H_
