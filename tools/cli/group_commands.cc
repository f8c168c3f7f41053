#include "tools/cli/group_commands.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orchestrator/common/durations.h"
#include "tools/cli/cli.h"
#include "tools/cli/output.h"

namespace foghorn::cli {
namespace {

std::string Health(const v1::TargetHealth& h) {
  return absl::StrCat(h.server().empty() ? "?" : h.server(), " (", VerdictName(h.verdict()), ")");
}

std::string PauseText(const v1::PauseState& p) {
  if (!p.paused()) return "-";
  return absl::StrCat(p.global() ? "all " : "", "until ",
                      p.has_until() ? FormatTime(p.until()) : "resumed");
}

std::string OpText(const std::string& op) { return op.empty() ? "-" : op; }

void PrintGroups(std::ostream& out, const v1::ListGroupsResponse& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& g : r.groups()) {
    rows.push_back({g.id(), Health(g.primary()), Health(g.secondary()),
                    g.has_last_decision() ? StageName(g.last_decision().stage()) : "-",
                    PauseText(g.pause()), OpText(g.operation_in_flight())});
  }
  PrintTable(out, {"GROUP", "PRIMARY", "SECONDARY", "STAGE", "PAUSED", "OPERATION"}, rows);
}

// approve and reject: the same shape, a different RPC.
int Decide(Session& session, const Invocation& args, bool approve) {
  const std::string group = *args.Arg("group");
  const std::string reason = *args.Text("reason");
  grpc::Status s;
  v1::FailoverGroup g;
  if (approve) {
    v1::ApproveDecisionRequest req;
    req.set_group_id(group);
    req.set_reason(reason);
    req.set_allow_data_loss_over_budget(args.Switch("allow-data-loss-over-budget"));
    v1::ApproveDecisionResponse r;
    s = session.stub().ApproveDecision(session.Context().get(), req, &r);
    g = r.group();
  } else {
    v1::RejectDecisionRequest req;
    req.set_group_id(group);
    req.set_reason(reason);
    v1::RejectDecisionResponse r;
    s = session.stub().RejectDecision(session.Context().get(), req, &r);
    g = r.group();
  }
  if (!s.ok()) return session.Fail(s);
  if (session.json()) {
    session.PrintJson(g);
  } else {
    session.out() << (approve ? "approved" : "rejected") << " the pending failover of " << g.id()
                  << "\n";
  }
  return kExitOk;
}

}  // namespace

int StatusCommand(Session& session, const Invocation& /*args*/) {
  v1::ListGroupsResponse r;
  grpc::Status s = session.stub().ListGroups(session.Context().get(), {}, &r);
  if (!s.ok()) return session.Fail(s);
  if (session.json()) {
    session.PrintJson(r);
    return kExitOk;
  }
  int healthy = 0, failing = 0, paused = 0, busy = 0;
  for (const auto& g : r.groups()) {
    auto stage = g.last_decision().stage();
    if (stage == v1::DECISION_STAGE_HEALTHY) ++healthy;
    if (stage != v1::DECISION_STAGE_HEALTHY && stage != v1::DECISION_STAGE_UNSPECIFIED) ++failing;
    if (g.pause().paused()) ++paused;
    if (!g.operation_in_flight().empty()) ++busy;
  }
  session.out() << "agent:        " << session.addr() << "\n"
                << "groups:       " << r.groups_size() << " (" << healthy << " healthy, " << failing
                << " not healthy, " << paused << " paused, " << busy << " failing over)\n"
                << "global pause: "
                << (r.global_pause().paused()
                        ? absl::StrCat(PauseText(r.global_pause()), ": ", r.global_pause().reason())
                        : "no")
                << "\n\n";
  PrintGroups(session.out(), r);
  return kExitOk;
}

int GroupsCommand(Session& session, const Invocation& /*args*/) {
  v1::ListGroupsResponse r;
  grpc::Status s = session.stub().ListGroups(session.Context().get(), {}, &r);
  if (!s.ok()) return session.Fail(s);
  if (session.json()) {
    session.PrintJson(r);
    return kExitOk;
  }
  PrintGroups(session.out(), r);
  return kExitOk;
}

int GroupCommand(Session& session, const Invocation& args) {
  const int history = *args.Number("history");
  v1::GetGroupRequest req;
  req.set_group_id(*args.Arg("group"));
  v1::GetGroupResponse r;
  grpc::Status s = session.stub().GetGroup(session.Context().get(), req, &r);
  if (!s.ok()) return session.Fail(s);
  v1::ListDecisionsResponse decisions;
  if (history > 0) {
    v1::ListDecisionsRequest dreq;
    dreq.set_group_id(r.group().id());
    dreq.set_page_size(history);
    s = session.stub().ListDecisions(session.Context().get(), dreq, &decisions);
    if (!s.ok()) return session.Fail(s);
  }
  if (session.json()) {
    session.PrintJson(r);
    if (history > 0) session.PrintJson(decisions);
    return kExitOk;
  }
  std::ostream& out = session.out();
  const v1::FailoverGroup& g = r.group();
  const v1::Decision& d = g.last_decision();
  out << "group:          " << g.id() << "\n"
      << "primary:        " << Health(g.primary())
      << (g.primary().has_unhealthy_since() ? " since " + FormatTime(g.primary().unhealthy_since())
                                            : "")
      << "\n"
      << "secondary:      " << Health(g.secondary())
      << (g.secondary().has_unhealthy_since()
              ? " since " + FormatTime(g.secondary().unhealthy_since())
              : "")
      << "\n"
      << "roles from ARM: " << (g.roles_from_arm() ? "yes" : "no (runbook)") << "\n"
      << "approval mode:  " << Short(g.approval_mode(), "APPROVAL_MODE_") << "\n"
      << "lag:            "
      << (g.has_replication_lag() ? FormatDuration(g.replication_lag()) + " at " +
                                        FormatTime(g.replication_lag_sampled_at())
                                  : "unknown")
      << "\n"
      << "paused:         " << PauseText(g.pause())
      << (g.pause().paused() ? ": " + g.pause().reason() : "") << "\n"
      << "operation:      " << OpText(g.operation_in_flight()) << "\n"
      << "decision:       " << StageName(d.stage())
      << (d.action() ? " -> " + KindName(d.action()) : "")
      << (d.intended() && !d.action() ? " (intended " + KindName(d.intended()) + ")" : "") << "\n";
  if (d.has_estimated_data_loss()) {
    out << "data loss est.: " << FormatDuration(d.estimated_data_loss()) << "\n";
  }
  if (d.has_outage_began()) out << "outage began:   " << FormatTime(d.outage_began()) << "\n";
  for (const auto& reason : d.reasons()) {
    out << "  - " << reason.code() << ": " << reason.text() << "\n";
  }
  out << "probes:         ";
  std::vector<std::string> probes;
  for (const auto& p : g.probes()) {
    probes.push_back(p.name() + "@" + Short(v1::ProbeTarget_Name(p.target()), "PROBE_TARGET_"));
  }
  out << absl::StrJoin(probes, ", ") << "\n";
  if (g.readiness_size() > 0) {
    out << "readiness:      checked " << FormatTime(g.readiness_checked_at()) << "\n";
    for (const auto& c : g.readiness()) {
      out << "  - " << Short(v1::CheckStatus_Name(c.status()), "CHECK_STATUS_") << " " << c.name()
          << ": " << c.reason() << "\n";
    }
  }
  if (history > 0) {
    out << "\nrecent decisions:\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& rec : decisions.decisions()) {
      rows.push_back({FormatTime(rec.decided_at()), StageName(rec.stage()),
                      rec.action() ? KindName(rec.action()) : "-", rec.summary()});
    }
    PrintTable(out, {"AT", "STAGE", "ACTION", "SUMMARY"}, rows);
  }
  return kExitOk;
}

int ApproveCommand(Session& session, const Invocation& args) {
  return Decide(session, args, /*approve=*/true);
}

int RejectCommand(Session& session, const Invocation& args) {
  return Decide(session, args, /*approve=*/false);
}

int PauseCommand(Session& session, const Invocation& args) {
  // Bind checked that exactly one of <group> and --all is given.
  const std::optional<std::string> group = args.Arg("group");
  v1::PauseAutomationRequest req;
  req.set_group_id(group.value_or(""));
  req.set_reason(*args.Text("reason"));
  if (std::optional<absl::Duration> d = args.Duration("for")) {
    common::ToProtoDuration(*d, req.mutable_duration());
  }
  v1::PauseAutomationResponse r;
  grpc::Status s = session.stub().PauseAutomation(session.Context().get(), req, &r);
  if (!s.ok()) return session.Fail(s);
  if (session.json()) {
    session.PrintJson(r);
  } else {
    session.out() << "paused " << group.value_or("all groups") << " " << PauseText(r.pause())
                  << "\n";
  }
  return kExitOk;
}

int ResumeCommand(Session& session, const Invocation& args) {
  const std::optional<std::string> group = args.Arg("group");
  v1::ResumeAutomationRequest req;
  req.set_group_id(group.value_or(""));
  v1::ResumeAutomationResponse r;
  grpc::Status s = session.stub().ResumeAutomation(session.Context().get(), req, &r);
  if (!s.ok()) return session.Fail(s);
  if (session.json()) {
    session.PrintJson(r);
  } else {
    session.out() << "resumed " << group.value_or("all groups") << "\n";
  }
  return kExitOk;
}

}  // namespace foghorn::cli
