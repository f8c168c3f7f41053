#include "orchestrator/drill/drill_runner.h"

#include <algorithm>
#include <utility>

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

std::string DrillIdFor(const std::string& group_name, absl::Time start) {
  return absl::StrCat("drill-", group_name, "-", IdTime(start));
}

// Everything one drill run carries between its stages.
struct DrillRunner::Context {
  const v1::Runbook& runbook;
  const DrillRequest& request;
  std::string group_id;
  journal::OperationRecord op;
  DrillReport report;
  std::string rw_address;
  absl::Duration verify_timeout;
  std::unique_ptr<ListenerSampler> sampler;
  // Dials of the rw listener made by verification: observations too, merged into the samples.
  std::vector<ListenerSample> verify_samples;
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
                           {options_.dial_timeout});
  return checker.Run(runbook);
}

absl::StatusOr<DrillReport> DrillRunner::Run(const v1::Runbook& runbook,
                                             const DrillRequest& request) {
  const v1::FailoverGroupRef& ref = runbook.group();
  if (ref.primary_server().empty() || ref.secondary_server().empty() || ref.name().empty()) {
    return absl::InvalidArgumentError("drill: the runbook's group names no servers");
  }
  Context c{runbook, request, DrillGroupId(ref), {}, {}, "", absl::ZeroDuration(), nullptr, {}};
  const absl::Time start = deps_.clock.Now();
  DrillReport& r = c.report;
  r.set_drill_id(request.drill_id.empty() ? DrillIdFor(ref.name(), start) : request.drill_id);
  r.set_group_id(c.group_id);
  r.set_group_name(ref.name());
  r.set_description(runbook.description());
  r.set_dry_run(request.dry_run);
  *r.mutable_started_at() = ToTimestamp(start);
  for (const ListenerAddress& l : ListenerAddresses(runbook)) {
    if (l.read_write && c.rw_address.empty()) c.rw_address = l.address;
  }
  r.set_rw_listener(c.rw_address);
  c.verify_timeout = runbook.drill().has_verify_timeout()
                         ? common::FromProtoDuration(runbook.drill().verify_timeout())
                         : options_.default_verify_timeout;
  const absl::Duration hold =
      request.hold.has_value() ? *request.hold : common::FromProtoDuration(runbook.drill().hold());
  const bool fail_back = !runbook.drill().has_fail_back() || runbook.drill().fail_back();

  if (!request.request_id.empty()) {
    ASSIGN_OR_RETURN(std::optional<journal::OperationRecord> existing,
                     deps_.journal.FindByRequestId(request.request_id));
    if (existing.has_value()) {
      return absl::AlreadyExistsError(absl::StrCat("drill request ", request.request_id,
                                                   " already ran as operation ", existing->id));
    }
  }

  // Preflight is read-only, so a dry run runs it too.
  const absl::Time preflight_start = deps_.clock.Now();
  ReadinessReport readiness = CheckReadiness(runbook);
  for (const CheckResult& ch : readiness.checks) *r.add_checks() = CheckResultToProto(ch);
  r.set_original_primary(readiness.arm.current_primary);
  r.set_partner(readiness.arm.current_secondary);
  r.set_final_primary(r.original_primary());
  for (const CheckResult& ch : readiness.checks) {
    if ((ch.status == CheckStatus::kFail || ch.status == CheckStatus::kWarn) && !ch.fix.empty()) {
      r.add_fixes(absl::StrCat(ch.name, ": ", ch.fix));
    }
  }

  if (request.dry_run) {
    const std::string from =
        r.original_primary().empty() ? ref.primary_server() : r.original_primary();
    const std::string to = r.partner().empty() ? ref.secondary_server() : r.partner();
    auto planned = [&](const std::string& name, const std::string& detail) {
      AddStep(r, name, v1::DRILL_STEP_STATE_PLANNED, detail, absl::InfinitePast(),
              absl::InfinitePast());
    };
    planned(kStepPreflight, readiness.Ready() ? "readiness checks pass now"
                                              : "readiness checks FAIL now: the drill would stop");
    planned(kStepFailover, absl::StrCat("planned failover ", from, " -> ", to));
    planned(kStepVerifyFailover,
            absl::StrCat("verify roles, rw listener, probes [",
                         absl::StrJoin(runbook.drill().verify_probes(), ", "), "]",
                         runbook.drill().check_hook().argv().empty() ? "" : ", check hook",
                         " within ", absl::FormatDuration(c.verify_timeout)));
    planned(kStepHold, absl::StrCat("hold ", absl::FormatDuration(hold)));
    if (fail_back) {
      planned(kStepFailback, absl::StrCat("planned failover ", to, " -> ", from));
      planned(kStepVerifyFailback, "verify the original roles are back");
    }
    r.set_outcome(v1::DRILL_OUTCOME_PLANNED);
    r.set_summary(absl::StrCat("dry run: would fail ", ref.name(), " over from ", from, " to ", to,
                               fail_back ? ", hold and fail back" : " and stay there",
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

  // The preflight ran above; journal its outcome as the first step.
  {
    ASSIGN_OR_RETURN(journal::StepRecord s,
                     deps_.journal.BeginStep(c.op.id, kStepPreflight, "readiness checks"));
    std::vector<std::string> failed;
    for (const CheckResult& ch : readiness.checks) {
      if (ch.status == CheckStatus::kFail) failed.push_back(absl::StrCat(ch.name, ": ", ch.reason));
    }
    std::string detail = failed.empty() ? "all readiness checks pass"
                                        : absl::StrCat("failed: ", absl::StrJoin(failed, "; "));
    RETURN_IF_ERROR(deps_.journal.EndStep(
        s.id, failed.empty() ? journal::StepState::kDone : journal::StepState::kFailed, detail));
    AddStep(r, kStepPreflight,
            failed.empty() ? v1::DRILL_STEP_STATE_DONE : v1::DRILL_STEP_STATE_FAILED, detail,
            preflight_start, deps_.clock.Now());
    if (!failed.empty() || r.original_primary().empty()) {
      r.set_outcome(v1::DRILL_OUTCOME_ABORTED);
      r.set_summary(absl::StrCat("preflight failed; nothing was changed (", detail, ")"));
      Finish(c);
      return r;
    }
  }

  if (deps_.on_begin) deps_.on_begin(c.group_id, r.drill_id());
  if (deps_.sampler_factory && !c.rw_address.empty()) {
    c.sampler = deps_.sampler_factory();
    if (c.sampler != nullptr) c.sampler->Start(c.rw_address);
  }

  const std::string original = r.original_primary();
  const std::string partner = r.partner();
  std::string failure;  // the first failed gate

  // Fails back after a failed gate, but only when the partner holds the primary role (else there
  // is nothing to undo, and a POST would go to the wrong side).
  auto abort_failback = [&]() {
    if (CurrentPrimary(c) != partner) return;
    absl::Status s =
        Step(c, kStepAbortFailback, absl::StrCat("planned failover back to ", original),
             [&](std::string* detail) {
               absl::Status st = DoFailover(c, kStepAbortFailback, original, partner);
               *detail = st.ok() ? absl::StrCat(original, " is primary again") : ShortStatus(st);
               return st;
             });
    if (s.ok()) {
      Step(c, kStepVerifyFailback, "verify the original roles are back", [&](std::string* d) {
        absl::Status st = VerifyRoles(c, original, partner, deps_.clock.Now() + c.verify_timeout);
        *d = st.ok() ? "roles restored" : ShortStatus(st);
        return st;
      }).IgnoreError();
    } else {
      r.add_fixes(absl::StrCat("the group is still on ", partner, ": fail it back to ", original,
                               " by hand (foghorn failover) once the cause is fixed"));
    }
  };

  absl::Status st =
      Step(c, kStepFailover, absl::StrCat("planned failover ", original, " -> ", partner),
           [&](std::string* detail) {
             absl::Status s = DoFailover(c, kStepFailover, partner, original);
             *detail = s.ok() ? absl::StrCat(partner, " is primary") : ShortStatus(s);
             return s;
           });
  if (!st.ok()) {
    failure = absl::StrCat("failover: ", ShortStatus(st));
    abort_failback();
  } else {
    st = Step(c, kStepVerifyFailover, "verify the new primary", [&](std::string* detail) {
      absl::Status s = Verify(c, kStepFailover, partner, original);
      *detail = s.ok() ? "roles, listener, probes and hook verified" : ShortStatus(s);
      return s;
    });
    if (!st.ok()) {
      failure = absl::StrCat("verify after failover: ", ShortStatus(st));
      abort_failback();
    } else {
      st =
          Step(c, kStepHold, absl::StrCat("hold ", absl::FormatDuration(hold)),
               [&](std::string* detail) {
                 const absl::Time until = deps_.clock.Now() + hold;
                 while (deps_.clock.Now() < until) {
                   if (request.cancel != nullptr && request.cancel->load()) {
                     *detail = "cancelled during the hold";
                     return absl::CancelledError("drill cancelled during the hold");
                   }
                   deps_.sleeper.SleepFor(std::min(options_.hold_slice, until - deps_.clock.Now()));
                 }
                 *detail = absl::StrCat("held ", absl::FormatDuration(hold));
                 return absl::OkStatus();
               });
      if (!st.ok()) {
        failure = "hold: cancelled";
        abort_failback();
      } else if (fail_back) {
        st = Step(c, kStepFailback, absl::StrCat("planned failover ", partner, " -> ", original),
                  [&](std::string* detail) {
                    absl::Status s = DoFailover(c, kStepFailback, original, partner);
                    *detail = s.ok() ? absl::StrCat(original, " is primary again") : ShortStatus(s);
                    return s;
                  });
        if (!st.ok()) {
          failure = absl::StrCat("failback: ", ShortStatus(st));
          abort_failback();
        } else {
          st =
              Step(c, kStepVerifyFailback, "verify the original primary", [&](std::string* detail) {
                absl::Status s = Verify(c, kStepFailback, original, partner);
                *detail = s.ok() ? "roles, listener, probes and hook verified" : ShortStatus(s);
                return s;
              });
          if (!st.ok()) failure = absl::StrCat("verify after failback: ", ShortStatus(st));
        }
      }
    }
  }

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
  r.set_final_primary(CurrentPrimary(c));
  if (failure.empty()) {
    r.set_outcome(v1::DRILL_OUTCOME_PASSED);
    r.set_summary(absl::StrCat("failed over ", original, " -> ", partner,
                               fail_back ? " and back" : "", "; the group ends on ",
                               r.final_primary()));
  } else {
    r.set_outcome(v1::DRILL_OUTCOME_FAILED);
    r.set_summary(absl::StrCat(failure, "; the group ends on ",
                               r.final_primary().empty() ? "(unknown)" : r.final_primary()));
    r.add_fixes(failure);
  }
  Finish(c);
  if (deps_.on_end) deps_.on_end(c.group_id, r.drill_id());
  return r;
}

absl::Status DrillRunner::Step(Context& c, const std::string& name, const std::string& intent,
                               const std::function<absl::Status(std::string* detail)>& body) {
  const absl::Time started = deps_.clock.Now();
  ASSIGN_OR_RETURN(journal::StepRecord s, deps_.journal.BeginStep(c.op.id, name, intent));
  std::string detail;
  absl::Status result = body(&detail);
  absl::Status end = deps_.journal.EndStep(
      s.id, result.ok() ? journal::StepState::kDone : journal::StepState::kFailed, detail);
  AddStep(c.report, name, result.ok() ? v1::DRILL_STEP_STATE_DONE : v1::DRILL_STEP_STATE_FAILED,
          detail, started, deps_.clock.Now());
  deps_.logger.Info(
      "drill step",
      {{"drill", c.report.drill_id()}, {"step", name}, {"ok", result.ok()}, {"detail", detail}});
  if (!end.ok() && result.ok()) return end;
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
  arm::FailoverRequest req;
  req.target = GroupOn(c.runbook.group(), to);
  req.kind = arm::FailoverKind::kPlanned;
  req.client_request_id = absl::StrCat(c.report.drill_id(), "-", step);
  req.on_accepted = [this, &c](const arm::OperationRef& ref) {
    deps_.journal.SetArmOperationUrl(c.op.id, executor::EncodeOperationRef(ref)).IgnoreError();
  };
  absl::StatusOr<arm::FailoverResult> res = deps_.arm.Failover(req);
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
    deps_.sleeper.SleepFor(options_.verify_poll_interval);
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
    deps_.sleeper.SleepFor(options_.verify_poll_interval);
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
      deps_.sleeper.SleepFor(options_.verify_poll_interval);
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
  absl::Status s = deps_.journal.UpdateOperation(c.op.id, state, r.summary());
  if (!s.ok()) deps_.logger.Warn("drill: journal update failed", {{"error", s.ToString()}});
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
