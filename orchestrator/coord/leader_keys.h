// LeaderKeys: per failover group, one agent holds the key "leader/<group>" (under the client's
// key prefix), created in a Txn only when it does not exist and attached to that agent's session
// lease, so it goes when the agent stops keeping the lease alive. The holder's create_revision
// identifies its term: a later holder always has a larger one. WriteIntentIfLeader is the fence
// before a side effect (docs/coordination.md, "Fencing").
#ifndef FOGHORN_ORCHESTRATOR_COORD_LEADER_KEYS_H_
#define FOGHORN_ORCHESTRATOR_COORD_LEADER_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/coord/etcd_client.h"
#include "orchestrator/coord/session.h"

namespace foghorn::coord {

// Who holds a group's leader key.
struct LeaderInfo {
  std::string holder;  // the agent name (the key's value)
  int64_t create_revision = 0;
  int64_t lease = 0;
};

struct CampaignResult {
  bool won = false;  // true: this agent holds the key (newly or already)
  LeaderInfo leader;
};

// Thread-safe (all state is in etcd). `client`, `session` and `clock` must outlive it.
class LeaderKeys {
 public:
  LeaderKeys(EtcdClient& client, Session& session, const common::Clock& clock,
             std::string agent_name);

  // "leader/<group>", relative to the key prefix.
  static std::string LeaderKey(absl::string_view group);

  // Takes the group's leader key if nobody holds it: Txn(create_revision(key) == 0 ->
  // Put(key, agent name, session lease), else Get(key)). won = false with the current holder
  // when another agent holds it; won = true when this agent already held it with this session
  // (a retried campaign). kFailedPrecondition when the session is not valid (lost, or not
  // confirmed recently: see Session::Valid); etcd errors as EtcdClient.
  absl::StatusOr<CampaignResult> Campaign(absl::string_view group);

  // Deletes the leader key if it is still this term's (create_revision matches); OK either way.
  absl::Status Resign(absl::string_view group, int64_t create_revision);

  // The current holder, or nullopt when nobody holds the group.
  absl::StatusOr<std::optional<LeaderInfo>> Leader(absl::string_view group);

  // The fence: in one Txn, writes `value` at `intent_key` (relative to the key prefix; not
  // attached to the lease, so a successor finds it) only if the group's leader key still has
  // create_revision == my_create_revision, this agent's name and this session's lease. Returns the
  // write's revision. kFailedPrecondition ("no longer leader of group ...", naming the current
  // holder) when leadership moved or the key is gone; kFailedPrecondition too when the session is
  // not valid and a keep-alive cannot confirm it first. `intent_mod_revision` >= 0: also only if
  // the intent key's mod_revision is still that (0: the key must not exist), so a write never
  // replaces an intent the caller has not seen.
  absl::StatusOr<int64_t> WriteIntentIfLeader(absl::string_view group, int64_t my_create_revision,
                                              absl::string_view intent_key, absl::string_view value,
                                              int64_t intent_mod_revision = -1);

  const std::string& agent_name() const { return agent_name_; }

 private:
  // OK when the session is valid now, after one keep-alive if it was not.
  absl::Status CheckSession();

  EtcdClient& client_;
  Session& session_;
  const common::Clock& clock_;
  const std::string agent_name_;
};

}  // namespace foghorn::coord

#endif  // FOGHORN_ORCHESTRATOR_COORD_LEADER_KEYS_H_
