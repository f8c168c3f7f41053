// The decision policy in engine form: the runbook's foghorn.v1.Policy converted once into plain
// absl::Duration values, so Decide() (decide.h) does no proto work per evaluation. The runbook
// loader (runbooks/) fills defaults into the proto; PolicyFromProto() fills the same defaults for
// any field still unset, so a hand-built proto behaves like a loaded runbook.
#ifndef FOGHORN_ORCHESTRATOR_DECISION_POLICY_H_
#define FOGHORN_ORCHESTRATOR_DECISION_POLICY_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "foghorn/v1/runbook.pb.h"

namespace foghorn::decision {

// The defaults, shared with the runbook loader and documented in docs/runbooks.md.
inline constexpr absl::Duration kDefaultConfirmAfter = absl::Seconds(30);
inline constexpr absl::Duration kDefaultPlannedGrace = absl::Minutes(1);
inline constexpr absl::Duration kDefaultDataLossGrace = absl::Minutes(15);
inline constexpr absl::Duration kDefaultDataLossBudget = absl::Minutes(30);
inline constexpr absl::Duration kDefaultCooldown = absl::Hours(1);
inline constexpr absl::Duration kDefaultReevaluateInterval = absl::Seconds(30);
inline constexpr absl::Duration kDefaultApprovalTtl = absl::Hours(1);
inline constexpr foghorn::v1::ApprovalMode kDefaultApprovalMode =
    foghorn::v1::APPROVAL_MODE_APPROVE_FORCED;

// A recurring UTC window: on the days in `days_mask` (bit 0 = Monday .. bit 6 = Sunday; 0x7f =
// every day) starting at `start` after midnight and lasting `duration` (may cross midnight).
struct MaintenanceWindow {
  std::uint8_t days_mask = 0x7f;
  absl::Duration start = absl::ZeroDuration();
  absl::Duration duration = absl::ZeroDuration();
};

struct Policy {
  absl::Duration confirm_after = kDefaultConfirmAfter;
  absl::Duration planned_grace = kDefaultPlannedGrace;
  absl::Duration data_loss_grace = kDefaultDataLossGrace;
  absl::Duration data_loss_budget = kDefaultDataLossBudget;
  foghorn::v1::ApprovalMode approval_mode = kDefaultApprovalMode;
  absl::Duration cooldown = kDefaultCooldown;
  // 0 means no cap.
  int blast_radius_cap = 0;
  std::vector<MaintenanceWindow> maintenance_windows;
  bool prefer_try_planned_before_forced = false;
  absl::Duration reevaluate_interval = kDefaultReevaluateInterval;
  absl::Duration approval_ttl = kDefaultApprovalTtl;
};

// Converts a runbook policy. Unset durations and an unspecified approval mode take the defaults
// above. Returns kInvalidArgument for a malformed maintenance window (bad day name or "HH:MM");
// the runbook loader reports those earlier with file and line.
absl::StatusOr<Policy> PolicyFromProto(const foghorn::v1::Policy& proto);

// If `now` falls inside one of `windows`, returns the end of that window (the latest end when
// several overlap); otherwise nullopt.
std::optional<absl::Time> ActiveMaintenanceWindowEnd(const std::vector<MaintenanceWindow>& windows,
                                                     absl::Time now);

// Parses "mon".."sun" (also full names, any case) into a day bit (Monday = bit 0).
std::optional<int> ParseWeekday(const std::string& day);

// Parses "HH:MM" (00:00..23:59) into the offset after midnight.
std::optional<absl::Duration> ParseTimeOfDay(const std::string& text);

}  // namespace foghorn::decision

#endif  // FOGHORN_ORCHESTRATOR_DECISION_POLICY_H_
