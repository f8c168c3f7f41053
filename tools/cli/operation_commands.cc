#include "tools/cli/operation_commands.h"

#include <algorithm>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tools/cli/cli.h"
#include "tools/cli/output.h"

namespace foghorn::cli {
namespace {

// The summary line of a finished (or still running) operation; exit 0 when it succeeded or is
// still running, 1 when it failed, was aborted or cancelled.
int PrintOperationSummary(Session& session, const std::string& op_id) {
  v1::GetOperationRequest greq;
  greq.set_operation_id(op_id);
  v1::GetOperationResponse op;
  grpc::Status s = session.stub().GetOperation(session.Context().get(), greq, &op);
  if (!s.ok()) return session.Fail(s);
  const v1::Operation& o = op.operation();
  if (session.json()) {
    session.PrintJson(op);
  } else {
    const absl::Duration took = Elapsed(o.created_at(), o.updated_at());
    session.out() << "operation " << o.id() << " " << OpStateName(o.state()) << " after "
                  << absl::FormatDuration(took) << ": " << o.outcome() << "\n";
  }
  if (o.state() == v1::OPERATION_STATE_SUCCEEDED) return kExitOk;
  if (o.state() == v1::OPERATION_STATE_PENDING || o.state() == v1::OPERATION_STATE_RUNNING) {
    if (!session.json()) {
      session.out() << "(still running: follow it with 'foghorn op " << o.id() << "')\n";
    }
    return kExitOk;
  }
  return kExitFailed;
}

// Follows `op_id` without a Watch (the agent refused it) by polling GetOperation until the
// operation ends; gives up after 30 failed polls in a row (the agent is gone).
int PollUntilEnded(Session& session, const std::string& op_id) {
  for (int failures = 0;;) {
    absl::SleepFor(absl::Seconds(1));
    v1::GetOperationRequest greq;
    greq.set_operation_id(op_id);
    v1::GetOperationResponse op;
    grpc::Status gs = session.stub().GetOperation(session.Context().get(), greq, &op);
    if (gs.ok()) {
      failures = 0;
      if (op.operation().state() >= v1::OPERATION_STATE_SUCCEEDED) break;
    } else if (++failures >= 30) {
      session.err() << "foghorn: lost the agent while following operation " << op_id
                    << "; it may still be running: 'foghorn op " << op_id << "'\n";
      return session.Fail(gs);
    }
  }
  return PrintOperationSummary(session, op_id);
}

}  // namespace

std::string RandomRequestId() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  return absl::StrCat("cli-", absl::Hex(gen(), absl::kZeroPad16));
}

int FailoverCommand(Session& session, const Invocation& args) {
  const std::string group = *args.Arg("group");
  const bool dry_run = args.Switch("dry-run");
  std::ostream& out = session.out();
  v1::RequestFailoverRequest req;
  req.set_group_id(group);
  req.set_kind(static_cast<v1::FailoverKind>(*args.ChoiceValue("kind")));
  req.set_reason(args.Text("reason").value_or(""));
  req.set_request_id(args.Text("request-id").value_or(dry_run ? "" : RandomRequestId()));
  req.set_dry_run(dry_run);
  if (std::optional<std::string> override_reason = args.Text("override-holds")) {
    req.set_override_holds(true);
    req.set_override_reason(*override_reason);
  }

  // Subscribe before asking, so no step can be missed.
  std::unique_ptr<grpc::ClientContext> watch_ctx;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> watch;
  const bool follow = !dry_run && !args.Switch("no-wait");
  if (follow) {
    watch_ctx = session.Context(/*with_deadline=*/false);
    v1::WatchRequest wreq;
    wreq.add_group_ids(group);
    wreq.add_kinds(v1::EVENT_KIND_OPERATION_STEP);
    wreq.add_kinds(v1::EVENT_KIND_OPERATION);
    watch = session.stub().Watch(watch_ctx.get(), wreq);
    v1::WatchResponse first;
    if (!watch->Read(&first)) {
      // The failover matters more than its live steps: ask anyway and poll the operation.
      grpc::Status ws = watch->Finish();
      session.err() << "foghorn: cannot watch the operation's steps (" << ws.error_message()
                    << "); requesting the failover anyway and polling it\n";
      watch.reset();
    }
  }
  v1::RequestFailoverResponse r;
  grpc::Status s = session.stub().RequestFailover(session.Context().get(), req, &r);
  if (!s.ok()) {
    if (watch) watch_ctx->TryCancel();
    return session.Fail(s);
  }
  if (dry_run) {
    if (session.json()) {
      session.PrintJson(r);
      return kExitOk;
    }
    const v1::FailoverPlan& p = r.plan();
    out << "dry run: would fail over " << group << " (" << KindName(p.kind()) << ") from "
        << p.source_server() << " to " << p.target_server() << "\n"
        << "pre steps:  " << (p.pre_steps().empty() ? "-" : absl::StrJoin(p.pre_steps(), ", "))
        << "\n"
        << "post steps: " << (p.post_steps().empty() ? "-" : absl::StrJoin(p.post_steps(), ", "))
        << "\n"
        << "engine now: " << r.decision().summary() << "\n";
    return kExitOk;
  }
  const std::string op_id = r.operation().id();
  if (!session.json()) {
    out << (r.created() ? "started" : "already requested (same request id):") << " operation "
        << op_id << ": " << KindName(r.operation().kind()) << " failover of "
        << r.operation().group_id() << " to " << r.operation().target_server() << " (request id "
        << r.operation().request_id() << ")\n";
  }
  if (!follow) {
    if (session.json()) session.PrintJson(r);
    return kExitOk;
  }
  // Follow until the operation ends (or it had already ended before we asked).
  bool ended = r.operation().state() >= v1::OPERATION_STATE_SUCCEEDED;
  if (watch == nullptr) {
    return ended ? PrintOperationSummary(session, op_id) : PollUntilEnded(session, op_id);
  }
  v1::WatchResponse e;
  while (!ended && watch->Read(&e)) {
    if (e.kind() == v1::EVENT_KIND_MISSED) {
      if (!session.json())
        out << "  (" << e.missed() << " events missed; the summary is complete)\n";
      continue;
    }
    if (e.operation_id() != op_id) continue;
    if (session.json()) {
      session.PrintJson(e, /*pretty=*/false);
    } else if (e.kind() == v1::EVENT_KIND_OPERATION_STEP) {
      out << "  " << FormatTime(e.at()) << "  " << e.summary() << "\n";
    }
    if (e.kind() == v1::EVENT_KIND_OPERATION) ended = true;
  }
  watch_ctx->TryCancel();
  while (watch->Read(&e)) {
  }
  (void)watch->Finish();
  return PrintOperationSummary(session, op_id);
}

int OpsCommand(Session& session, const Invocation& args) {
  v1::ListOperationsRequest req;
  req.set_group_id(args.Text("group").value_or(""));
  req.set_page_size(*args.Number("limit"));
  v1::ListOperationsResponse r;
  grpc::Status s = session.stub().ListOperations(session.Context().get(), req, &r);
  if (!s.ok()) return session.Fail(s);
  if (session.json()) {
    session.PrintJson(r);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& o : r.operations()) {
    rows.push_back({o.id(), o.group_id(), o.drill() ? "drill" : KindName(o.kind()),
                    OpStateName(o.state()), o.requested_by(), FormatTime(o.created_at())});
  }
  PrintTable(session.out(), {"OPERATION", "GROUP", "KIND", "STATE", "BY", "CREATED"}, rows);
  return kExitOk;
}

int OpCommand(Session& session, const Invocation& args) {
  v1::GetOperationRequest req;
  req.set_operation_id(*args.Arg("operation-id"));
  v1::GetOperationResponse r;
  grpc::Status s = session.stub().GetOperation(session.Context().get(), req, &r);
  if (!s.ok()) return session.Fail(s);
  if (session.json()) {
    session.PrintJson(r);
    return kExitOk;
  }
  const v1::Operation& o = r.operation();
  session.out() << "operation:  " << o.id() << "\n"
                << "group:      " << o.group_id() << "\n"
                << "kind:       " << (o.drill() ? "drill" : KindName(o.kind())) << "\n"
                << "state:      " << OpStateName(o.state()) << "\n"
                << "target:     " << o.target_server() << "\n"
                << "by:         " << o.requested_by() << "\n"
                << "reason:     " << o.reason() << "\n"
                << "request id: " << o.request_id() << "\n"
                << "created:    " << FormatTime(o.created_at()) << "\n"
                << "updated:    " << FormatTime(o.updated_at()) << "\n"
                << "outcome:    " << (o.outcome().empty() ? "-" : o.outcome()) << "\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& st : o.steps()) {
    rows.push_back({std::to_string(st.seq()), st.name(), StepStateName(st.state()),
                    FormatTime(st.started_at()), FormatTime(st.finished_at()), st.detail()});
  }
  PrintTable(session.out(), {"#", "STEP", "STATE", "STARTED", "FINISHED", "DETAIL"}, rows);
  return kExitOk;
}

namespace {

// One event a line: "<local time (age)>  <kind>  <group>  <summary>"; one JSON object with -o json.
void PrintEvent(Session& session, const v1::WatchResponse& e) {
  if (session.json()) {
    session.PrintJson(e, /*pretty=*/false);
  } else {
    std::string kind = Short(v1::EventKind_Name(e.kind()), "EVENT_KIND_");
    session.out() << FormatTime(e.at()) << "  " << kind << "  "
                  << (e.group_id().empty() ? "-" : e.group_id()) << "  " << e.summary() << "\n";
  }
  session.out().flush();
}

// The journal's recent history as events (decisions and finished operations), oldest first:
// what happened before `events --follow` joined the live stream.
absl::StatusOr<std::vector<v1::WatchResponse>> History(Session& session,
                                                       const std::vector<std::string>& groups,
                                                       int limit) {
  std::vector<std::string> ids = groups;
  if (ids.empty()) {
    v1::ListGroupsRequest req;
    req.set_page_size(1000);
    v1::ListGroupsResponse resp;
    grpc::Status s = session.stub().ListGroups(session.Context().get(), req, &resp);
    if (!s.ok())
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    for (const auto& g : resp.groups()) ids.push_back(g.id());
  }
  std::vector<v1::WatchResponse> out;
  for (const std::string& id : ids) {
    v1::ListDecisionsRequest dreq;
    dreq.set_group_id(id);
    dreq.set_page_size(limit);
    v1::ListDecisionsResponse dresp;
    grpc::Status s = session.stub().ListDecisions(session.Context().get(), dreq, &dresp);
    if (!s.ok())
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    for (const auto& d : dresp.decisions()) {
      v1::WatchResponse e;
      e.set_kind(v1::EVENT_KIND_DECISION);
      e.set_group_id(d.group_id());
      *e.mutable_at() = d.decided_at();
      e.set_summary(d.summary());
      e.mutable_decision()->set_stage(d.stage());
      e.mutable_decision()->set_action(d.action());
      *e.mutable_decision()->mutable_reasons() = d.reasons();
      out.push_back(std::move(e));
    }
    v1::ListOperationsRequest oreq;
    oreq.set_group_id(id);
    oreq.set_page_size(limit);
    v1::ListOperationsResponse oresp;
    s = session.stub().ListOperations(session.Context().get(), oreq, &oresp);
    if (!s.ok())
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    for (const auto& o : oresp.operations()) {
      v1::WatchResponse e;
      e.set_kind(v1::EVENT_KIND_OPERATION);
      e.set_group_id(o.group_id());
      e.set_operation_id(o.id());
      *e.mutable_at() = o.updated_at();
      e.set_summary(absl::StrCat(o.drill() ? "drill" : KindName(o.kind()), " ",
                                 OpStateName(o.state()),
                                 o.outcome().empty() ? "" : absl::StrCat(": ", o.outcome())));
      *e.mutable_operation() = o;
      out.push_back(std::move(e));
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const v1::WatchResponse& a, const v1::WatchResponse& b) {
                     return FromProtoTime(a.at()) < FromProtoTime(b.at());
                   });
  if (static_cast<int>(out.size()) > limit) out.erase(out.begin(), out.end() - limit);
  return out;
}

}  // namespace

int EventsCommand(Session& session, const Invocation& args) {
  const std::vector<std::string>& groups = args.Texts("group");
  // Subscribe first, so nothing that happens while the history is read is lost (an event may
  // then show twice: in the history and live).
  v1::WatchRequest req;
  for (const auto& g : groups) req.add_group_ids(g);
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader;
  v1::WatchResponse e;
  if (args.Switch("follow")) {
    ctx = session.Context(/*with_deadline=*/false);
    reader = session.stub().Watch(ctx.get(), req);
    // The first message says the stream is open (or the stream ends with the refusal).
    if (!reader->Read(&e)) return session.Fail(reader->Finish());
  }
  absl::StatusOr<std::vector<v1::WatchResponse>> history =
      History(session, groups, args.Number("limit").value_or(20));
  if (!history.ok()) {
    if (ctx) ctx->TryCancel();
    return session.Fail(grpc::Status(static_cast<grpc::StatusCode>(history.status().code()),
                                     std::string(history.status().message())));
  }
  for (const v1::WatchResponse& h : *history) PrintEvent(session, h);
  if (!reader) return kExitOk;
  const int count = args.Number("count").value_or(-1);
  int shown = 0;
  while (reader->Read(&e)) {
    if (e.kind() == v1::EVENT_KIND_SUBSCRIBED) continue;
    PrintEvent(session, e);
    if (count > 0 && ++shown == count) {
      ctx->TryCancel();
      while (reader->Read(&e)) {
      }
      (void)reader->Finish();
      return kExitOk;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return session.Fail(s);
  return kExitOk;
}

int WatchCommand(Session& session, const Invocation& args) {
  v1::WatchRequest req;
  for (const auto& g : args.Texts("group")) req.add_group_ids(g);
  for (int k : args.ChoiceValues("kind")) req.add_kinds(static_cast<v1::EventKind>(k));
  req.set_operation_id(args.Text("operation").value_or(""));
  const int count = args.Number("count").value_or(-1);
  auto ctx = session.Context(/*with_deadline=*/false);
  auto reader = session.stub().Watch(ctx.get(), req);
  v1::WatchResponse e;
  int shown = 0;
  while (count != 0 && reader->Read(&e)) {
    if (e.kind() == v1::EVENT_KIND_SUBSCRIBED) continue;
    PrintEvent(session, e);
    if (count > 0 && ++shown == count) break;
  }
  if (count > 0 && shown == count) {
    ctx->TryCancel();
    while (reader->Read(&e)) {
    }
    (void)reader->Finish();
    return kExitOk;
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return session.Fail(s);
  return kExitOk;
}

}  // namespace foghorn::cli
