// Coordinator: the one component the agent asks about coordination (docs/coordination.md, "The
// coordinator"). It owns the etcd client and the agent's session, registers the agent under
// agents/<name> (lease-bound), campaigns for and resigns the leader keys of the groups the agent
// watches (placement by PreferredAgent, a fallback so no group stays leaderless, never handing a
// busy group off), publishes the agent's verdicts under its lease, follows everything under the
// key prefix with one watch into a local cache, and re-creates a lost session by itself.
//
// The agent's control loop only calls the non-blocking methods (Get, Controls, PublishVerdict,
// SetGroups, SetBusy): they read or queue under a mutex and never touch the network. The
// blocking ones (FenceBeforeArm, ReadIntent, ClearIntent, PutControl) run on worker threads.
//
// Keys, relative to the configured key prefix:
//   agents/<agent>                      {"agent","vantage"}                 session lease
//   leader/<group>                      the agent name (LeaderKeys)         session lease
//   verdicts/<group>/<target>/<agent>   the agent's verdict (JSON)          session lease
//   intents/<group>                     the leader's operation intent       no lease
//   control/<key>                       shared control state (ControlStore) no lease
#ifndef FOGHORN_ORCHESTRATOR_COORD_COORDINATOR_H_
#define FOGHORN_ORCHESTRATOR_COORD_COORDINATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "foghorn/v1/common.pb.h"
#include "foghorn/v1/probe.pb.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/coord/etcd_client.h"
#include "orchestrator/coord/quorum.h"

namespace foghorn::coord {

struct CoordinatorOptions {
  EtcdOptions etcd;
  // This agent's name (unique among the agents; no '/'), its vantage, and every configured
  // vantage (the quorum's electorate; the default quorum is a majority of them).
  std::string agent_name;
  std::string vantage;
  std::vector<std::string> vantages;
  // Quorum details (QuorumRule): a verdict older than this abstains (zero: the lease alone decides
  // liveness); the impairment guard.
  absl::Duration max_verdict_age = absl::ZeroDuration();
  double impairment_fraction = 1.0;
  int impairment_min_targets = 2;
  // Re-creating a lost session (or the first one, when etcd was down at Start): the wait after a
  // failed attempt starts at retry_initial and doubles up to retry_max.
  absl::Duration retry_initial = absl::Milliseconds(100);
  absl::Duration retry_max = absl::Seconds(2);
  // How often the coordinator's thread re-checks leadership, flushes verdicts and refreshes its
  // metrics when nothing wakes it. Zero: min(session_ttl / 4, 1s).
  absl::Duration reconcile_interval = absl::ZeroDuration();
};

// A consistent view of one group's coordination as of `now`.
struct GroupCoordination {
  // Always true from a Coordinator; an agent that runs alone reports enabled = false.
  bool enabled = true;
  // No valid session, or etcd unreachable: HOLD COORDINATION_LOST. When lost, leader is false.
  bool lost = false;
  std::string lost_reason;
  // This agent holds the group's leader key with its current session, and the session is
  // Valid(now).
  bool leader = false;
  // Who holds the key (empty: nobody) and its term (the key's create_revision).
  std::string leader_name;
  int64_t leader_revision = 0;
  // EvaluateQuorum over the live agents' published verdicts on the group's primary and secondary
  // server. outage_start and the votes' times are on this agent's Clock::Now() timeline.
  QuorumResult primary;
  QuorumResult secondary;
  // agents/<name> keys present (this agent included once registered).
  int live_agents = 0;
  // The most recently published replication-lag sample of the group among live agents, if any.
  std::optional<double> lag_seconds;
  absl::Time lag_published_at = absl::InfinitePast();
  // intents/<group> as last seen (FenceBeforeArm's JSON; empty when there is none).
  std::string intent_json;
};

// What the coordinator's thread does about one group's leader key. Pure: see DecideLeadership.
enum class LeadershipAction { kNone, kCampaign, kResign };

struct LeadershipView {
  std::string group;
  std::string self;
  // agents/<name> keys present (self included once registered).
  std::vector<std::string> live_agents;
  // Whether this agent still watches the group (SetGroups).
  bool watched = true;
  // The key's holder ("" when nobody) and whether it is this agent under its current session.
  std::string holder;
  bool held_by_self = false;
  // An operation runs for the group on this agent (SetBusy).
  bool busy = false;
  // When this agent first saw the key empty (InfiniteFuture while it is held).
  absl::Time empty_since = absl::InfiniteFuture();
  // How long a key may stay empty before any agent campaigns (the session TTL).
  absl::Duration fallback_after = absl::Seconds(10);
};

// The placement rule (docs/coordination.md): campaign for an empty key when this agent is the
// preferred live agent (PreferredAgent) of a watched group, or when the key has been empty for
// at least `fallback_after` (placement views may differ for a moment; a group never stays
// leaderless). Resign a held key when this agent is not busy and the group is unwatched or
// another live agent is preferred. Otherwise nothing.
LeadershipAction DecideLeadership(const LeadershipView& view, absl::Time now);

// The short key form of a probe target: "primary", "secondary", "listener_rw", "listener_ro".
absl::string_view TargetKeyName(v1::ProbeTarget target);

// Thread-safe. Threads: its own (sessions, campaigns, verdict writes), the session's keep-alive
// thread and one watch thread. `clock` must outlive it; `metrics` may be null.
class Coordinator {
 public:
  Coordinator(CoordinatorOptions options, const common::Clock& clock, common::Logger logger,
              common::MetricsRegistry* metrics);
  // Stop().
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Checks the options (kInvalidArgument naming the field: nothing is started), creates the
  // session, registers agents/<name>, reads everything under the prefix and starts the watch;
  // returns once that first sync is done (OK) or failed (kUnavailable / kDeadlineExceeded: etcd
  // not reachable). In both cases the coordinator keeps going on its own thread afterwards,
  // retrying with backoff, re-creating a lost session, re-registering and campaigning again;
  // until then Get() reports lost. kFailedPrecondition when called twice.
  absl::Status Start();
  // Stops the threads and revokes the lease (this agent's leader keys, verdicts and agents key
  // vanish at once, so other agents take its groups without waiting for the TTL). Idempotent.
  void Stop();

  // The groups this agent watches. Campaigning follows DecideLeadership; a group no longer
  // listed is resigned (unless busy) and this agent's verdicts on it are deleted.
  void SetGroups(std::vector<std::string> group_ids);
  // The runbook's vantage_quorum for a group (<= 0: a majority of the configured vantages).
  void SetVantageQuorum(const std::string& group, int vantage_quorum);
  // While busy (an operation runs for the group) this agent never resigns the group. The term
  // it leads the group under when it turns busy is the operation's: FenceBeforeArm refuses it
  // under any other term (e.g. the lease was lost and the key won again meanwhile).
  void SetBusy(const std::string& group, bool busy);

  // Non-blocking: records this agent's verdict on one target of a group and queues its write
  // (coalesced per key; written under the lease by the coordinator's thread, and written again
  // under a new session). Get() sees it at once. `failure_streak_start` is wall-clock time.
  void PublishVerdict(const std::string& group, v1::ProbeTarget target, v1::Verdict verdict,
                      absl::Time failure_streak_start, std::optional<double> lag_seconds);

  // Non-blocking, from the cache. A group this agent does not watch still gets its quorum and
  // leader fields.
  GroupCoordination Get(const std::string& group, absl::Time now) const;

  // Blocking (a worker, never the loop): the fence before an ARM side effect. In one Txn writes
  // intents/<group> = intent_json only while this agent's leader key of `group` is still the term
  // it holds (create_revision, value and lease: LeaderKeys::WriteIntentIfLeader) and the session
  // is valid (after one keep-alive if its validity ran out). kFailedPrecondition naming the
  // current holder when this agent does not lead the group (or its session is lost);
  // kUnavailable when etcd cannot be reached; kInvalidArgument for JSON that does not parse.
  // `check` (optional) is shown the group's current intent, read fresh from etcd (nullopt when
  // there is none), and refuses the write with its own status; the write then also requires the
  // intent to be unchanged since that read.
  using IntentCheck = std::function<absl::Status(const std::optional<std::string>& current)>;
  absl::Status FenceBeforeArm(const std::string& group, const std::string& intent_json,
                              const IntentCheck& check = nullptr);
  // Blocking: intents/<group>, or nullopt. kUnavailable when etcd cannot be reached.
  absl::StatusOr<std::optional<std::string>> ReadIntent(const std::string& group);
  // Blocking, fenced like FenceBeforeArm: deletes intents/<group> (OK when absent).
  absl::Status ClearIntent(const std::string& group);

  // Blocking: control/<key> = json (ControlStore::Put). kInvalidArgument for bad JSON or an
  // empty key; kUnavailable when etcd cannot be reached.
  absl::Status PutControl(const std::string& key, const std::string& json);
  // Blocking: deletes control/<key> (OK when absent). kUnavailable when etcd cannot be reached.
  absl::Status DeleteControl(const std::string& key);
  // Non-blocking: whether the cache holds a full read of etcd (since the first Start or resync
  // succeeded; a later loss keeps the last state read).
  bool Synced() const;
  // Non-blocking: every control/<key> in the cache, key without "control/".
  std::map<std::string, std::string> Controls() const;

  // Called on the coordinator's or the watch thread, never under the coordinator's lock, when
  // anything about a group changes (its leader key, other agents' verdicts on it) with the group
  // id, or with "" when every group may be affected (agents joined or left, control state, a new
  // session, a resync). Must only post (e.g. to the control loop). Set it before Start().
  void SetOnChange(std::function<void(const std::string& group)> on_change);

  const std::string& agent_name() const { return options_.agent_name; }

 private:
  struct SessionState;
  class CountingClient;  // counts writes and keep-alives, remembers the last successful call
  struct VerdictRecord {
    std::string agent;
    std::string vantage;
    v1::Verdict verdict = v1::VERDICT_UNSPECIFIED;
    absl::Time streak_start_wall = absl::InfinitePast();
    absl::Time published_wall = absl::InfinitePast();
    std::optional<double> lag_seconds;
    int64_t lease = 0;
    int64_t mod_revision = 0;
  };
  struct AgentRecord {
    std::string vantage;
    int64_t lease = 0;
  };
  struct LeaderRecord {
    std::string holder;  // "" after a deletion (kept as a tombstone for revision ordering)
    int64_t create_revision = 0;
    int64_t lease = 0;
    int64_t mod_revision = 0;
  };
  struct ControlRecord {
    std::string json;
    bool deleted = false;
    int64_t mod_revision = 0;
  };
  struct Counts {
    int opinion = 0;
    int down = 0;
  };
  using TargetMap = std::map<std::string, std::map<std::string, VerdictRecord>>;  // target->agent

  void Run();
  // Creates a session, registers, takes a snapshot and starts the watch. Coordinator thread (or
  // Start, before the thread exists).
  absl::Status Connect();
  absl::Status Resync(const std::shared_ptr<SessionState>& state);
  void DropSession();
  void FlushVerdicts(const std::shared_ptr<SessionState>& state);
  void Reconcile(const std::shared_ptr<SessionState>& state);
  void UpdateMetrics();
  // The watchdog thread: notifies every group when coordination is lost or regained by time.
  void WatchLost();
  void OnWatch(const WatchUpdate& update);
  void Notify(const std::set<std::string>& groups);
  void Wake();

  // Cache updates; each returns the group affected ("" for all, nullopt for none).
  std::optional<std::string> ApplyKvLocked(const KeyValue& kv, bool deleted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetRecordLocked(const std::string& group, const std::string& target, VerdictRecord r)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseRecordLocked(const std::string& group, const std::string& target,
                         const std::string& agent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool ImpairedLocked(const std::string& agent) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  QuorumResult EvaluateLocked(const std::string& group, const TargetMap* targets,
                              absl::string_view target, int vantage_quorum, absl::Time now) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::string LostReasonLocked(absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  std::shared_ptr<SessionState> state() const;
  // kUnavailable / kFailedPrecondition unless the session is valid now (one keep-alive first if
  // its validity ran out).
  absl::Status CheckSessionFor(const SessionState& state, absl::string_view what) const;
  // This agent's term of `group` (create_revision), re-read from etcd if the cache disagrees.
  absl::StatusOr<int64_t> MyTerm(const SessionState& state, const std::string& group);

  const CoordinatorOptions options_;
  const common::Clock& clock_;
  common::Logger logger_;
  common::MetricsRegistry* const metrics_;
  absl::Duration ttl_;
  absl::Duration tick_;

  // Set in Start, then read-only. client_ is the counting wrapper around the real client.
  std::unique_ptr<CountingClient> client_;

  // Only the coordinator's thread (and Start/Stop, when it does not run) touch these.
  std::unique_ptr<WatchHandle> watch_;
  std::thread thread_;
  std::thread watchdog_;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool resync_needed_ ABSL_GUARDED_BY(mu_) = false;
  bool session_lost_ ABSL_GUARDED_BY(mu_) = false;
  // What UpdateMetrics last saw (a change notifies every group).
  bool reported_lost_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<SessionState> state_ ABSL_GUARDED_BY(mu_);
  bool synced_ ABSL_GUARDED_BY(mu_) = false;
  int64_t snapshot_revision_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  std::function<void(const std::string&)> on_change_ ABSL_GUARDED_BY(mu_);

  std::vector<std::string> groups_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> quorum_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> busy_ ABSL_GUARDED_BY(mu_);
  // The term (leader key create_revision) this agent held when a group turned busy (0: it did
  // not lead it then): the fence refuses an operation decided under another term.
  std::map<std::string, int64_t> busy_term_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> empty_since_ ABSL_GUARDED_BY(mu_);

  std::map<std::string, AgentRecord> agents_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, LeaderRecord> leaders_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ControlRecord> controls_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ControlRecord> intents_ ABSL_GUARDED_BY(mu_);  // by group
  // group -> target -> agent. This agent's own records are the local ones (PublishVerdict).
  std::map<std::string, TargetMap> verdicts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Counts> counts_ ABSL_GUARDED_BY(mu_);  // per agent, for impairment
  // This agent's verdict keys (group, target) still to write (write = true) or delete, with the
  // sequence number of the latest change (a write that raced a newer change stays pending).
  struct Pending {
    bool write = true;
    uint64_t seq = 0;
  };
  std::map<std::pair<std::string, std::string>, Pending> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t pending_seq_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace foghorn::coord

#endif  // FOGHORN_ORCHESTRATOR_COORD_COORDINATOR_H_
