#include "orchestrator/decision/replay.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/fake_clock.h"

namespace foghorn::decision {
namespace {

using json = nlohmann::json;
using foghorn::v1::FailoverKind;
using foghorn::v1::Verdict;

absl::Status LineError(int line, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("timeline line ", line, ": ", message));
}

absl::StatusOr<absl::Time> TimeField(const json& obj, const char* key, const ReplayOptions& opts,
                                     int line) {
  if (!obj.contains(key)) return LineError(line, absl::StrCat("missing \"", key, "\""));
  const json& v = obj.at(key);
  if (v.is_number()) return opts.epoch + absl::Seconds(v.get<double>());
  if (v.is_string()) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(absl::RFC3339_full, v.get<std::string>(), &t, &err)) return t;
    return LineError(line, absl::StrCat("\"", key, "\": invalid time: ", err));
  }
  return LineError(line, absl::StrCat("\"", key, "\" must be a number or an RFC 3339 string"));
}

std::string StringField(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

absl::StatusOr<Verdict> ParseVerdict(const std::string& s, int line) {
  if (s == "healthy") return foghorn::v1::VERDICT_HEALTHY;
  if (s == "unhealthy") return foghorn::v1::VERDICT_UNHEALTHY;
  if (s == "unknown") return foghorn::v1::VERDICT_UNKNOWN;
  if (s == "impaired") return foghorn::v1::VERDICT_IMPAIRED;
  return LineError(line, absl::StrCat("unknown verdict \"", s, "\""));
}

absl::StatusOr<FailoverKind> ParseKind(const std::string& s, int line) {
  if (s == "planned") return foghorn::v1::FAILOVER_KIND_PLANNED;
  if (s == "forced") return foghorn::v1::FAILOVER_KIND_FORCED;
  if (s == "try_planned_before_forced") return foghorn::v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED;
  if (s == "auto" || s.empty()) return foghorn::v1::FAILOVER_KIND_AUTO;
  return LineError(line, absl::StrCat("unknown failover kind \"", s, "\""));
}

absl::string_view KindName(FailoverKind kind) {
  switch (kind) {
    case foghorn::v1::FAILOVER_KIND_PLANNED:
      return "planned";
    case foghorn::v1::FAILOVER_KIND_FORCED:
      return "forced";
    case foghorn::v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED:
      return "try_planned_before_forced";
    case foghorn::v1::FAILOVER_KIND_AUTO:
      return "auto";
    default:
      return "none";
  }
}

absl::Status Apply(const json& obs, absl::Time t, const ReplayOptions& opts, int line,
                   GroupView& view) {
  const std::string type = StringField(obs, "type");
  if (type == "verdict") {
    const std::string target = StringField(obs, "target");
    if (target != "primary" && target != "secondary") {
      return LineError(line, "\"target\" must be \"primary\" or \"secondary\"");
    }
    auto verdict = ParseVerdict(StringField(obs, "verdict"), line);
    if (!verdict.ok()) return verdict.status();
    TargetHealth& h = target == "primary" ? view.primary : view.secondary;
    if (*verdict == foghorn::v1::VERDICT_UNHEALTHY) {
      if (obs.contains("since")) {
        auto since = TimeField(obs, "since", opts, line);
        if (!since.ok()) return since.status();
        h.unhealthy_since = *since;
      } else if (h.verdict != foghorn::v1::VERDICT_UNHEALTHY) {
        h.unhealthy_since = t;
      }
    } else {
      h.unhealthy_since = absl::InfinitePast();
    }
    h.verdict = *verdict;
  } else if (type == "lag") {
    auto it = obs.find("seconds");
    if (it == obs.end() || !it->is_number() || it->get<double>() < 0) {
      return LineError(line, "\"seconds\" must be a number >= 0");
    }
    view.last_lag = LagSample{absl::Seconds(it->get<double>()), t, StringField(obs, "source")};
  } else if (type == "roles") {
    Roles roles{StringField(obs, "primary"), StringField(obs, "secondary")};
    if (roles.primary_server.empty() || roles.secondary_server.empty()) {
      return LineError(line, "\"primary\" and \"secondary\" are required");
    }
    // Verdicts follow roles: after a swap the old secondary's health is the primary's.
    if (roles.primary_server == view.roles.secondary_server &&
        roles.secondary_server == view.roles.primary_server) {
      std::swap(view.primary, view.secondary);
    }
    view.roles = std::move(roles);
  } else if (type == "operation_started") {
    auto kind = ParseKind(StringField(obs, "kind"), line);
    if (!kind.ok()) return kind.status();
    view.in_flight = OperationInFlight{*kind, t};
  } else if (type == "operation_finished") {
    auto kind = ParseKind(StringField(obs, "kind"), line);
    if (!kind.ok()) return kind.status();
    const std::string outcome = StringField(obs, "outcome");
    if (outcome != "succeeded" && outcome != "failed") {
      return LineError(line, "\"outcome\" must be \"succeeded\" or \"failed\"");
    }
    view.in_flight.reset();
    if (outcome == "succeeded") {
      view.last_failover_at = t;
      view.approval.reset();
    }
    if (*kind == foghorn::v1::FAILOVER_KIND_PLANNED) {
      view.last_planned_attempt = PlannedAttempt{
          t, outcome == "succeeded" ? AttemptOutcome::kSucceeded : AttemptOutcome::kFailed,
          StringField(obs, "error")};
    }
  } else if (type == "pause") {
    if (obs.contains("until")) {
      auto until = TimeField(obs, "until", opts, line);
      if (!until.ok()) return until.status();
      view.paused_until = *until;
    } else {
      view.paused_until = absl::InfiniteFuture();
    }
  } else if (type == "resume") {
    view.paused_until = absl::InfinitePast();
  } else if (type == "approval") {
    auto kind = ParseKind(StringField(obs, "kind"), line);
    if (!kind.ok()) return kind.status();
    Approval a;
    a.kind = *kind;
    a.granted_at = t;
    a.expires_at = t + opts.policy.approval_ttl;
    if (obs.contains("expires")) {
      auto expires = TimeField(obs, "expires", opts, line);
      if (!expires.ok()) return expires.status();
      a.expires_at = *expires;
    }
    a.allow_data_loss_over_budget = obs.value("allow_data_loss", false);
    view.approval = a;
  } else if (type == "groups_failing") {
    auto it = obs.find("count");
    if (it == obs.end() || !it->is_number_integer()) {
      return LineError(line, "\"count\" must be an integer");
    }
    view.groups_failing = it->get<int>();
  } else if (type == "vantage") {
    view.vantage_impaired = obs.value("impaired", false);
  } else if (type != "evaluate") {
    return LineError(line, absl::StrCat("unknown observation type \"", type, "\""));
  }
  return absl::OkStatus();
}

bool SameDecision(const Decision& a, const Decision& b) {
  if (a.stage != b.stage || a.action != b.action || a.reasons.size() != b.reasons.size()) {
    return false;
  }
  for (size_t i = 0; i < a.reasons.size(); ++i) {
    if (a.reasons[i].code != b.reasons[i].code) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<ReplayedDecision>> Replay(absl::string_view timeline,
                                                     const ReplayOptions& options) {
  std::vector<ReplayedDecision> out;
  GroupView view;
  common::FakeClock clock(options.epoch);
  std::optional<absl::Time> next_eval;
  int evaluations = 0;
  auto evaluate = [&](int line) -> absl::Status {
    if (++evaluations > options.max_evaluations) {
      return absl::ResourceExhaustedError(
          absl::StrCat("replay exceeded ", options.max_evaluations, " evaluations"));
    }
    ReplayedDecision r{clock.Now(), line, Decide(view, options.policy, clock.Now())};
    // Decide() always wakes in the future; guard the loop against a zero interval anyway.
    next_eval = std::max(r.decision.next_evaluation, clock.Now() + absl::Milliseconds(1));
    if (!options.only_changes || out.empty() || !SameDecision(out.back().decision, r.decision)) {
      out.push_back(std::move(r));
    }
    return absl::OkStatus();
  };
  // Timers due at or before `limit` fire first: a decision due at the instant of an observation
  // was made before that observation (e.g. the decision that started a recorded operation).
  auto run_timers_until = [&](absl::Time limit) -> absl::Status {
    while (next_eval && *next_eval <= limit) {
      clock.SetTime(*next_eval);
      absl::Status s = evaluate(0);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  };

  int line_no = 0;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(timeline, '\n')) {
    ++line_no;
    std::string text(line);
    const size_t start = text.find_first_not_of(" \t\r");
    if (start == std::string::npos || text[start] == '#') continue;
    json obs = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (obs.is_discarded() || !obs.is_object()) {
      return LineError(line_no, "not a JSON object");
    }
    auto t = TimeField(obs, "t", options, line_no);
    if (!t.ok()) return t.status();
    if (first) {
      clock.SetTime(*t);
      first = false;
    } else if (*t < clock.Now()) {
      return LineError(line_no, "time goes backwards");
    }
    absl::Status s = run_timers_until(*t);
    if (!s.ok()) return s;
    clock.SetTime(*t);
    s = Apply(obs, *t, options, line_no, view);
    if (!s.ok()) return s;
    s = evaluate(line_no);
    if (!s.ok()) return s;
  }
  if (options.until && !first) {
    absl::Status s = run_timers_until(*options.until);
    if (!s.ok()) return s;
  }
  return out;
}

std::string ReplayedDecisionToJson(const ReplayedDecision& r) {
  const Decision& d = r.decision;
  json j;
  j["t"] = absl::FormatTime(absl::RFC3339_full, r.at, absl::UTCTimeZone());
  j["line"] = r.line;
  j["stage"] = std::string(StageName(d.stage));
  j["action"] = std::string(KindName(d.action));
  j["intended"] = std::string(KindName(d.intended));
  json reasons = json::array();
  for (const Reason& reason : d.reasons)
    reasons.push_back(std::string(ReasonCodeName(reason.code)));
  j["reasons"] = reasons;
  j["summary"] = d.summary;
  if (d.next_evaluation != absl::InfiniteFuture()) {
    j["next_evaluation"] =
        absl::FormatTime(absl::RFC3339_full, d.next_evaluation, absl::UTCTimeZone());
  }
  if (d.estimated_data_loss) {
    j["estimated_data_loss_s"] = absl::ToDoubleSeconds(*d.estimated_data_loss);
  }
  return j.dump();
}

}  // namespace foghorn::decision
