// Readiness checks for a runbook's failover group: can foghorn fail this group over right now, and
// would Azure or the agent get in the way? Run alone (a readiness report) and as a drill's
// preflight. Each check answers pass/warn/fail/skip with a reason and a fix hint; none of them
// changes anything (ARM GETs, TCP connects and reads of the agent's state only).
//
// Inputs are injected: the ARM side through executor::FailoverActuator (ArmClient in production),
// what the agent knows (pause, operation in flight, probe history) through GroupKnowledge, TCP
// connects through ListenerDialer, and the journal for unfinished operations.
#ifndef FOGHORN_ORCHESTRATOR_DRILL_READINESS_H_
#define FOGHORN_ORCHESTRATOR_DRILL_READINESS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/arm/models.h"
#include "orchestrator/arm/resource_id.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/drill/listener.h"
#include "orchestrator/executor/operation_runner.h"
#include "orchestrator/journal/journal.h"
#include "probes/probe_scheduler.h"

namespace foghorn::drill {

enum class CheckStatus { kPass, kWarn, kFail, kSkip };
std::string_view CheckStatusName(CheckStatus s);  // "pass", "warn", "fail", "skip"
absl::StatusOr<CheckStatus> ParseCheckStatus(std::string_view name);

// Stable check names (the JSON report and the docs use them).
inline constexpr std::string_view kCheckArmAccess = "arm_access";
inline constexpr std::string_view kCheckGroupRoles = "group_roles";
inline constexpr std::string_view kCheckReplication = "replication_state";
inline constexpr std::string_view kCheckDatabases = "databases";
inline constexpr std::string_view kCheckFailoverPolicy = "failover_policy";
inline constexpr std::string_view kCheckListeners = "listeners";
inline constexpr std::string_view kCheckNoOperation = "no_operation_in_flight";
inline constexpr std::string_view kCheckNotPaused = "not_paused";

struct CheckResult {
  std::string name;
  CheckStatus status = CheckStatus::kSkip;
  std::string reason;  // what was found
  std::string fix;     // what to do about it; empty on pass
};

// What the agent knows about a group, as the drill needs it.
struct AgentGroupInfo {
  std::string in_flight_operation;  // empty when none
  absl::Time paused_until = absl::InfinitePast();
  std::string pause_reason;
};

// "What the agent knows", read-only. The production adapter (agent_knowledge.h) reads
// agent::Agent and probes::ProbeScheduler; tests use a fake. Implementations are thread-safe and
// never block on the network.
class GroupKnowledge {
 public:
  virtual ~GroupKnowledge() = default;
  // nullopt when the agent does not watch the group.
  virtual std::optional<AgentGroupInfo> Group(const std::string& group_id) = 0;
  // A probe's state and recent history by probe id ("<group id>/<probe name>"), or nullopt.
  virtual std::optional<probes::ProbeStatus> Probe(const std::string& probe_id) = 0;
};

// "<subscription>/<resource group>/<name>", the group id the agent and the journal use.
std::string DrillGroupId(const v1::FailoverGroupRef& ref);
// The group as seen from `server` (one of the runbook's two servers; the secondary's resource
// group applies to the secondary server).
arm::FailoverGroupId GroupOn(const v1::FailoverGroupRef& ref, const std::string& server);

// The listener probes of a runbook (TCP probes whose target is a listener), as "host:port".
struct ListenerAddress {
  std::string probe;  // the probe's name
  std::string address;
  bool read_write = true;
};
std::vector<ListenerAddress> ListenerAddresses(const v1::Runbook& runbook);

// What the checks learned from ARM, reused by the drill so it does not read twice.
struct ArmView {
  std::optional<arm::FailoverGroup> on_primary_server;    // read on ref.primary_server
  std::optional<arm::FailoverGroup> on_secondary_server;  // read on ref.secondary_server
  // The server that is primary now, from the reads; empty when unknown.
  std::string current_primary;
  std::string current_secondary;
};

struct ReadinessReport {
  std::vector<CheckResult> checks;
  ArmView arm;
  // True when no check failed (warnings allowed).
  bool Ready() const;
  const CheckResult* Find(std::string_view name) const;
};

class ReadinessChecker {
 public:
  struct Deps {
    const common::Clock& clock;
    executor::FailoverActuator& arm;
    ListenerDialer& dialer;
    // Optional: without them the agent-state checks are skipped (with a reason).
    GroupKnowledge* knowledge = nullptr;
    journal::Journal* journal = nullptr;
  };
  struct Options {
    absl::Duration dial_timeout = absl::Seconds(3);
    // The ARM endpoint the agent uses (its config), named in hints when the runbook names none.
    std::string arm_endpoint;
  };

  ReadinessChecker(Deps deps, Options options) : deps_(deps), options_(options) {}

  // Runs every check in a fixed order and returns all results (a failing check never stops the
  // others). Blocks on ARM reads and TCP connects. Thread-safe if the deps are.
  ReadinessReport Run(const v1::Runbook& runbook);

 private:
  CheckResult CheckArmAccess(const v1::Runbook& rb, const absl::StatusOr<arm::FailoverGroup>& p,
                             const absl::StatusOr<arm::FailoverGroup>& s);
  CheckResult CheckGroupRoles(const v1::Runbook& rb, const absl::StatusOr<arm::FailoverGroup>& p,
                              const absl::StatusOr<arm::FailoverGroup>& s, ArmView& view);
  CheckResult CheckReplication(const ArmView& view);
  CheckResult CheckDatabases(const v1::Runbook& rb, const ArmView& view);
  CheckResult CheckFailoverPolicy(const ArmView& view);
  CheckResult CheckListeners(const v1::Runbook& rb);
  CheckResult CheckNoOperation(const std::string& group_id);
  CheckResult CheckNotPaused(const std::string& group_id);

  Deps deps_;
  const Options options_;
};

}  // namespace foghorn::drill

#endif  // FOGHORN_ORCHESTRATOR_DRILL_READINESS_H_
