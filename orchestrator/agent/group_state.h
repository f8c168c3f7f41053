// Agent::GroupState and Agent::RoleRead: the control loop's per-group state, shared by the files
// that implement Agent (agent.cc, group_registry.cc, operations.cc, role_refresher.cc,
// control_surface.cc, control_state.cc, shared_state.cc). Internal to orchestrator/agent.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_GROUP_STATE_H_
#define FOGHORN_ORCHESTRATOR_AGENT_GROUP_STATE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "orchestrator/agent/agent.h"

namespace foghorn::agent {

struct Agent::GroupState {
  std::string id;
  v1::Runbook runbook;
  decision::Policy policy;
  decision::Roles roles;
  bool roles_from_arm = false;
  // The operation in flight (journal id) and what it is.
  std::string in_flight_op;
  std::optional<decision::OperationInFlight> in_flight;
  absl::Time last_failover_at = absl::InfinitePast();
  // Pauses of this group, one per owner.
  std::map<PauseOwner, PauseEntry> pauses;
  std::optional<decision::PlannedAttempt> last_planned_attempt;
  std::optional<decision::Approval> approval;
  // Who granted `approval` (empty when unknown, e.g. restored): a person's own approval never
  // authorises that person's forced request (manual_request.h).
  std::string approval_by;
  std::optional<decision::Decision> last_decision;
  // When the primary's verdict last turned bad, for detection-to-action latency.
  absl::Time primary_down_observed_at = absl::InfinitePast();
  common::TimerId eval_timer = 0;
  absl::Time eval_at = absl::InfiniteFuture();
  common::TimerId refresh_timer = 0;
  bool refresh_running = false;
  // Bumped whenever the agent itself changes `roles` (a failover it carried out); a role read
  // started before that is stale and is not applied.
  std::uint64_t roles_generation = 0;
  // Shared with the runner: CancelOperation and the start of the ARM step decide under its lock.
  std::shared_ptr<executor::CancelGate> cancel_gate;
  // Roles were read from ARM in this run or restored from the journal (a change from them that
  // no foghorn operation made is an external failover).
  bool roles_known = false;
  // The current outage of the primary, as this agent has seen it: kept across reloads and
  // (journaled) restarts, so neither restarts the outage clock. InfinitePast: no outage.
  absl::Time outage_began = absl::InfinitePast();
  // The outage's identity: its start in wall-clock microseconds, exactly as journaled, so the
  // automatic request id of one outage is the same across restarts.
  std::int64_t outage_id_us = 0;
  // When the primary was last seen down (journaled at most every lag_persist_interval).
  absl::Time outage_seen_at = absl::InfinitePast();
  // The last replication lag sample (from the tracker, or restored).
  std::optional<decision::LagSample> last_lag;
  absl::Time lag_persisted_at = absl::InfinitePast();
  // Set when a person cancelled this outage's automatic failover: "<who>: <why>".
  std::string cancel_hold;
  // A journaled operation whose ARM step had not begun when the agent restarted: it waits for a
  // fresh decision (DecideResume) until resume_deadline.
  std::optional<journal::OperationRecord> resume_candidate;
  absl::Time resume_deadline = absl::InfiniteFuture();
  // Request ids of automatic operations that finished without success, and those already
  // escalated to a human.
  std::set<std::string> finished_auto_requests;
  std::set<std::string> escalated;
  // The request id an automatic operation's base id ("auto/<group>/<outage>/<kind>") settled on
  // when a worker journaled it (an abandoned or cancelled earlier one adds "/after-<id>").
  std::map<std::string, std::string> auto_request_ids;
  // After the coordination fence refused an operation: no new one before this time.
  absl::Time fence_retry_at = absl::InfinitePast();
};

struct Agent::RoleRead {
  std::optional<decision::Roles> roles;
  absl::Status last_error;
  std::uint64_t generation = 0;
  // A recent operation of ours that explains a new primary (journal, read off the loop), and
  // whether a drill runs or ran a moment ago.
  std::optional<absl::Time> explained_at;
  bool drill_recent = false;
  // For a primary nothing of ours explains: the Activity Log's caller of the failover, or (empty
  // caller) why it is unknown.
  std::string caller;
  std::string caller_note;
};

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_GROUP_STATE_H_
