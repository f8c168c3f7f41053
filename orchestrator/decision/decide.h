// The decision engine: a pure function from (group view, policy, now) to a decision. It walks the
// ladder of docs/decision-policy.md (HEALTHY -> SUSPECT -> CONFIRMED_DOWN -> PLANNED ->
// TRY_PLANNED_BEFORE_FORCED | FORCED, with HOLD and WAIT_APPROVAL) and says why, in codes for
// machines and text for people. It performs no I/O, reads no clock and starts no thread; the agent
// calls it on its control loop, the replay tool (replay.h) calls it over recorded timelines.
#ifndef FOGHORN_ORCHESTRATOR_DECISION_DECIDE_H_
#define FOGHORN_ORCHESTRATOR_DECISION_DECIDE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "foghorn/v1/common.pb.h"
#include "orchestrator/decision/group_view.h"
#include "orchestrator/decision/policy.h"

namespace foghorn::decision {

enum class Stage {
  kHealthy,
  kSuspect,
  kConfirmedDown,
  kPlanned,
  kTryPlannedBeforeForced,
  kForced,
  // A failover completed recently and the new primary has no verdict yet.
  kVerifying,
  kWaitApproval,
  kHold,
};

enum class ReasonCode {
  kPrimaryHealthy,
  kPrimaryVerdictUnknown,
  kPrimaryUnhealthy,
  kPrimaryConfirmedDown,
  kAwaitingPlannedGrace,
  kPlannedGraceElapsed,
  kPlannedAttemptFailed,
  kAwaitingDataLossGrace,
  kDataLossGraceElapsed,
  kDataLossWithinBudget,
  kDataLossBudgetExceeded,
  kDataLossUnknown,
  kApprovalRequired,
  kApproved,
  kVerifying,
  // Hold reasons.
  kOperationInFlight,
  kPaused,
  kMaintenanceWindow,
  kObserveOnly,
  kRolesUnknown,
  kCooldown,
  kVantageImpaired,
  kSecondaryUnhealthy,
  kSecondaryUnknown,
  // The secondary's replication link is not ready to take over (SEEDING, SUSPENDED, ...).
  kSecondaryNotReady,
  kBlastRadiusCap,
  // A person cancelled this outage's automatic failover: automation holds until resumed.
  kOperatorCancelled,
  // Coordinated agents (docs/coordination.md): no etcd session; another agent leads the group;
  // too few live vantages to reach the quorum; the live vantages do not agree the primary is down.
  kCoordinationLost,
  kNotLeader,
  kNoVantageQuorum,
  kVantageDissent,
};

struct Reason {
  ReasonCode code;
  // One lowercase sentence fragment for people, e.g. "secondary srv-b is unhealthy".
  std::string text;
};

struct Decision {
  Stage stage = Stage::kHealthy;
  // The failover to start now; FAILOVER_KIND_UNSPECIFIED means do nothing.
  foghorn::v1::FailoverKind action = foghorn::v1::FAILOVER_KIND_UNSPECIFIED;
  // What the ladder calls for before holds and approvals are applied. In observe-only mode this is
  // what foghorn would have done (shadow mode).
  foghorn::v1::FailoverKind intended = foghorn::v1::FAILOVER_KIND_UNSPECIFIED;
  // Every reason that shaped the decision, most important first. A HOLD lists every hold that
  // applies, not just the first.
  std::vector<Reason> reasons;
  // "<STAGE>: <reason text>; <reason text>".
  std::string summary;
  // The latest time by which Decide() must run again even if nothing is observed: the next
  // grace, cooldown, pause or window edge, or now + policy.reevaluate_interval.
  absl::Time next_evaluation = absl::InfiniteFuture();
  // When the current outage began (start of the primary's failure streak), if there is one.
  std::optional<absl::Time> outage_began;
  // Last lag + time since that sample; unset when no lag was ever sampled or no outage.
  std::optional<absl::Duration> estimated_data_loss;
  // The server that would become primary (roles.secondary_server), when an action is intended.
  std::string target_server;

  bool HasReason(ReasonCode code) const;
};

// Decides what to do for one group at `now`. Pure and deterministic: the same arguments always
// give the same decision. Never returns an action while an operation is in flight, while paused,
// in a maintenance window, in observe-only mode, within the cooldown, towards a secondary that is
// not healthy, or (for forced kinds) before the data-loss grace. Precondition: when
// view.primary.verdict is VERDICT_UNHEALTHY, unhealthy_since is set and <= now (otherwise the
// streak is taken to start at `now`, the conservative choice). Cost: a few hundred nanoseconds
// plus the reason strings.
Decision Decide(const GroupView& view, const Policy& policy, absl::Time now);

// Every hold that would stop a failover of `kind` of this group at `now`, whatever the primary's
// health: exactly the hold reasons (pause, maintenance window, observe-only, roles unknown,
// cooldown, vantage, secondary, secondary not ready, operator hold, blast-radius cap) Decide()
// lists once the ladder calls for a failover, in the same order. The agent gates failovers people
// request with it. Pure.
std::vector<Reason> Holds(const GroupView& view, const Policy& policy, absl::Time now,
                          foghorn::v1::FailoverKind kind);

// "HEALTHY", "SUSPECT", "CONFIRMED_DOWN", "PLANNED", "TRY_PLANNED_BEFORE_FORCED", "FORCED",
// "VERIFYING", "WAIT_APPROVAL", "HOLD".
absl::string_view StageName(Stage stage);
// "PRIMARY_HEALTHY", "COOLDOWN", ... (the enumerator without k, in upper snake case).
absl::string_view ReasonCodeName(ReasonCode code);

}  // namespace foghorn::decision

#endif  // FOGHORN_ORCHESTRATOR_DECISION_DECIDE_H_
