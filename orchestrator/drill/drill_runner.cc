#include "orchestrator/drill/drill_runner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::drill {
namespace {

std::string ShortStatus(const absl::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", std::string(s.message()));
}

std::string IdTime(absl::Time t) {
  return absl::FormatTime("%Y%m%dT%H%M%E3SZ", t, absl::UTCTimeZone());
}

void AddStep(DrillReport& r, const std::string& name, v1::DrillStepState state,
             const std::string& detail, absl::Time started, absl::Time finished) {
  v1::DrillStep* s = r.add_steps();
  s->set_name(name);
  s->set_state(state);
  s->set_detail(detail);
  if (IsFiniteTime(started)) *s->mutable_started_at() = ToTimestamp(started);
  if (IsFiniteTime(finished)) *s->mutable_finished_at() = ToTimestamp(finished);
}

v1::DrillStepState StepStateToProto(journal::StepState s) {
  switch (s) {
    case journal::StepState::kIntent:
      return v1::DRILL_STEP_STATE_RUNNING;
    case journal::StepState::kDone:
      return v1::DRILL_STEP_STATE_DONE;
    case journal::StepState::kFailed:
      return v1::DRILL_STEP_STATE_FAILED;
    case journal::StepState::kSkipped:
      return v1::DRILL_STEP_STATE_SKIPPED;
  }
  return v1::DRILL_STEP_STATE_UNSPECIFIED;
}

// The drill id rides on the preflight step's journaled intent and outcome ("... [drill <id>]"),
// so a resumed drill saves its report under the id the API returned.
constexpr char kDrillIdOpen[] = "[drill ";

std::string WithDrillId(const std::string& text, const std::string& drill_id) {
  return absl::StrCat(text, " ", kDrillIdOpen, drill_id, "]");
}

std::optional<std::string> DrillIdIn(const std::string& text) {
  const size_t at = text.rfind(kDrillIdOpen);
  if (at == std::string::npos) return std::nullopt;
  const size_t from = at + sizeof(kDrillIdOpen) - 1;
  const size_t to = text.find(']', from);
  if (to == std::string::npos || to == from) return std::nullopt;
  return text.substr(from, to - from);
}

bool IsJournalError(const absl::Status& s) {
  return !s.ok() && absl::StartsWith(s.message(), "journal:");
}

bool HasStep(const std::vector<journal::StepRecord>& steps, std::string_view name) {
  return std::any_of(steps.begin(), steps.end(),
                     [&](const journal::StepRecord& s) { return s.name == name; });
}

bool StepDone(const std::vector<journal::StepRecord>& steps, std::string_view name) {
  return std::any_of(steps.begin(), steps.end(), [&](const journal::StepRecord& s) {
    return s.name == name && s.state == journal::StepState::kDone;
  });
}

v1::DrillProbeOutcome ProbeOutcomeToProto(probes::ProbeOutcome o) {
  switch (o) {
    case probes::ProbeOutcome::kSuccess:
      return v1::DRILL_PROBE_OUTCOME_SUCCESS;
    case probes::ProbeOutcome::kFailure:
      return v1::DRILL_PROBE_OUTCOME_FAILURE;
    case probes::ProbeOutcome::kUnknown:
      return v1::DRILL_PROBE_OUTCOME_UNKNOWN;
  }
  return v1::DRILL_PROBE_OUTCOME_UNSPECIFIED;
}

}  // namespace

const std::vector<DrillStage>& DrillStages() {
  // The drill, as data: each stage's abort rule says what its failure (or an interruption while
  // the drill stands at it) leads to. Before the failover nothing needs undoing; from the failover
  // POST on the partner may hold the primary role until a fail back is verified.
  static const std::vector<DrillStage>* const stages = new std::vector<DrillStage>{
      {kStepPreflight, AbortRule::kEndAborted, false},
      {kStepFailover, AbortRule::kFailBack, false},
      {kStepVerifyFailover, AbortRule::kFailBack, false},
      {kStepHold, AbortRule::kFailBack, false},
      {kStepFailback, AbortRule::kFailBack, true},
      {kStepVerifyFailback, AbortRule::kEndFailed, true},
  };
  return *stages;
}

const DrillStage* FindDrillStage(std::string_view name) {
  for (const DrillStage& s : DrillStages()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ResumePlan PlanResume(const std::vector<journal::StepRecord>& steps, bool fail_back) {
  ResumePlan p;
  if (steps.empty()) return p;  // stopped before its first step: nothing was changed
  p.interrupted_at = steps.back().name;
  for (const journal::StepRecord& s : steps) {
    if (s.state == journal::StepState::kIntent) p.open_step = s;
  }
  // Without a failover step no POST can have been sent: end without asking ARM anything.
  if (!HasStep(steps, kStepFailover)) return p;
  p.outcome = v1::DRILL_OUTCOME_FAILED;
  if (HasStep(steps, kStepAbortFailback)) {
    // It was aborting already: finish the fail back unless it was done.
    p.action = StepDone(steps, kStepAbortFailback) ? ResumePlan::Action::kEnd
                                                   : ResumePlan::Action::kFailBack;
    return p;
  }
  const DrillStage* at = nullptr;
  for (const DrillStage& stage : DrillStages()) {
    if (stage.fail_back_only && !fail_back) continue;
    if (!StepDone(steps, stage.name)) {
      at = &stage;
      break;
    }
  }
  if (at == nullptr) {
    // Every stage ran; only the report was left.
    bool any_failed = false;
    for (const journal::StepRecord& s : steps) any_failed |= s.state == journal::StepState::kFailed;
    p.action = ResumePlan::Action::kEnd;
    p.outcome = any_failed ? v1::DRILL_OUTCOME_FAILED : v1::DRILL_OUTCOME_PASSED;
    return p;
  }
  switch (at->on_abort) {
    case AbortRule::kEndAborted:
      p.action = ResumePlan::Action::kEndAborted;
      p.outcome = v1::DRILL_OUTCOME_ABORTED;
      break;
    case AbortRule::kFailBack:
      p.action =
          StepDone(steps, kStepFailback) ? ResumePlan::Action::kEnd : ResumePlan::Action::kFailBack;
      break;
    case AbortRule::kEndFailed:
      p.action = ResumePlan::Action::kEnd;
      break;
  }
  return p;
}

std::string DrillIdFor(const std::string& group_name, absl::Time start) {
  return absl::StrCat("drill-", group_name, "-", IdTime(start));
}

// Everything one drill run carries between its stages.
struct DrillRunner::Context {
  Context(const v1::Runbook& rb, const DrillRequest* req, std::string group)
      : runbook(rb), request(req), group_id(std::move(group)) {}

  const v1::Runbook& runbook;
  // The request of a fresh run; nullptr for a resumed drill.
  const DrillRequest* request = nullptr;
  std::string group_id;
  journal::OperationRecord op;
  DrillReport report;
  std::string rw_address;
  absl::Duration verify_timeout = absl::ZeroDuration();
  absl::Duration verify_poll_interval = absl::ZeroDuration();
  absl::Duration hold = absl::ZeroDuration();
  bool fail_back = true;
  std::string original;
  std::string partner;
  ReadinessReport readiness;
  std::unique_ptr<ListenerSampler> sampler;
  // Dials of the rw listener made by verification: observations too, merged into the samples.
  std::vector<ListenerSample> verify_samples;
  // The operation may hold an ARM operation URL of an earlier step: cleared before the next ARM
  // step's intent, so a restart never follows the wrong step's operation.
  bool arm_url_set = false;
  // The drill paused the agent's automation on the group (on_begin).
  bool began = false;
  // The failure ended the drill before anything changed.
  bool aborted = false;
  // Appended to the summary (a resumed drill says so).
  std::string note;
};

DrillRunner::DrillRunner(Deps deps, Options options) : deps_(std::move(deps)), options_(options) {
  if (!deps_.run_command) {
    deps_.run_command = [](const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env, absl::Duration timeout,
                           const std::vector<std::string>& inherit) {
      return executor::RunCommand(argv, env, timeout, inherit);
    };
  }
}

ReadinessReport DrillRunner::CheckReadiness(const v1::Runbook& runbook) {
  ReadinessChecker checker({deps_.clock, deps_.arm, deps_.dialer, deps_.knowledge, &deps_.journal},
                           {options_.dial_timeout, options_.arm_endpoint});
  return checker.Run(runbook);
}

namespace {

void InitReport(DrillReport& r, const v1::Runbook& runbook, const std::string& group_id,
                const std::string& drill_id, absl::Time start) {
  r.set_drill_id(drill_id);
  r.set_group_id(group_id);
  r.set_group_name(runbook.group().name());
  r.set_description(runbook.description());
  *r.mutable_started_at() = ToTimestamp(start);
}

}  // namespace

absl::StatusOr<DrillReport> DrillRunner::Run(const v1::Runbook& runbook,
                                             const DrillRequest& request) {
  const v1::FailoverGroupRef& ref = runbook.group();
  if (ref.primary_server().empty() || ref.secondary_server().empty() || ref.name().empty()) {
    return absl::InvalidArgumentError("drill: the runbook's group names no servers");
  }
  Context c{runbook, &request, DrillGroupId(ref)};
  const absl::Time start = deps_.clock.Now();
  DrillReport& r = c.report;
  InitReport(r, runbook, c.group_id,
             request.drill_id.empty() ? DrillIdFor(ref.name(), start) : request.drill_id, start);
  r.set_dry_run(request.dry_run);
  for (const ListenerAddress& l : ListenerAddresses(runbook)) {
    if (l.read_write && c.rw_address.empty()) c.rw_address = l.address;
  }
  r.set_rw_listener(c.rw_address);
  c.verify_timeout = runbook.drill().has_verify_timeout()
                         ? common::FromProtoDuration(runbook.drill().verify_timeout())
                         : options_.default_verify_timeout;
  c.verify_poll_interval = runbook.drill().has_verify_poll_interval()
                               ? common::FromProtoDuration(runbook.drill().verify_poll_interval())
                               : options_.verify_poll_interval;
  c.hold =
      request.hold.has_value() ? *request.hold : common::FromProtoDuration(runbook.drill().hold());
  c.fail_back = !runbook.drill().has_fail_back() || runbook.drill().fail_back();

  if (!request.request_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<journal::OperationRecord> existing,
                     deps_.journal.FindByRequestId(request.request_id));
    if (existing.has_value()) {
      return absl::AlreadyExistsError(absl::StrCat("drill request ", request.request_id,
                                                   " already ran as operation ", existing->id));
    }
  }

  // Preflight is read-only, so a dry run runs it too.
  c.readiness = CheckReadiness(runbook);
  const ReadinessReport& readiness = c.readiness;
  for (const CheckResult& ch : readiness.checks) *r.add_checks() = CheckResultToProto(ch);
  r.set_original_primary(readiness.arm.current_primary);
  r.set_partner(readiness.arm.current_secondary);
  r.set_final_primary(r.original_primary());
  c.original = r.original_primary();
  c.partner = r.partner();
  for (const CheckResult& ch : readiness.checks) {
    if ((ch.status == CheckStatus::kFail || ch.status == CheckStatus::kWarn) && !ch.fix.empty()) {
      r.add_fixes(absl::StrCat(ch.name, ": ", ch.fix));
    }
  }

  if (request.dry_run) {
    const std::string from =
        r.original_primary().empty() ? ref.primary_server() : r.original_primary();
    const std::string to = r.partner().empty() ? ref.secondary_server() : r.partner();
    // The plan is the stage list, each stage saying what it would do.
    for (const DrillStage& stage : DrillStages()) {
      if (stage.fail_back_only && !c.fail_back) continue;
      std::string detail;
      if (stage.name == kStepPreflight) {
        detail = readiness.Ready() ? "readiness checks pass now"
                                   : "readiness checks FAIL now: the drill would stop";
      } else if (stage.name == kStepFailover) {
        detail = absl::StrCat("planned failover ", from, " -> ", to);
      } else if (stage.name == kStepVerifyFailover) {
        detail = absl::StrCat("verify roles, rw listener, probes [",
                              absl::StrJoin(runbook.drill().verify_probes(), ", "), "]",
                              runbook.drill().check_hook().argv().empty() ? "" : ", check hook",
                              " within ", absl::FormatDuration(c.verify_timeout));
      } else if (stage.name == kStepHold) {
        detail = absl::StrCat("hold ", absl::FormatDuration(c.hold));
      } else if (stage.name == kStepFailback) {
        detail = absl::StrCat("planned failover ", to, " -> ", from);
      } else {
        detail = "verify the original roles are back";
      }
      AddStep(r, std::string(stage.name), v1::DRILL_STEP_STATE_PLANNED, detail,
              absl::InfinitePast(), absl::InfinitePast());
    }
    r.set_outcome(v1::DRILL_OUTCOME_PLANNED);
    r.set_summary(absl::StrCat("dry run: would fail ", ref.name(), " over from ", from, " to ", to,
                               c.fail_back ? ", hold and fail back" : " and stay there",
                               readiness.Ready() ? "" : " (but the preflight fails now)"));
    *r.mutable_finished_at() = ToTimestamp(deps_.clock.Now());
    return r;
  }

  journal::OperationRecord op;
  op.group_id = c.group_id;
  op.request_id = request.request_id.empty() ? r.drill_id() : request.request_id;
  op.kind = kDrillOperationKind;
  op.target_server = r.partner().empty() ? ref.secondary_server() : r.partner();
  op.requested_by = request.requested_by;
  op.reason = request.reason.empty() ? "DR drill" : request.reason;
  op.state = journal::OperationState::kRunning;
  ASSIGN_OR_RETURN(journal::Journal::Created created, deps_.journal.CreateOperation(op));
  if (!created.created) {
    return absl::AlreadyExistsError(
        absl::StrCat("drill ", op.request_id, " already ran as operation ", created.operation.id));
  }
  c.op = created.operation;
  r.set_operation_id(c.op.id);
  deps_.logger.Info("drill started", {{"group", c.group_id}, {"drill", r.drill_id()}});

  std::string failure;
  for (const DrillStage& stage : DrillStages()) {
    if (stage.fail_back_only && !c.fail_back) continue;
    absl::Status st = RunStage(c, stage, &failure);
    if (st.ok()) continue;
    // The preflight's step could not be journaled: nothing was changed, say so to the caller.
    if (stage.name == kStepPreflight && IsJournalError(st)) return st;
    Abort(c, stage.on_abort);
    break;
  }
  Conclude(c, failure);
  return c.report;
}

absl::Status DrillRunner::RunStage(Context& c, const DrillStage& stage, std::string* failure) {
  DrillReport& r = c.report;
  const std::string& original = c.original;
  const std::string& partner = c.partner;
  absl::Status st;
  if (stage.name == kStepPreflight) {
    // The checks ran before the operation existed (they are read-only); their outcome is the
    // first step.
    std::vector<std::string> failed;
    for (const CheckResult& ch : c.readiness.checks) {
      if (ch.status == CheckStatus::kFail) failed.push_back(absl::StrCat(ch.name, ": ", ch.reason));
    }
    if (failed.empty() && original.empty()) failed.push_back("the current primary is unknown");
    const std::string detail = failed.empty()
                                   ? "all readiness checks pass"
                                   : absl::StrCat("failed: ", absl::StrJoin(failed, "; "));
    st = Step(
        c, kStepPreflight, WithDrillId("readiness checks", r.drill_id()),
        [&](std::string* d) {
          *d = detail;
          return failed.empty() ? absl::OkStatus() : absl::FailedPreconditionError(detail);
        },
        WithDrillId("", r.drill_id()));
    if (!st.ok()) {
      c.aborted = true;
      *failure = absl::StrCat("preflight failed; nothing was changed (", detail, ")");
      return st;
    }
    if (deps_.on_begin) deps_.on_begin(c.group_id, r.drill_id());
    c.began = true;
    if (deps_.sampler_factory && !c.rw_address.empty()) {
      c.sampler = deps_.sampler_factory();
      if (c.sampler != nullptr) c.sampler->Start(c.rw_address);
    }
    return st;
  }
  if (stage.name == kStepFailover || stage.name == kStepFailback) {
    const bool out = stage.name == kStepFailover;
    const std::string& to = out ? partner : original;
    const std::string& from = out ? original : partner;
    st = Step(c, std::string(stage.name), absl::StrCat("planned failover ", from, " -> ", to),
              [&](std::string* detail) {
                absl::Status s = DoFailover(c, std::string(stage.name), to, from);
                *detail = s.ok() ? absl::StrCat(to, out ? " is primary" : " is primary again")
                                 : ShortStatus(s);
                return s;
              });
    if (!st.ok()) *failure = absl::StrCat(std::string(stage.name), ": ", ShortStatus(st));
    return st;
  }
  if (stage.name == kStepVerifyFailover || stage.name == kStepVerifyFailback) {
    const bool out = stage.name == kStepVerifyFailover;
    st = Step(c, std::string(stage.name),
              out ? "verify the new primary" : "verify the original primary",
              [&](std::string* detail) {
                absl::Status s = out ? Verify(c, kStepFailover, partner, original)
                                     : Verify(c, kStepFailback, original, partner);
                *detail = s.ok() ? "roles, listener, probes and hook verified" : ShortStatus(s);
                return s;
              });
    if (!st.ok()) {
      *failure = absl::StrCat(out ? "verify after failover: " : "verify after failback: ",
                              ShortStatus(st));
    }
    return st;
  }
  if (stage.name == kStepHold) {
    const std::atomic<bool>* cancel = c.request != nullptr ? c.request->cancel : nullptr;
    st = Step(c, kStepHold, absl::StrCat("hold ", absl::FormatDuration(c.hold)),
              [&](std::string* detail) {
                const absl::Time until = deps_.clock.Now() + c.hold;
                while (deps_.clock.Now() < until) {
                  if (cancel != nullptr && cancel->load()) {
                    *detail = "cancelled during the hold";
                    return absl::CancelledError("drill cancelled during the hold");
                  }
                  deps_.sleeper.SleepFor(std::min(options_.hold_slice, until - deps_.clock.Now()));
                }
                *detail = absl::StrCat("held ", absl::FormatDuration(c.hold));
                return absl::OkStatus();
              });
    if (!st.ok()) *failure = "hold: cancelled";
    return st;
  }
  return absl::InternalError(absl::StrCat("drill stage ", std::string(stage.name), " has no body"));
}

void DrillRunner::Abort(Context& c, AbortRule rule) {
  switch (rule) {
    case AbortRule::kEndAborted:
      c.aborted = true;
      return;
    case AbortRule::kFailBack:
      AbortFailback(c);
      return;
    case AbortRule::kEndFailed:
      return;
  }
}

void DrillRunner::AbortFailback(Context& c) {
  // Only when the partner holds the primary role (or ARM cannot tell: the idempotent client reads
  // the original first and posts nothing when it is primary); else there is nothing to undo, and
  // a POST would go to the wrong side.
  const std::string now = CurrentPrimary(c);
  if (now == c.original) return;
  absl::Status s =
      Step(c, kStepAbortFailback, absl::StrCat("planned failover back to ", c.original),
           [&](std::string* detail) {
             absl::Status st = DoFailover(c, kStepAbortFailback, c.original, c.partner);
             *detail = st.ok() ? absl::StrCat(c.original, " is primary again") : ShortStatus(st);
             return st;
           });
  if (s.ok()) {
    Step(c, kStepVerifyFailback, "verify the original roles are back", [&](std::string* d) {
      absl::Status st = VerifyRoles(c, c.original, c.partner, deps_.clock.Now() + c.verify_timeout);
      *d = st.ok() ? "roles restored" : ShortStatus(st);
      return st;
    }).IgnoreError();
  } else {
    c.report.add_fixes(absl::StrCat("the group is still on ", c.partner, ": fail it back to ",
                                    c.original,
                                    " by hand (foghorn failover) once the cause is fixed"));
  }
}

void DrillRunner::Conclude(Context& c, const std::string& failure) {
  DrillReport& r = c.report;
  std::vector<ListenerSample> samples;
  if (c.sampler != nullptr) samples = c.sampler->Stop();
  samples.insert(samples.end(), c.verify_samples.begin(), c.verify_samples.end());
  std::stable_sort(samples.begin(), samples.end(),
                   [](const ListenerSample& a, const ListenerSample& b) { return a.at < b.at; });
  ComputeDirectionMetrics(samples, r.mutable_directions());
  for (const ListenerSample& s : samples) {
    v1::DrillListenerSample* p = r.add_samples();
    if (IsFiniteTime(s.at)) *p->mutable_at() = ToTimestamp(s.at);
    p->set_ok(s.ok);
    p->set_detail(s.detail);
  }
  const std::string note = c.note.empty() ? "" : absl::StrCat(" (", c.note, ")");
  if (c.aborted) {
    // Nothing was changed: no need to ask ARM where the group ends.
    r.set_final_primary(c.original);
    r.set_outcome(v1::DRILL_OUTCOME_ABORTED);
    r.set_summary(absl::StrCat(failure, note));
  } else {
    r.set_final_primary(CurrentPrimary(c));
    if (failure.empty()) {
      r.set_outcome(v1::DRILL_OUTCOME_PASSED);
      r.set_summary(absl::StrCat("failed over ", c.original, " -> ", c.partner,
                                 c.fail_back ? " and back" : "", "; the group ends on ",
                                 r.final_primary(), note));
    } else {
      r.set_outcome(v1::DRILL_OUTCOME_FAILED);
      r.set_summary(absl::StrCat(failure, "; the group ends on ",
                                 r.final_primary().empty() ? "(unknown)" : r.final_primary(),
                                 note));
      r.add_fixes(failure);
    }
  }
  Finish(c);
  if (c.began && deps_.on_end) deps_.on_end(c.group_id, r.drill_id());
}

absl::StatusOr<std::string> DrillRunner::ResumedDrillId(const journal::OperationRecord& op) {
  ASSIGN_OR_RETURN(std::vector<journal::StepRecord> steps, deps_.journal.Steps(op.id));
  for (const journal::StepRecord& s : steps) {
    if (s.name != kStepPreflight) continue;
    if (std::optional<std::string> id = DrillIdIn(s.detail)) return *id;
  }
  // Stopped before its preflight was journaled; the launcher names a drill's request after it
  // unless the caller gave a request id.
  return op.request_id.empty() ? op.id : op.request_id;
}

absl::StatusOr<DrillReport> DrillRunner::Resume(const v1::Runbook& runbook,
                                                const journal::OperationRecord& op) {
  absl::StatusOr<DrillReport> r = ResumeDrill(runbook, op);
  // A report means Conclude ran and gave the pause back (on_end). A resume that failed ends the
  // drill here too: the group's drill pause, kept by the agent across the restart, is released
  // now rather than at the next restart (the operation stays unfinished in the journal; the next
  // resume takes the pause again). Only for a drill of the runbook's group: another group's pause
  // is not this call's.
  if (!r.ok() && deps_.on_end && op.kind == kDrillOperationKind &&
      op.group_id == DrillGroupId(runbook.group())) {
    absl::StatusOr<std::string> id = ResumedDrillId(op);
    const std::string drill_id = id.ok() ? *id : op.request_id.empty() ? op.id : op.request_id;
    deps_.logger.Error("an interrupted drill could not be resumed; its pause is released",
                       {{"drill", drill_id}, {"error", r.status().ToString()}});
    deps_.on_end(op.group_id, drill_id);
  }
  return r;
}

absl::StatusOr<DrillReport> DrillRunner::ResumeDrill(const v1::Runbook& runbook,
                                                     const journal::OperationRecord& op_in) {
  const v1::FailoverGroupRef& ref = runbook.group();
  if (ref.primary_server().empty() || ref.secondary_server().empty() || ref.name().empty()) {
    return absl::InvalidArgumentError("drill: the runbook's group names no servers");
  }
  ASSIGN_OR_RETURN(journal::OperationRecord op, deps_.journal.GetOperation(op_in.id));
  if (op.kind != kDrillOperationKind || op.group_id != DrillGroupId(ref) ||
      journal::IsFinished(op.state)) {
    return absl::InvalidArgumentError(
        absl::StrCat("operation ", op.id, " is not an unfinished drill of ", DrillGroupId(ref)));
  }
  ASSIGN_OR_RETURN(std::vector<journal::StepRecord> steps, deps_.journal.Steps(op.id));
  ASSIGN_OR_RETURN(std::string drill_id, ResumedDrillId(op));
  Context c{runbook, nullptr, op.group_id};
  c.op = op;
  c.arm_url_set = !op.arm_operation_url.empty();
  DrillReport& r = c.report;
  InitReport(r, runbook, c.group_id, drill_id,
             IsFiniteTime(op.created_at) ? deps_.clock.FromWall(op.created_at) : deps_.clock.Now());
  r.set_operation_id(op.id);
  r.set_requested_by(op.requested_by);
  r.set_reason(op.reason);
  for (const ListenerAddress& l : ListenerAddresses(runbook)) {
    if (l.read_write && c.rw_address.empty()) c.rw_address = l.address;
  }
  r.set_rw_listener(c.rw_address);
  c.verify_timeout = runbook.drill().has_verify_timeout()
                         ? common::FromProtoDuration(runbook.drill().verify_timeout())
                         : options_.default_verify_timeout;
  c.verify_poll_interval = runbook.drill().has_verify_poll_interval()
                               ? common::FromProtoDuration(runbook.drill().verify_poll_interval())
                               : options_.verify_poll_interval;
  c.fail_back = !runbook.drill().has_fail_back() || runbook.drill().fail_back();
  // The drill went to the operation's target; it came from the group's other server.
  c.partner = op.target_server.empty() ? ref.secondary_server() : op.target_server;
  c.original = c.partner == ref.secondary_server() ? ref.primary_server() : ref.secondary_server();
  r.set_original_primary(c.original);
  r.set_partner(c.partner);
  r.set_final_primary(c.original);
  // The agent kept its automation off the group across the restart (the drill's pause); it is
  // taken again here, as a started drill takes it, so the drill holds it even when the agent did
  // not keep it (an earlier resume that failed released it). on_end gives it back once the drill
  // is over.
  if (deps_.on_begin) deps_.on_begin(c.group_id, drill_id);
  c.began = true;

  ResumePlan plan = PlanResume(steps, c.fail_back);
  const std::string at = plan.interrupted_at.empty() ? "its start" : plan.interrupted_at;
  deps_.logger.Warn("resuming a drill interrupted by a restart",
                    {{"drill", drill_id}, {"operation", op.id}, {"at", at}});
  if (plan.open_step.has_value()) {
    absl::Status s = FinishOpenStep(c, *plan.open_step);
    if (IsJournalError(s)) return s;
    // What became of the open step decides the rest.
    ASSIGN_OR_RETURN(steps, deps_.journal.Steps(op.id));
    plan = PlanResume(steps, c.fail_back);
  }
  std::string failure;
  switch (plan.action) {
    case ResumePlan::Action::kEndAborted:
      c.aborted = true;
      failure = absl::StrCat("interrupted by an agent restart at ", at,
                             ", before the failover; nothing was changed");
      break;
    case ResumePlan::Action::kFailBack: {
      AbortFailback(c);
      ASSIGN_OR_RETURN(steps, deps_.journal.Steps(op.id));
      const bool back = StepDone(steps, kStepAbortFailback) || StepDone(steps, kStepFailback);
      failure = absl::StrCat("interrupted by an agent restart during ", at, "; ",
                             back ? absl::StrCat("recovered: failed back to ", c.original)
                             : HasStep(steps, kStepAbortFailback)
                                 ? "the fail back after the restart failed"
                                 : absl::StrCat("recovered: ", c.partner, " never became primary"));
      break;
    }
    case ResumePlan::Action::kEnd:
      if (plan.outcome == v1::DRILL_OUTCOME_PASSED) {
        c.note = absl::StrCat("the agent restarted during ", at, ", before the report");
      } else {
        failure =
            absl::StrCat("interrupted by an agent restart during ", at, "; the drill had already ",
                         StepDone(steps, kStepAbortFailback) || StepDone(steps, kStepFailback)
                             ? "failed back"
                             : "ended its changes");
      }
      break;
  }
  // The report's steps are the journal's, from before and after the restart.
  ASSIGN_OR_RETURN(steps, deps_.journal.Steps(op.id));
  r.clear_steps();
  for (const journal::StepRecord& s : steps) {
    AddStep(
        r, s.name, StepStateToProto(s.state), s.detail,
        IsFiniteTime(s.started_at) ? deps_.clock.FromWall(s.started_at) : absl::InfinitePast(),
        IsFiniteTime(s.finished_at) ? deps_.clock.FromWall(s.finished_at) : absl::InfinitePast());
  }
  Conclude(c, failure);
  return c.report;
}

absl::Status DrillRunner::FinishOpenStep(Context& c, const journal::StepRecord& open) {
  deps_.logger.Warn("finishing a drill step left open by a restart",
                    {{"operation", c.op.id}, {"step", open.name}});
  executor::OperationRunner::StepBody body;
  if (open.name == kStepFailover || open.name == kStepFailback || open.name == kStepAbortFailback) {
    // The journaled operation URL is this step's (it is cleared before each ARM step's intent):
    // it is polled to its end, nothing is posted. Without one, ARM may still have accepted a POST
    // whose answer (and URL) the stopped agent never journaled, and that failover may not have
    // switched the roles yet: a re-read alone would call the step failed and leave that switch to
    // land after the drill ended. So the step goes through the idempotent client: it reads the
    // target first (primary: the step is done, nothing is posted) and posts only while the target
    // is not primary; a failover ARM is still carrying out refuses the POST as busy, and the
    // client re-reads until the target is primary. Either way the step ends with the target
    // primary and the abort rule fails the group back afterwards.
    const bool out = open.name == kStepFailover;
    const std::string to = out ? c.partner : c.original;
    const std::string from = out ? c.original : c.partner;
    body = [&, to, from]() -> absl::StatusOr<std::string> {
      absl::Status s = DoFailover(c, open.name, to, from);
      if (!s.ok()) return s;
      return absl::StrCat(to, " is primary (finished after a restart)");
    };
  } else {
    body = [&]() -> absl::StatusOr<std::string> {
      return absl::AbortedError(absl::StrCat("interrupted by an agent restart during ", open.name));
    };
  }
  return deps_.executor.ResumeJournaledStep(c.op, open, body);
}

absl::Status DrillRunner::Step(Context& c, const std::string& name, const std::string& intent,
                               const std::function<absl::Status(std::string* detail)>& body,
                               const std::string& journal_suffix) {
  const absl::Time started = deps_.clock.Now();
  const bool arm_step =
      name == kStepFailover || name == kStepFailback || name == kStepAbortFailback;
  if (arm_step && c.arm_url_set) {
    // Before the intent: a restart must never follow an earlier step's ARM operation.
    absl::Status s = deps_.journal.SetArmOperationUrl(c.op.id, "");
    if (!s.ok()) {
      AddStep(c.report, name, v1::DRILL_STEP_STATE_FAILED, ShortStatus(s), started,
              deps_.clock.Now());
      return s;
    }
    c.op.arm_operation_url.clear();
    c.arm_url_set = false;
  }
  std::string detail;
  bool ran = false;
  absl::Status result =
      deps_.executor.RunJournaledStep(c.op, name, intent, [&]() -> absl::StatusOr<std::string> {
        ran = true;
        absl::Status s = body(&detail);
        if (!s.ok()) return s;
        return detail + journal_suffix;
      });
  if (!ran) detail = ShortStatus(result);
  AddStep(c.report, name, result.ok() ? v1::DRILL_STEP_STATE_DONE : v1::DRILL_STEP_STATE_FAILED,
          detail, started, deps_.clock.Now());
  deps_.logger.Info(
      "drill step",
      {{"drill", c.report.drill_id()}, {"step", name}, {"ok", result.ok()}, {"detail", detail}});
  return result;
}

absl::Status DrillRunner::DoFailover(Context& c, const std::string& step, const std::string& to,
                                     const std::string& from) {
  v1::DrillDirection d;
  d.set_name(step == kStepFailover ? "failover" : "failback");
  if (step == kStepAbortFailback) d.set_name("abort_failback");
  d.set_from_server(from);
  d.set_to_server(to);
  *d.mutable_started_at() = ToTimestamp(deps_.clock.Now());
  d.mutable_listener_outage();  // measured by ComputeDirectionMetrics; zero until then
  d.set_data_loss_basis("planned failover: full synchronization before the switch");
  // Through the executor: idempotent (reads first, never a second accepted POST), and the
  // accepted operation's URL is journaled before it is polled.
  absl::StatusOr<arm::FailoverResult> res =
      deps_.executor.ArmFailover(c.op, GroupOn(c.runbook.group(), to), arm::FailoverKind::kPlanned,
                                 absl::StrCat(c.report.drill_id(), "-", step));
  c.arm_url_set = true;
  if (res.ok()) {
    d.set_completed(true);
    d.set_posts_accepted(res->posts_accepted);
    *d.mutable_roles_swapped_at() = ToTimestamp(deps_.clock.Now());
    v1::DrillRoleChange* change = c.report.add_role_changes();
    *change->mutable_at() = d.roles_swapped_at();
    change->set_primary(to);
    change->set_secondary(from);
    change->set_cause(d.name());
  }
  *c.report.add_directions() = std::move(d);
  return res.status();
}

absl::Status DrillRunner::VerifyRoles(Context& c, const std::string& primary,
                                      const std::string& secondary, absl::Time deadline) {
  const v1::FailoverGroupRef& ref = c.runbook.group();
  std::string last;
  while (true) {
    absl::StatusOr<arm::FailoverGroup> p = deps_.arm.Get(GroupOn(ref, primary));
    absl::StatusOr<arm::FailoverGroup> s = deps_.arm.Get(GroupOn(ref, secondary));
    if (p.ok() && s.ok() && p->replication_role == arm::ReplicationRole::kPrimary &&
        s->replication_role == arm::ReplicationRole::kSecondary) {
      return absl::OkStatus();
    }
    last = !p.ok()   ? ShortStatus(p.status())
           : !s.ok() ? ShortStatus(s.status())
                     : absl::StrCat(primary, " is ",
                                    std::string(arm::ReplicationRoleName(p->replication_role)),
                                    ", ", secondary, " is ",
                                    std::string(arm::ReplicationRoleName(s->replication_role)));
    if (deps_.clock.Now() >= deadline) break;
    deps_.sleeper.SleepFor(c.verify_poll_interval);
  }
  return absl::FailedPreconditionError(
      absl::StrCat("roles not as expected (", primary, " primary): ", last));
}

absl::Status DrillRunner::VerifyProbe(Context& c, const std::string& name, absl::Time since,
                                      absl::Time deadline) {
  const v1::ProbeSpec* spec = nullptr;
  for (const v1::ProbeSpec& p : c.runbook.probes()) {
    if (p.name() == name) spec = &p;
  }
  if (spec == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("verify probe ", name, " is not defined in the runbook"));
  }
  const std::string probe_id = probes::ProbeScheduler::ProbeId(c.group_id, name);
  std::string last;
  while (true) {
    std::optional<probes::ProbeStatus> status =
        deps_.knowledge != nullptr ? deps_.knowledge->Probe(probe_id) : std::nullopt;
    if (status.has_value()) {
      // Healthy, and on a result taken after the switch (not a stale one from before it).
      bool fresh = false;
      for (const probes::ProbeResult& res : status->history) {
        if (res.finished >= since && res.outcome == probes::ProbeOutcome::kSuccess) fresh = true;
      }
      if (status->state == probes::ProbeState::kHealthy && fresh) return absl::OkStatus();
      last = absl::StrCat("probe ", name, " is ", probes::ProbeStateName(status->state),
                          fresh ? "" : " (no success since the switch)");
    } else if (spec->has_tcp()) {
      absl::Status s = deps_.dialer.Dial(spec->tcp().address(), options_.dial_timeout);
      if (s.ok()) return s;
      last = ShortStatus(s);
    } else if (spec->has_arm_state()) {
      // The role check already read ARM on both sides.
      return absl::OkStatus();
    } else {
      return absl::FailedPreconditionError(absl::StrCat(
          "verify probe ", name, " is unknown to the agent and the drill cannot run it itself"));
    }
    if (deps_.clock.Now() >= deadline) break;
    deps_.sleeper.SleepFor(c.verify_poll_interval);
  }
  return absl::FailedPreconditionError(
      absl::StrCat("verify probe ", name, " not healthy in time: ", last));
}

absl::Status DrillRunner::RunCheckHook(Context& c, const std::string& phase,
                                       const std::string& primary) {
  const v1::ExecStep& hook = c.runbook.drill().check_hook();
  if (hook.argv().empty()) return absl::OkStatus();
  std::vector<std::string> argv(hook.argv().begin(), hook.argv().end());
  std::map<std::string, std::string> env(hook.env().begin(), hook.env().end());
  env["FOGHORN_DRILL_ID"] = c.report.drill_id();
  env["FOGHORN_DRILL_PHASE"] = phase;
  env["FOGHORN_GROUP"] = c.runbook.group().name();
  env["FOGHORN_PRIMARY_SERVER"] = primary;
  if (!c.rw_address.empty()) env["FOGHORN_RW_LISTENER"] = c.rw_address;
  std::vector<std::string> inherit(hook.inherit_env().begin(), hook.inherit_env().end());
  absl::StatusOr<executor::CommandResult> res =
      deps_.run_command(argv, env, options_.hook_timeout, inherit);
  if (res.ok() && !res->stderr_text.empty()) {
    deps_.logger.Warn(
        "drill check hook wrote to stderr",
        {{"drill", c.report.drill_id()}, {"stderr", res->stderr_text.substr(0, 4096)}});
  }
  if (!res.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("check hook ", argv[0], " could not run: ", ShortStatus(res.status())));
  }
  if (res->exit_code != 0) {
    // The report is viewer-readable: the hook's output goes through the redactor (registered
    // secrets, tokens, credential URLs) before it is cut to size.
    const std::string head = res->stdout_text.substr(0, 4096);
    std::string out = deps_.logger.redactor() != nullptr ? deps_.logger.redactor()->Redact(head)
                                                         : common::Redactor().Redact(head);
    out = out.substr(0, 200);
    return absl::FailedPreconditionError(
        absl::StrCat("check hook ", argv[0],
                     res->timed_out ? " timed out" : absl::StrCat(" exited ", res->exit_code),
                     out.empty() ? "" : ": " + out));
  }
  return absl::OkStatus();
}

absl::Status DrillRunner::Verify(Context& c, const std::string& phase, const std::string& primary,
                                 const std::string& secondary) {
  const absl::Time since = deps_.clock.Now();
  const absl::Time deadline = since + c.verify_timeout;
  RETURN_IF_ERROR(VerifyRoles(c, primary, secondary, deadline));
  if (!c.rw_address.empty()) {
    std::string last;
    while (true) {
      const absl::Time at = deps_.clock.Now();
      absl::Status s = deps_.dialer.Dial(c.rw_address, options_.dial_timeout);
      c.verify_samples.push_back({at, s.ok(), s.ok() ? "" : std::string(s.message())});
      if (s.ok()) break;
      last = ShortStatus(s);
      if (deps_.clock.Now() >= deadline) {
        return absl::FailedPreconditionError(
            absl::StrCat("read-write listener does not answer: ", last));
      }
      deps_.sleeper.SleepFor(c.verify_poll_interval);
    }
  }
  for (const std::string& name : c.runbook.drill().verify_probes()) {
    RETURN_IF_ERROR(VerifyProbe(c, name, since, deadline));
  }
  return RunCheckHook(c, phase, primary);
}

std::string DrillRunner::CurrentPrimary(Context& c) {
  const v1::FailoverGroupRef& ref = c.runbook.group();
  for (const std::string& server : {ref.primary_server(), ref.secondary_server()}) {
    absl::StatusOr<arm::FailoverGroup> g = deps_.arm.Get(GroupOn(ref, server));
    if (g.ok() && g->replication_role == arm::ReplicationRole::kPrimary) return server;
  }
  return "";
}

void DrillRunner::Finish(Context& c) {
  DrillReport& r = c.report;
  const absl::Time started = FromTimestamp(r.started_at());
  const absl::Time finished = deps_.clock.Now();
  *r.mutable_finished_at() = ToTimestamp(finished);
  // The agent's probe history over the drill, for the timeline.
  if (deps_.knowledge != nullptr) {
    for (const v1::ProbeSpec& p : c.runbook.probes()) {
      std::optional<probes::ProbeStatus> status =
          deps_.knowledge->Probe(probes::ProbeScheduler::ProbeId(c.group_id, p.name()));
      if (!status.has_value()) continue;
      v1::DrillProbeTimeline* t = r.add_probes();
      t->set_probe(p.name());
      for (const probes::ProbeResult& res : status->history) {
        if (res.finished < started || res.finished > finished) continue;
        v1::DrillProbeTimeline::Point* pt = t->add_points();
        *pt->mutable_at() = ToTimestamp(res.finished);
        pt->set_outcome(ProbeOutcomeToProto(res.outcome));
      }
    }
  }
  const journal::OperationState state =
      r.outcome() == v1::DRILL_OUTCOME_PASSED    ? journal::OperationState::kSucceeded
      : r.outcome() == v1::DRILL_OUTCOME_ABORTED ? journal::OperationState::kAborted
                                                 : journal::OperationState::kFailed;
  // The report is saved before the operation's end is journaled: an agent that dies in between
  // resumes the drill and saves it again, where the other order could lose it.
  if (deps_.reports != nullptr) {
    absl::StatusOr<v1::DrillReportSummary> saved = deps_.reports->Save(r);
    if (!saved.ok()) {
      deps_.logger.Warn("drill: report not saved", {{"error", saved.status().ToString()}});
    }
  }
  if (!c.runbook.drill().report_path().empty()) {
    absl::StatusOr<std::string> json = ReportToJson(r);
    absl::Status w =
        json.ok() ? WriteReportFile(c.runbook.drill().report_path(), *json) : json.status();
    if (!w.ok()) deps_.logger.Warn("drill: report_path not written", {{"error", w.ToString()}});
  }
  absl::StatusOr<journal::OperationRecord> ended =
      deps_.executor.EndOperation(c.op, state, r.summary());
  if (!ended.ok()) {
    deps_.logger.Warn("drill: journal update failed", {{"error", ended.status().ToString()}});
  }
  deps_.logger.Info("drill finished",
                    {{"drill", r.drill_id()}, {"outcome", DrillOutcomeName(r.outcome())}});
}

void ComputeDirectionMetrics(const std::vector<ListenerSample>& samples,
                             google::protobuf::RepeatedPtrField<v1::DrillDirection>* directions) {
  for (v1::DrillDirection& d : *directions) {
    if (!d.completed() || samples.empty()) continue;
    const absl::Time started = TimeOrPast(d.has_started_at(), d.started_at());
    const absl::Time swapped = TimeOrPast(d.has_roles_swapped_at(), d.roles_swapped_at());
    absl::Time restored = absl::InfinitePast();
    for (const ListenerSample& s : samples) {
      if (s.ok && s.at >= swapped) {
        restored = s.at;
        break;
      }
    }
    const absl::Time end = restored != absl::InfinitePast() ? restored : samples.back().at;
    if (restored != absl::InfinitePast()) {
      *d.mutable_rw_restored_at() = ToTimestamp(restored);
      common::ToProtoDuration(restored - started, d.mutable_rto());
    }
    int failed_samples = 0;
    absl::Duration outage = absl::ZeroDuration();
    for (size_t k = 0; k < samples.size(); ++k) {
      const ListenerSample& s = samples[k];
      if (s.ok || s.at < started || s.at > end) continue;
      ++failed_samples;
      absl::Time next = k + 1 < samples.size() ? samples[k + 1].at : s.at;
      outage += std::min(next, end) - s.at;
    }
    d.set_failed_samples(failed_samples);
    common::ToProtoDuration(outage, d.mutable_listener_outage());
  }
}

}  // namespace foghorn::drill
