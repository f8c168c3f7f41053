#include "orchestrator/api/status_page.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "orchestrator/api/convert.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::api {
namespace {

std::string Json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  std::string s;
  // Serialising a well-formed message cannot fail; an empty object keeps the document valid.
  if (!google::protobuf::util::MessageToJsonString(m, &s, o).ok()) return "{}";
  return s;
}

agent::HttpReply JsonReply(std::string body) {
  agent::HttpReply r;
  r.content_type = "application/json";
  r.body = std::move(body);
  r.headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
  return r;
}

agent::HttpReply ErrorReply(int status, absl::string_view message) {
  const nlohmann::json body = {{"error", std::string(message)}};
  agent::HttpReply r =
      JsonReply(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  r.status = status;
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<StatusPage>> StatusPage::Create(const v1::ApiSettings& api,
                                                               StatusPageDeps deps,
                                                               Options options) {
  ASSIGN_OR_RETURN(Authenticator auth, Authenticator::FromSettings(api));
  return std::unique_ptr<StatusPage>(new StatusPage(std::move(auth), deps, options));
}

void StatusPage::Publish(const agent::AgentEvent& e) {
  absl::MutexLock lock(&events_mu_);
  events_.emplace_back(++seq_, e);
  while (static_cast<int>(events_.size()) > options_.event_buffer) events_.pop_front();
}

std::optional<agent::HttpReply> StatusPage::Refuse(const agent::HttpGet& req) const {
  absl::StatusOr<Caller> caller = auth_.Authenticate(req.authorization);
  if (!caller.ok()) {
    agent::HttpReply r = ErrorReply(401, caller.status().message());
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"foghorn\"");
    return r;
  }
  if (absl::Status s = Authenticator::Authorize(*caller, Role::kViewer, "StatusPage"); !s.ok()) {
    return ErrorReply(403, s.message());
  }
  return std::nullopt;
}

agent::HttpReply StatusPage::HandlePage(const agent::HttpGet&) const {
  agent::HttpReply r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::string(StatusPageHtml());
  // Everything the page needs is inline; it talks to this origin only.
  r.headers = {{"Content-Security-Policy",
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                "frame-ancestors 'none'"},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-store"}};
  return r;
}

agent::HttpReply StatusPage::HandleState(const agent::HttpGet& req) {
  if (auto refused = Refuse(req)) return *std::move(refused);
  absl::StatusOr<std::string> body = StateJson();
  if (!body.ok()) return ErrorReply(500, body.status().message());
  return JsonReply(*std::move(body));
}

agent::HttpReply StatusPage::HandleEvents(const agent::HttpGet& req) {
  if (auto refused = Refuse(req)) return *std::move(refused);
  std::uint64_t after = 0;
  for (const auto& [k, v] : req.query) {
    if (k == "after" && !absl::SimpleAtoi(v, &after)) {
      return ErrorReply(400, "after must be a number");
    }
  }
  return JsonReply(EventsJson(after));
}

absl::StatusOr<std::string> StatusPage::StateJson() {
  absl::MutexLock lock(&state_mu_);
  const absl::Time now = deps_.clock.Now();
  if (state_at_ != absl::InfinitePast() && now - state_at_ < options_.state_reuse) return state_;
  ASSIGN_OR_RETURN(std::string built, BuildState());
  state_ = std::move(built);
  state_at_ = now;
  return state_;
}

absl::StatusOr<std::string> StatusPage::BuildState() {
  const absl::Time now = deps_.clock.Now();
  const auto [global_until, global_reason] = deps_.agent.GlobalPause();

  v1::ListGroupsResponse groups;
  for (const agent::GroupSnapshot& g : deps_.agent.Groups()) {
    *groups.add_groups() = GroupToProto(g, now, global_until);
  }
  v1::PauseState global;
  if (global_until > now) {
    global.set_paused(true);
    global.set_global(true);
    global.set_reason(global_reason);
    if (IsFinite(global_until)) SetTimestamp(global_until, global.mutable_until());
  }

  // Running operations first (their steps as journaled so far), then the most recent ones.
  v1::ListOperationsResponse running;
  std::set<std::string> shown;
  ASSIGN_OR_RETURN(std::vector<journal::OperationRecord> unfinished,
                   deps_.journal.UnfinishedOperations());
  for (const journal::OperationRecord& op : unfinished) {
    ASSIGN_OR_RETURN(std::vector<journal::StepRecord> steps, deps_.journal.Steps(op.id));
    *running.add_operations() = OperationToProto(op, steps);
    shown.insert(op.id);
  }
  v1::ListOperationsResponse recent;
  ASSIGN_OR_RETURN(std::vector<journal::OperationRecord> ops,
                   deps_.journal.ListOperations("", options_.recent_operations));
  for (const journal::OperationRecord& op : ops) {
    if (shown.count(op.id)) continue;
    ASSIGN_OR_RETURN(std::vector<journal::StepRecord> steps, deps_.journal.Steps(op.id));
    *recent.add_operations() = OperationToProto(op, steps);
  }
  // The journal lists decisions per group: read the groups that are not healthy first, at most
  // decision_groups of them, and keep the newest recent_decisions of all.
  std::vector<journal::DecisionRecord> recs;
  {
    std::vector<std::string> ids;
    for (const v1::FailoverGroup& g : groups.groups()) {
      if (g.last_decision().stage() != v1::DECISION_STAGE_HEALTHY) ids.push_back(g.id());
    }
    for (const v1::FailoverGroup& g : groups.groups()) {
      if (g.last_decision().stage() == v1::DECISION_STAGE_HEALTHY) ids.push_back(g.id());
    }
    if (static_cast<int>(ids.size()) > options_.decision_groups)
      ids.resize(options_.decision_groups);
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(std::vector<journal::DecisionRecord> some,
                       deps_.journal.Decisions(id, options_.recent_decisions));
      for (journal::DecisionRecord& d : some) recs.push_back(std::move(d));
    }
    std::sort(recs.begin(), recs.end(),
              [](const journal::DecisionRecord& a, const journal::DecisionRecord& b) {
                return a.at != b.at ? a.at > b.at : a.id > b.id;
              });
    if (static_cast<int>(recs.size()) > options_.recent_decisions) {
      recs.resize(options_.recent_decisions);
    }
  }
  v1::ListDecisionsResponse decisions;
  for (const journal::DecisionRecord& d : recs)
    *decisions.add_decisions() = DecisionRecordToProto(d);

  v1::ListDrillReportsResponse reports;
  if (deps_.drills != nullptr) {
    std::set<std::string> listed;
    for (const drill::DrillLauncher::Info& d : deps_.drills->Drills()) {
      if (!d.running || reports.reports_size() >= options_.drill_reports) continue;
      v1::DrillReportSummary* s = reports.add_reports();
      s->set_drill_id(d.drill_id);
      s->set_group_id(d.group_id);
      s->set_outcome(v1::DRILL_OUTCOME_RUNNING);
      if (IsFinite(d.started_at)) SetTimestamp(d.started_at, s->mutable_started_at());
      listed.insert(d.drill_id);
    }
    if (drill::ReportStore* store = deps_.drills->reports()) {
      ASSIGN_OR_RETURN(std::vector<v1::DrillReportSummary> stored,
                       store->List("", options_.drill_reports));
      for (v1::DrillReportSummary& sum : stored) {
        if (reports.reports_size() >= options_.drill_reports) break;
        if (listed.count(sum.drill_id())) continue;
        // Paths on the agent's host say nothing to a browser.
        sum.clear_json_path();
        sum.clear_html_path();
        *reports.add_reports() = std::move(sum);
      }
    }
  }

  google::protobuf::Timestamp generated;
  // The agent's timeline, as every time the page shows (events, decisions, steps).
  SetTimestamp(deps_.clock.Now(), &generated);
  std::uint64_t last_seq = 0;
  {
    absl::MutexLock lock(&events_mu_);
    last_seq = seq_;
  }
  // Each part is the proto3 JSON of a control API message; the document only joins them.
  return absl::StrCat(
      "{\"generated_at\":", Json(generated), ",\"last_event_seq\":", last_seq,
      ",\"global_pause\":", Json(global), ",\"groups\":", Json(groups),
      ",\"running_operations\":", Json(running), ",\"recent_operations\":", Json(recent),
      ",\"recent_decisions\":", Json(decisions), ",\"drill_reports\":", Json(reports), "}");
}

std::string StatusPage::EventsJson(std::uint64_t after) {
  std::vector<std::pair<std::uint64_t, agent::AgentEvent>> copy;
  std::uint64_t last = 0;
  std::uint64_t first = 0;
  {
    absl::MutexLock lock(&events_mu_);
    last = seq_;
    first = events_.empty() ? seq_ + 1 : events_.front().first;
    for (const auto& [seq, e] : events_) {
      if (seq > after) copy.emplace_back(seq, e);
    }
  }
  // A caller further behind than the buffer (or one that saw an earlier run's numbering: after
  // beyond last) is told how many it missed and starts again from what is kept.
  std::uint64_t missed = 0;
  if (after > last) {
    missed = 0;
  } else if (after + 1 < first) {
    missed = first - after - 1;
  }
  std::string out = absl::StrCat("{\"last_seq\":", last, ",\"missed\":", missed, ",\"events\":[");
  bool comma = false;
  for (const auto& [seq, e] : copy) {
    if (comma) out += ",";
    out += Json(EventToProto(e, seq));
    comma = true;
  }
  out += "]}";
  return out;
}

}  // namespace foghorn::api
