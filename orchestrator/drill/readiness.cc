#include "orchestrator/drill/readiness.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace foghorn::drill {
namespace {

CheckResult Result(std::string_view name, CheckStatus status, std::string reason,
                   std::string fix = "") {
  return CheckResult{std::string(name), status, std::move(reason), std::move(fix)};
}

// The last path segment of an ARM id ("/.../servers/sql-west" -> "sql-west"); names pass through.
std::string LastSegment(const std::string& id) {
  size_t slash = id.rfind('/');
  return slash == std::string::npos ? id : id.substr(slash + 1);
}

std::string FixForArmError(const absl::Status& s, const std::string& endpoint) {
  switch (s.code()) {
    case absl::StatusCode::kUnauthenticated:
      return "check the identity foghorn uses (tenant, client id and secret, or the managed "
             "identity) and that it can get a token for " +
             endpoint;
    case absl::StatusCode::kPermissionDenied:
      return "grant the identity a role with Microsoft.Sql/servers/failoverGroups/read and "
             "failover/action (e.g. SQL Server Contributor) on both servers";
    default:
      return "check network access from this host to " + endpoint +
             " and ARM's service health, then run the check again";
  }
}

}  // namespace

std::string_view CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "fail";
    case CheckStatus::kSkip:
      return "skip";
  }
  return "skip";
}

absl::StatusOr<CheckStatus> ParseCheckStatus(std::string_view name) {
  for (CheckStatus s :
       {CheckStatus::kPass, CheckStatus::kWarn, CheckStatus::kFail, CheckStatus::kSkip}) {
    if (CheckStatusName(s) == name) return s;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown check status \"", std::string(name), "\""));
}

std::string DrillGroupId(const v1::FailoverGroupRef& ref) {
  return absl::StrCat(ref.subscription_id(), "/", ref.resource_group(), "/", ref.name());
}

arm::FailoverGroupId GroupOn(const v1::FailoverGroupRef& ref, const std::string& server) {
  const bool secondary_side = server == ref.secondary_server();
  return {ref.subscription_id(),
          secondary_side && !ref.secondary_resource_group().empty() ? ref.secondary_resource_group()
                                                                    : ref.resource_group(),
          server, ref.name()};
}

std::vector<ListenerAddress> ListenerAddresses(const v1::Runbook& runbook) {
  std::vector<ListenerAddress> out;
  for (const v1::ProbeSpec& p : runbook.probes()) {
    if (!p.has_tcp() || p.tcp().address().empty()) continue;
    if (p.target() == v1::PROBE_TARGET_LISTENER_READ_WRITE) {
      out.push_back({p.name(), p.tcp().address(), true});
    } else if (p.target() == v1::PROBE_TARGET_LISTENER_READ_ONLY) {
      out.push_back({p.name(), p.tcp().address(), false});
    }
  }
  return out;
}

bool ReadinessReport::Ready() const {
  for (const CheckResult& c : checks) {
    if (c.status == CheckStatus::kFail) return false;
  }
  return true;
}

const CheckResult* ReadinessReport::Find(std::string_view name) const {
  for (const CheckResult& c : checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

ReadinessReport ReadinessChecker::Run(const v1::Runbook& runbook) {
  const v1::FailoverGroupRef& ref = runbook.group();
  ReadinessReport report;
  absl::StatusOr<arm::FailoverGroup> on_primary = deps_.arm.Get(GroupOn(ref, ref.primary_server()));
  absl::StatusOr<arm::FailoverGroup> on_secondary =
      deps_.arm.Get(GroupOn(ref, ref.secondary_server()));
  if (on_primary.ok()) report.arm.on_primary_server = *on_primary;
  if (on_secondary.ok()) report.arm.on_secondary_server = *on_secondary;

  report.checks.push_back(CheckArmAccess(runbook, on_primary, on_secondary));
  report.checks.push_back(CheckGroupRoles(runbook, on_primary, on_secondary, report.arm));
  report.checks.push_back(CheckReplication(report.arm));
  report.checks.push_back(CheckDatabases(runbook, report.arm));
  report.checks.push_back(CheckFailoverPolicy(report.arm));
  report.checks.push_back(CheckListeners(runbook));
  const std::string group_id = DrillGroupId(ref);
  report.checks.push_back(CheckNoOperation(group_id));
  report.checks.push_back(CheckNotPaused(group_id));
  return report;
}

CheckResult ReadinessChecker::CheckArmAccess(const v1::Runbook& rb,
                                             const absl::StatusOr<arm::FailoverGroup>& p,
                                             const absl::StatusOr<arm::FailoverGroup>& s) {
  const v1::FailoverGroupRef& ref = rb.group();
  const std::string endpoint = !ref.arm_endpoint().empty()      ? ref.arm_endpoint()
                               : !options_.arm_endpoint.empty() ? options_.arm_endpoint
                                                                : std::string("the ARM endpoint");
  std::vector<std::string> problems;
  absl::Status first_error;
  auto look = [&](const std::string& server, const absl::Status& st) {
    // NOT_FOUND still proves the server answered with our identity; group_roles reports it.
    if (st.ok() || st.code() == absl::StatusCode::kNotFound) return;
    problems.push_back(absl::StrCat(server, ": ", absl::StatusCodeToString(st.code()), ": ",
                                    std::string(st.message())));
    if (first_error.ok()) first_error = st;
  };
  look(ref.primary_server(), p.status());
  look(ref.secondary_server(), s.status());
  if (problems.empty()) {
    return Result(kCheckArmAccess, CheckStatus::kPass,
                  absl::StrCat("ARM answered for both servers (", ref.primary_server(), ", ",
                               ref.secondary_server(), ") with the configured identity"));
  }
  return Result(kCheckArmAccess, CheckStatus::kFail,
                absl::StrCat("ARM read failed: ", absl::StrJoin(problems, "; ")),
                FixForArmError(first_error, endpoint));
}

CheckResult ReadinessChecker::CheckGroupRoles(const v1::Runbook& rb,
                                              const absl::StatusOr<arm::FailoverGroup>& p,
                                              const absl::StatusOr<arm::FailoverGroup>& s,
                                              ArmView& view) {
  const v1::FailoverGroupRef& ref = rb.group();
  for (const auto& [server, st] : {std::pair{ref.primary_server(), p.status()},
                                   std::pair{ref.secondary_server(), s.status()}}) {
    if (st.code() == absl::StatusCode::kNotFound) {
      return Result(kCheckGroupRoles, CheckStatus::kFail,
                    absl::StrCat("failover group ", ref.name(), " not found on server ", server),
                    "create the failover group with both servers, or fix group.name, "
                    "primary_server and secondary_server in the runbook");
    }
  }
  if (!p.ok() || !s.ok()) {
    return Result(kCheckGroupRoles, CheckStatus::kSkip, "ARM could not be read (see arm_access)");
  }
  const arm::ReplicationRole pr = p->replication_role;
  const arm::ReplicationRole sr = s->replication_role;
  if (pr == arm::ReplicationRole::kPrimary && sr == arm::ReplicationRole::kSecondary) {
    view.current_primary = ref.primary_server();
    view.current_secondary = ref.secondary_server();
  } else if (pr == arm::ReplicationRole::kSecondary && sr == arm::ReplicationRole::kPrimary) {
    view.current_primary = ref.secondary_server();
    view.current_secondary = ref.primary_server();
  } else {
    return Result(
        kCheckGroupRoles, CheckStatus::kFail,
        absl::StrCat("unexpected roles: ", ref.primary_server(), " is ",
                     std::string(arm::ReplicationRoleName(pr)), ", ", ref.secondary_server(),
                     " is ", std::string(arm::ReplicationRoleName(sr))),
        "wait for the running operation to finish; if the roles stay inconsistent, "
        "inspect the group in the Azure portal before any failover");
  }
  // Each side must name exactly one partner: the other server of the runbook.
  for (const auto& [g, other] :
       {std::pair{&*p, ref.secondary_server()}, std::pair{&*s, ref.primary_server()}}) {
    if (g->partner_servers.size() != 1) {
      return Result(kCheckGroupRoles, CheckStatus::kFail,
                    absl::StrCat("group has ", g->partner_servers.size(),
                                 " partner servers; foghorn expects exactly one"),
                    "keep exactly one partner server in the failover group");
    }
    if (!absl::EqualsIgnoreCase(LastSegment(g->partner_servers[0].id), other)) {
      return Result(kCheckGroupRoles, CheckStatus::kFail,
                    absl::StrCat("partner is ", LastSegment(g->partner_servers[0].id),
                                 ", the runbook says ", other),
                    "fix primary_server/secondary_server in the runbook to match the group");
    }
  }
  if (view.current_primary != ref.primary_server()) {
    return Result(kCheckGroupRoles, CheckStatus::kWarn,
                  absl::StrCat("the group runs on ", view.current_primary,
                               ", not the runbook's primary ", ref.primary_server(),
                               "; a drill fails over to ", view.current_secondary, " and back"),
                  absl::StrCat("fail back to ", ref.primary_server(),
                               " first if it is meant to be the steady-state primary"));
  }
  return Result(kCheckGroupRoles, CheckStatus::kPass,
                absl::StrCat(ref.primary_server(), " is Primary, ", ref.secondary_server(),
                             " is its only partner (Secondary)"));
}

CheckResult ReadinessChecker::CheckReplication(const ArmView& view) {
  // ARM reports the state on both sides; read it where the group is primary now.
  std::optional<arm::FailoverGroup> g;
  if (!view.current_primary.empty()) {
    g = view.on_primary_server.has_value() &&
                view.on_primary_server->replication_role == arm::ReplicationRole::kPrimary
            ? view.on_primary_server
            : view.on_secondary_server;
  }
  if (!g.has_value()) {
    return Result(kCheckReplication, CheckStatus::kSkip,
                  "roles unknown (see group_roles); replication not checked");
  }
  const std::string state = absl::AsciiStrToUpper(g->replication_state);
  if (state == "CATCH_UP") {
    return Result(kCheckReplication, CheckStatus::kPass, "replication state CATCH_UP");
  }
  if (state.empty()) {
    return Result(kCheckReplication, CheckStatus::kWarn, "ARM reported no replication state",
                  "check the geo-replication links of the group's databases in the portal");
  }
  if (state == "SEEDING" || state == "PENDING") {
    return Result(kCheckReplication, CheckStatus::kFail,
                  absl::StrCat("replication state ", state, ": initial seeding not finished"),
                  "wait until every database reports CATCH_UP before a drill");
  }
  return Result(kCheckReplication, CheckStatus::kFail,
                absl::StrCat("replication state ", state, " is not healthy"),
                "restore geo-replication (resume a SUSPENDED link) until it reports CATCH_UP");
}

CheckResult ReadinessChecker::CheckDatabases(const v1::Runbook& rb, const ArmView& view) {
  if (!view.on_primary_server.has_value()) {
    return Result(kCheckDatabases, CheckStatus::kSkip, "group not read from ARM");
  }
  if (rb.group().databases().empty()) {
    return Result(kCheckDatabases, CheckStatus::kWarn, "the runbook names no databases",
                  "list the group's databases under group.databases so a missing one is caught");
  }
  std::vector<std::string> missing;
  for (const std::string& want : rb.group().databases()) {
    bool found = false;
    for (const std::string& have : view.on_primary_server->databases) {
      if (absl::EqualsIgnoreCase(LastSegment(have), want)) found = true;
    }
    if (!found) missing.push_back(want);
  }
  if (!missing.empty()) {
    return Result(kCheckDatabases, CheckStatus::kFail,
                  absl::StrCat("not in the group: ", absl::StrJoin(missing, ", ")),
                  "add the databases to the failover group (they would not fail over), or "
                  "remove them from the runbook");
  }
  return Result(kCheckDatabases, CheckStatus::kPass,
                absl::StrCat("all ", rb.group().databases_size(),
                             " databases of the runbook are in the group"));
}

CheckResult ReadinessChecker::CheckFailoverPolicy(const ArmView& view) {
  const std::optional<arm::FailoverGroup>& g =
      view.on_primary_server.has_value() ? view.on_primary_server : view.on_secondary_server;
  if (!g.has_value()) {
    return Result(kCheckFailoverPolicy, CheckStatus::kSkip, "group not read from ARM");
  }
  const std::string policy =
      g->read_write_endpoint.has_value() ? g->read_write_endpoint->failover_policy : "";
  if (absl::EqualsIgnoreCase(policy, "Manual")) {
    return Result(kCheckFailoverPolicy, CheckStatus::kPass,
                  "read-write failover policy is Manual (customer-managed): only foghorn fails "
                  "the group over");
  }
  if (absl::EqualsIgnoreCase(policy, "Automatic")) {
    return Result(kCheckFailoverPolicy, CheckStatus::kWarn,
                  "read-write failover policy is Automatic: Azure may fail the group over on "
                  "its own and race foghorn",
                  "set the policy to Manual: az sql failover-group update --failover-policy "
                  "Manual ...");
  }
  return Result(kCheckFailoverPolicy, CheckStatus::kWarn,
                policy.empty() ? "ARM reported no read-write failover policy"
                               : absl::StrCat("unknown read-write failover policy ", policy),
                "set the read-write failover policy to Manual");
}

CheckResult ReadinessChecker::CheckListeners(const v1::Runbook& rb) {
  std::vector<ListenerAddress> listeners = ListenerAddresses(rb);
  if (listeners.empty()) {
    return Result(kCheckListeners, CheckStatus::kWarn, "the runbook has no TCP probe on a listener",
                  "add a tcp probe with target listener_read_write (e.g. "
                  "<group>.database.windows.net:1433) so listeners are checked and the drill "
                  "can measure RTO");
  }
  std::vector<std::string> ok;
  std::vector<std::string> bad;
  bool rw_failed = false;
  for (const ListenerAddress& l : listeners) {
    absl::Status s = deps_.dialer.Dial(l.address, options_.dial_timeout);
    if (s.ok()) {
      ok.push_back(l.address);
    } else {
      bad.push_back(std::string(s.message()));
      if (l.read_write) rw_failed = true;
    }
  }
  if (bad.empty()) {
    return Result(kCheckListeners, CheckStatus::kPass,
                  absl::StrCat("listeners answer: ", absl::StrJoin(ok, ", ")));
  }
  return Result(kCheckListeners, rw_failed ? CheckStatus::kFail : CheckStatus::kWarn,
                absl::StrJoin(bad, "; "),
                "check DNS for the listener names and that this host may connect to port 1433 "
                "(firewall rules, private endpoints)");
}

CheckResult ReadinessChecker::CheckNoOperation(const std::string& group_id) {
  if (deps_.knowledge == nullptr && deps_.journal == nullptr) {
    return Result(kCheckNoOperation, CheckStatus::kSkip, "no agent state or journal to consult");
  }
  std::vector<std::string> running;
  if (deps_.knowledge != nullptr) {
    std::optional<AgentGroupInfo> info = deps_.knowledge->Group(group_id);
    if (info.has_value() && !info->in_flight_operation.empty()) {
      running.push_back(info->in_flight_operation);
    }
  }
  if (deps_.journal != nullptr) {
    absl::StatusOr<std::vector<journal::OperationRecord>> ops =
        deps_.journal->UnfinishedOperations();
    if (!ops.ok()) {
      return Result(kCheckNoOperation, CheckStatus::kFail,
                    absl::StrCat("journal unreadable: ", ops.status().ToString()),
                    "check the agent's state directory and disk");
    }
    for (const journal::OperationRecord& op : *ops) {
      if (op.group_id != group_id) continue;
      bool seen = false;
      for (const std::string& r : running) seen = seen || r == op.id;
      if (!seen) running.push_back(absl::StrCat(op.id, " (", op.kind, ")"));
    }
  }
  if (!running.empty()) {
    return Result(kCheckNoOperation, CheckStatus::kFail,
                  absl::StrCat("operation in flight: ", absl::StrJoin(running, ", ")),
                  "wait for it to finish (foghorn status) before starting a drill");
  }
  return Result(kCheckNoOperation, CheckStatus::kPass, "no operation in flight for the group");
}

CheckResult ReadinessChecker::CheckNotPaused(const std::string& group_id) {
  if (deps_.knowledge == nullptr) {
    return Result(kCheckNotPaused, CheckStatus::kSkip, "no agent state to consult");
  }
  std::optional<AgentGroupInfo> info = deps_.knowledge->Group(group_id);
  if (!info.has_value()) {
    return Result(kCheckNotPaused, CheckStatus::kSkip, "the agent does not watch this group");
  }
  if (info->paused_until > deps_.clock.Now()) {
    std::string until =
        info->paused_until == absl::InfiniteFuture()
            ? "until resumed"
            : absl::StrCat("until ", absl::FormatTime(absl::RFC3339_sec, info->paused_until,
                                                      absl::UTCTimeZone()));
    return Result(kCheckNotPaused, CheckStatus::kFail,
                  absl::StrCat("automation is paused ", until,
                               info->pause_reason.empty() ? "" : ": " + info->pause_reason),
                  "resume the group (foghorn resume) or wait for the maintenance to end");
  }
  return Result(kCheckNotPaused, CheckStatus::kPass, "automation is not paused");
}

}  // namespace foghorn::drill
