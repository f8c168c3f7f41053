#include "orchestrator/agent/failover_caller.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace foghorn::agent {

bool IsFailoverOperation(const std::string& operation_name) {
  const std::string name = absl::AsciiStrToLower(operation_name);
  constexpr absl::string_view kPrefix = "microsoft.sql/servers/failovergroups/";
  if (!absl::StartsWith(name, kPrefix) || !absl::EndsWith(name, "/action")) return false;
  const absl::string_view action = absl::string_view(name).substr(kPrefix.size());
  return action == "failover/action" || action == "forcefailoverallowdataloss/action" ||
         action == "tryplannedbeforeforcedfailover/action";
}

absl::StatusOr<std::string> FailoverCallerOf(const std::vector<arm::ActivityLogEvent>& events) {
  const arm::ActivityLogEvent* any = nullptr;
  for (const arm::ActivityLogEvent& e : events) {
    if (e.caller.empty() || !IsFailoverOperation(e.operation_name)) continue;
    if (absl::EqualsIgnoreCase(e.status, "Succeeded")) return e.caller;
    if (any == nullptr) any = &e;
  }
  if (any != nullptr) return any->caller;
  return absl::NotFoundError("no failover in the activity log");
}

absl::StatusOr<std::string> ArmFailoverCallerReader::LastFailoverCaller(
    const arm::FailoverGroupId& group, absl::Time since) {
  arm::ActivityLogQuery q;
  q.subscription = group.subscription;
  q.from = since;
  q.resource_uri = group.Path();
  q.max_pages = 5;
  absl::StatusOr<std::vector<arm::ActivityLogEvent>> events = signals_.ListActivityLog(q);
  if (!events.ok()) return events.status();
  absl::StatusOr<std::string> caller = FailoverCallerOf(*events);
  if (!caller.ok()) {
    return absl::NotFoundError(
        absl::StrCat("no failover of ", group.ShortName(), " in the activity log yet"));
  }
  return caller;
}

}  // namespace foghorn::agent
