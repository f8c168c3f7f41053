// GroupView: everything the decision engine knows about one failover group at one instant, as
// assembled by the agent from the health tracker (probes/), the ARM client's last read, the
// operation executor and the control API (pause, approvals). Plain data; no behaviour.
#ifndef FOGHORN_ORCHESTRATOR_DECISION_GROUP_VIEW_H_
#define FOGHORN_ORCHESTRATOR_DECISION_GROUP_VIEW_H_

#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "foghorn/v1/common.pb.h"

namespace foghorn::decision {

// The health tracker's verdict for one side of the group.
struct TargetHealth {
  foghorn::v1::Verdict verdict = foghorn::v1::VERDICT_UNKNOWN;
  // Start of the current failure streak: when the verdict last turned UNHEALTHY. Only meaningful
  // while verdict == VERDICT_UNHEALTHY.
  absl::Time unhealthy_since = absl::InfinitePast();
};

// The last replication lag sampled while the primary was reachable, and where it came from.
struct LagSample {
  LagSample() = default;
  LagSample(absl::Duration lag_in, absl::Time sampled_at_in, std::string source_in = "")
      : lag(lag_in), sampled_at(sampled_at_in), source(std::move(source_in)) {}

  absl::Duration lag = absl::ZeroDuration();
  absl::Time sampled_at = absl::InfinitePast();
  // Where the sample came from, for the data-loss reason text, e.g. "azure_metric
  // replication_lag_seconds", "http probe lag", "vantage (coordination)", "last known (journal)".
  // Empty: not said.
  std::string source;
};

// Which server holds which role, as last read from ARM. Empty names mean never read.
struct Roles {
  std::string primary_server;
  std::string secondary_server;
};

// A failover the executor is carrying out for this group right now.
struct OperationInFlight {
  foghorn::v1::FailoverKind kind = foghorn::v1::FAILOVER_KIND_UNSPECIFIED;
  absl::Time started_at = absl::InfinitePast();
};

enum class AttemptOutcome {
  kSucceeded,
  // e.g. PlannedFailoverTimedOut, or the primary unreachable for the sync.
  kFailed,
};

// The most recent planned failover attempt for this group.
struct PlannedAttempt {
  absl::Time finished_at = absl::InfinitePast();
  AttemptOutcome outcome = AttemptOutcome::kFailed;
  // The ARM error code when it failed, e.g. "PlannedFailoverTimedOut".
  std::string error_code;
};

// A human's approval, granted through the control API for one kind of failover. An approval of
// FORCED also covers TRY_PLANNED_BEFORE_FORCED and the reverse (both may lose data); an approval of
// PLANNED covers planned only; AUTO covers whatever the ladder decides. It applies only to the
// outage during which it was granted.
struct Approval {
  foghorn::v1::FailoverKind kind = foghorn::v1::FAILOVER_KIND_UNSPECIFIED;
  absl::Time granted_at = absl::InfinitePast();
  absl::Time expires_at = absl::InfinitePast();
  // Break-glass: accept a forced failover whose data-loss estimate exceeds the budget, or is
  // unknown. Always audited by the caller.
  bool allow_data_loss_over_budget = false;
};

// What coordination with other agents (etcd, docs/coordination.md) says about a group. Absent
// when the agent runs alone.
struct CoordinationView {
  // No valid etcd session: nothing that needs leadership may start (COORDINATION_LOST).
  bool lost = false;
  std::string lost_reason;
  // This agent holds the group's leader key; only the leader acts.
  bool leader = false;
  std::string leader_name;
  // The live vantages' verdict on the primary. kConfirmedDown is folded into `primary` by the
  // agent (its unhealthy_since is the quorum's start); the other two hold a primary this agent
  // sees down.
  enum class Quorum { kConfirmedDown, kNotConfirmed, kNoQuorum };
  Quorum primary_quorum = Quorum::kNotConfirmed;
  // Which vantage said what, for the reasons, e.g. "eu-west: down since 10:00:01; us-east: up".
  std::string votes;
};

struct GroupView {
  // Health of the server that is primary / secondary now (following Roles).
  TargetHealth primary;
  TargetHealth secondary;
  // True when the health tracker judges this agent's vantage impaired (nearly everything looks
  // down from here). A VERDICT_IMPAIRED on either side means the same.
  bool vantage_impaired = false;
  std::optional<LagSample> last_lag;
  Roles roles;
  std::optional<OperationInFlight> in_flight;
  // When the last failover of this group completed; InfinitePast if never.
  absl::Time last_failover_at = absl::InfinitePast();
  // Automation is paused until this time (InfiniteFuture: until resumed). InfinitePast: not paused.
  absl::Time paused_until = absl::InfinitePast();
  std::optional<PlannedAttempt> last_planned_attempt;
  std::optional<Approval> approval;
  // Groups this agent currently sees confirmed down or failing over, this one included.
  int groups_failing = 0;
  // Non-empty while a person's cancel of this outage's automatic failover holds the group, e.g.
  // "bob cancelled the automatic planned failover: investigating". Lifted by a resume or when
  // the outage ends.
  std::string operator_hold;
  // Non-empty when the secondary's replication link says it cannot take over (a failing
  // replication_link probe on the server that is secondary now: SEEDING, SUSPENDED, ...), e.g.
  // "replication link not ready: SUSPENDED (link to srv-a/db1, GEO)". Holds every failover
  // (SECONDARY_NOT_READY).
  std::string secondary_not_ready;
  // Set when the agent coordinates with others through etcd.
  std::optional<CoordinationView> coordination;
};

}  // namespace foghorn::decision

#endif  // FOGHORN_ORCHESTRATOR_DECISION_GROUP_VIEW_H_
