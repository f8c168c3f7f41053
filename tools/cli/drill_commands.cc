#include "tools/cli/drill_commands.h"

#include <chrono>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "orchestrator/common/durations.h"
#include "tools/cli/cli.h"
#include "tools/cli/operation_commands.h"
#include "tools/cli/output.h"

namespace foghorn::cli {
namespace {

// True for a step or end event of the drill started with `request_id`.
bool IsEventOfDrill(const v1::WatchResponse& e, const std::string& request_id) {
  switch (e.detail_case()) {
    case v1::WatchResponse::kOperationStep:
      return e.operation_step().drill() && e.operation_step().request_id() == request_id;
    case v1::WatchResponse::kOperation:
      return e.operation().drill() && e.operation().request_id() == request_id;
    default:
      return false;
  }
}

void PrintChecks(std::ostream& out,
                 const google::protobuf::RepeatedPtrField<v1::ReadinessCheck>& checks) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : checks) {
    rows.push_back(
        {c.name(), Short(v1::CheckStatus_Name(c.status()), "CHECK_STATUS_"), c.reason()});
  }
  PrintTable(out, {"CHECK", "STATUS", "REASON"}, rows);
}

void PrintFixes(std::ostream& out, const google::protobuf::RepeatedPtrField<std::string>& fixes) {
  if (fixes.empty()) return;
  out << "\nto fix:\n";
  for (const auto& f : fixes) out << "  - " << f << "\n";
}

// The summary of a finished drill; exit 0 when it passed (or is a plan), 1 otherwise.
int PrintDrillReport(Session& session, const v1::GetDrillReportResponse& resp) {
  const v1::DrillReport& r = resp.report();
  std::ostream& out = session.out();
  if (session.json()) {
    if (!resp.report_json().empty()) {
      out << resp.report_json() << "\n";
    } else {
      session.PrintJson(resp);
    }
  } else {
    out << "drill " << r.drill_id() << " " << DrillOutcomeName(r.outcome()) << ": " << r.summary()
        << "\n";
    // A drill aborted before it read the roles leaves them out of its report; the group's
    // runbook still names both servers (nothing moved: the roles are as the agent sees them).
    std::string from = r.original_primary();
    std::string to = r.partner();
    std::string ends_on = r.final_primary();
    if (from.empty() || to.empty()) {
      v1::GetGroupRequest greq;
      greq.set_group_id(r.group_id());
      v1::GetGroupResponse g;
      if (session.stub().GetGroup(session.Context().get(), greq, &g).ok()) {
        if (from.empty()) from = g.group().primary().server();
        if (to.empty()) to = g.group().secondary().server();
        if (ends_on.empty()) ends_on = g.group().primary().server();
      }
    }
    out << "group:     " << r.group_id();
    if (!from.empty() && !to.empty()) {
      out << " (primary " << from << " -> " << to << ", ends on "
          << (ends_on.empty() ? "-" : ends_on) << ")";
    }
    out << "\n";
    out << "started:   " << FormatTime(r.started_at()) << "\n"
        << "finished:  " << FormatTime(r.finished_at()) << "\n";
    if (!r.operation_id().empty()) out << "operation: " << r.operation_id() << "\n";
    for (const auto& d : r.directions()) {
      out << d.name() << " " << d.from_server() << " -> " << d.to_server() << ": "
          << (d.completed() ? "completed" : "NOT completed") << ", RTO "
          << (d.has_rto() ? FormatMeasured(d.rto()) : std::string("not measured"))
          << " (listener outage " << FormatMeasured(d.listener_outage()) << ", "
          << d.failed_samples() << " failed samples), " << d.posts_accepted()
          << " failover POST(s), data lost: " << d.data_lost_writes() << " writes ("
          << d.data_loss_basis() << ")\n";
    }
    if (!r.steps().empty()) {
      out << "\n";
      std::vector<std::vector<std::string>> rows;
      for (const auto& st : r.steps()) {
        rows.push_back({st.name(), DrillStepStateName(st.state()), FormatTime(st.started_at()),
                        FormatTime(st.finished_at()), st.detail()});
      }
      PrintTable(out, {"STEP", "STATE", "STARTED", "FINISHED", "DETAIL"}, rows);
    }
    if (!r.checks().empty()) {
      out << "\n";
      PrintChecks(out, r.checks());
    }
    PrintFixes(out, r.fixes());
    if (!resp.html_path().empty()) {
      out << "\nreport: " << resp.json_path() << "\n        " << resp.html_path() << "\n";
    }
  }
  switch (r.outcome()) {
    case v1::DRILL_OUTCOME_PASSED:
    case v1::DRILL_OUTCOME_PLANNED:
    case v1::DRILL_OUTCOME_RUNNING:
      return kExitOk;
    default:
      return kExitFailed;
  }
}

// Prints the drill's events from `watch` (on a reader thread) while polling its report until it
// is no longer running; then the summary.
int FollowDrill(Session& session, grpc::ClientContext& watch_ctx,
                grpc::ClientReader<v1::WatchResponse>& watch, const std::string& drill_id,
                const std::string& request_id) {
  absl::Mutex mu;
  bool operation_ended = false;
  std::thread reader([&] {
    v1::WatchResponse e;
    while (watch.Read(&e)) {
      if (e.kind() == v1::EVENT_KIND_MISSED) continue;
      if (!IsEventOfDrill(e, request_id)) continue;
      absl::MutexLock lock(&mu);
      if (session.json()) {
        session.PrintJson(e, /*pretty=*/false);
      } else if (e.kind() == v1::EVENT_KIND_OPERATION_STEP) {
        session.out() << "  " << FormatTime(e.at()) << "  " << e.summary() << "\n";
      }
      session.out().flush();
      if (e.kind() == v1::EVENT_KIND_OPERATION) operation_ended = true;
    }
  });
  v1::GetDrillReportResponse report;
  grpc::Status rs;
  for (;;) {
    v1::GetDrillReportRequest greq;
    greq.set_drill_id(drill_id);
    report.Clear();
    rs = session.stub().GetDrillReport(session.Context().get(), greq, &report);
    if (!rs.ok() || report.report().outcome() != v1::DRILL_OUTCOME_RUNNING) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  // Let the last events (published just before the report was written) reach the screen.
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(&operation_ended), absl::Seconds(2));
  }
  watch_ctx.TryCancel();
  reader.join();
  (void)watch.Finish();
  if (!rs.ok()) return session.Fail(rs);
  return PrintDrillReport(session, report);
}

}  // namespace

int DrillCommand(Session& session, const Invocation& args) {
  const std::string group = *args.Arg("group");
  const bool dry_run = args.Switch("dry-run");
  std::ostream& out = session.out();
  v1::StartDrillRequest req;
  req.set_group_id(group);
  req.set_reason(*args.Text("reason"));
  req.set_dry_run(dry_run);
  req.set_request_id(args.Text("request-id").value_or(dry_run ? "" : RandomRequestId()));
  if (std::optional<absl::Duration> hold = args.Duration("hold")) {
    common::ToProtoDuration(*hold, req.mutable_hold());
  }
  const bool follow = !dry_run && args.Switch("wait");

  // Subscribe before asking, so no step can be missed; events are printed by a reader thread
  // while this thread polls the report (a drill that cannot start sends no event at all).
  std::unique_ptr<grpc::ClientContext> watch_ctx;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> watch;
  if (follow) {
    watch_ctx = session.Context(/*with_deadline=*/false);
    v1::WatchRequest wreq;
    wreq.add_group_ids(group);
    wreq.add_kinds(v1::EVENT_KIND_OPERATION_STEP);
    wreq.add_kinds(v1::EVENT_KIND_OPERATION);
    watch = session.stub().Watch(watch_ctx.get(), wreq);
    v1::WatchResponse first;
    if (!watch->Read(&first)) return session.Fail(watch->Finish());
  }
  v1::StartDrillResponse r;
  grpc::Status s = session.stub().StartDrill(session.Context().get(), req, &r);
  if (!s.ok()) {
    if (watch) {
      watch_ctx->TryCancel();
      v1::WatchResponse e;
      while (watch->Read(&e)) {
      }
      (void)watch->Finish();
    }
    return session.Fail(s);
  }
  if (dry_run) {
    if (session.json()) {
      session.PrintJson(r);
      return kExitOk;
    }
    out << r.plan().summary() << "\n\nplan:\n";
    for (const auto& st : r.plan().steps()) out << "  " << st.name() << ": " << st.detail() << "\n";
    out << "\n";
    PrintChecks(out, r.plan().checks());
    PrintFixes(out, r.plan().fixes());
    return kExitOk;
  }
  if (!session.json()) {
    out << (r.created() ? "started drill " : "already requested (same request id): drill ")
        << (r.drill_id().empty() ? r.operation().id() : r.drill_id()) << " of " << group
        << " (request id " << r.request_id() << ")\n";
  }
  if (!follow) {
    if (session.json()) session.PrintJson(r);
    return kExitOk;
  }
  const std::string request_id = r.request_id().empty() ? req.request_id() : r.request_id();
  return FollowDrill(session, *watch_ctx, *watch, r.drill_id(), request_id);
}

int ReadinessCommand(Session& session, const Invocation& args) {
  const std::string group = *args.Arg("group");
  v1::CheckReadinessRequest req;
  req.set_group_id(group);
  v1::CheckReadinessResponse r;
  grpc::Status s = session.stub().CheckReadiness(session.Context().get(), req, &r);
  if (!s.ok()) return session.Fail(s);
  if (session.json()) {
    session.PrintJson(r);
  } else {
    std::ostream& out = session.out();
    out << group << ": " << (r.ready() ? "ready" : "NOT ready") << " (primary "
        << (r.current_primary().empty() ? "unknown" : r.current_primary()) << ", secondary "
        << (r.current_secondary().empty() ? "unknown" : r.current_secondary()) << ")\n\n";
    PrintChecks(out, r.checks());
    google::protobuf::RepeatedPtrField<std::string> fixes;
    for (const auto& c : r.checks()) {
      if (!c.fix().empty()) *fixes.Add() = c.name() + ": " + c.fix();
    }
    PrintFixes(out, fixes);
  }
  return r.ready() ? kExitOk : kExitFailed;
}

int ReportsCommand(Session& session, const Invocation& args) {
  v1::ListDrillReportsRequest req;
  req.set_group_id(args.Arg("group").value_or(""));
  req.set_page_size(*args.Number("limit"));
  v1::ListDrillReportsResponse r;
  grpc::Status s = session.stub().ListDrillReports(session.Context().get(), req, &r);
  if (!s.ok()) return session.Fail(s);
  if (session.json()) {
    session.PrintJson(r);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : r.reports()) {
    rows.push_back({d.drill_id(), d.group_id(),
                    DrillOutcomeName(d.outcome()) + (d.dry_run() ? " (dry run)" : ""),
                    FormatTime(d.started_at()), FormatTime(d.finished_at())});
  }
  PrintTable(session.out(), {"DRILL", "GROUP", "OUTCOME", "STARTED", "FINISHED"}, rows);
  return kExitOk;
}

int ReportCommand(Session& session, const Invocation& args) {
  const std::string id = *args.Arg("drill-id");
  const bool html = args.Switch("html");
  v1::GetDrillReportRequest req;
  req.set_drill_id(id);
  req.set_include_html(html);
  v1::GetDrillReportResponse r;
  grpc::Status s = session.stub().GetDrillReport(session.Context().get(), req, &r);
  if (!s.ok()) return session.Fail(s);
  if (html) {
    if (r.html().empty()) {
      session.err() << "foghorn report: drill " << id << " has no HTML page yet ("
                    << DrillOutcomeName(r.report().outcome()) << ")\n";
      return kExitFailed;
    }
    session.out() << r.html();
    return kExitOk;
  }
  return PrintDrillReport(session, r);
}

}  // namespace foghorn::cli
