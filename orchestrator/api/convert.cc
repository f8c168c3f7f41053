#include "orchestrator/api/convert.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/durations.h"
#include "orchestrator/drill/drill_runner.h"

namespace foghorn::api {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return;
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t secs = nanos / 1000000000;
  int64_t rem = nanos % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --secs;
  }
  out->set_seconds(secs);
  out->set_nanos(static_cast<int32_t>(rem));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

v1::DecisionStage StageToProto(decision::Stage stage) {
  switch (stage) {
    case decision::Stage::kHealthy:
      return v1::DECISION_STAGE_HEALTHY;
    case decision::Stage::kSuspect:
      return v1::DECISION_STAGE_SUSPECT;
    case decision::Stage::kConfirmedDown:
      return v1::DECISION_STAGE_CONFIRMED_DOWN;
    case decision::Stage::kPlanned:
      return v1::DECISION_STAGE_PLANNED;
    case decision::Stage::kTryPlannedBeforeForced:
      return v1::DECISION_STAGE_TRY_PLANNED_BEFORE_FORCED;
    case decision::Stage::kForced:
      return v1::DECISION_STAGE_FORCED;
    case decision::Stage::kVerifying:
      return v1::DECISION_STAGE_VERIFYING;
    case decision::Stage::kWaitApproval:
      return v1::DECISION_STAGE_WAIT_APPROVAL;
    case decision::Stage::kHold:
      return v1::DECISION_STAGE_HOLD;
  }
  return v1::DECISION_STAGE_UNSPECIFIED;
}

v1::DecisionStage StageNameToProto(const std::string& name) {
  v1::DecisionStage stage;
  if (v1::DecisionStage_Parse(absl::StrCat("DECISION_STAGE_", name), &stage)) return stage;
  return v1::DECISION_STAGE_UNSPECIFIED;
}

v1::Decision DecisionToProto(const decision::Decision& d) {
  v1::Decision out;
  out.set_stage(StageToProto(d.stage));
  out.set_action(d.action);
  out.set_intended(d.intended);
  for (const decision::Reason& r : d.reasons) {
    v1::DecisionReason* pr = out.add_reasons();
    pr->set_code(std::string(decision::ReasonCodeName(r.code)));
    pr->set_text(r.text);
  }
  out.set_summary(d.summary);
  if (d.outage_began) SetTimestamp(*d.outage_began, out.mutable_outage_began());
  if (d.estimated_data_loss) {
    common::ToProtoDuration(*d.estimated_data_loss, out.mutable_estimated_data_loss());
  }
  out.set_target_server(d.target_server);
  if (IsFinite(d.next_evaluation)) SetTimestamp(d.next_evaluation, out.mutable_next_evaluation());
  return out;
}

namespace {

void SetHealth(const std::string& server, const decision::TargetHealth& h, v1::TargetHealth* out) {
  out->set_server(server);
  out->set_verdict(h.verdict);
  if (h.verdict == v1::VERDICT_UNHEALTHY || h.verdict == v1::VERDICT_IMPAIRED) {
    if (IsFinite(h.unhealthy_since))
      SetTimestamp(h.unhealthy_since, out->mutable_unhealthy_since());
  }
}

}  // namespace

v1::FailoverGroup GroupToProto(const agent::GroupSnapshot& g, absl::Time now,
                               absl::Time global_paused_until) {
  v1::FailoverGroup out;
  out.set_id(g.id);
  const v1::FailoverGroupRef& ref = g.runbook.group();
  out.set_name(ref.name());
  out.set_subscription_id(ref.subscription_id());
  out.set_resource_group(ref.resource_group());
  SetHealth(g.roles.primary_server, g.view.primary, out.mutable_primary());
  SetHealth(g.roles.secondary_server, g.view.secondary, out.mutable_secondary());
  out.set_roles_from_arm(g.roles_from_arm);
  out.set_vantage_impaired(g.view.vantage_impaired);
  if (g.view.last_lag) {
    common::ToProtoDuration(g.view.last_lag->lag, out.mutable_replication_lag());
    if (IsFinite(g.view.last_lag->sampled_at))
      SetTimestamp(g.view.last_lag->sampled_at, out.mutable_replication_lag_sampled_at());
  }
  if (g.last_decision) *out.mutable_last_decision() = DecisionToProto(*g.last_decision);
  out.set_operation_in_flight(g.in_flight_operation);
  v1::PauseState* pause = out.mutable_pause();
  if (g.paused_until > now) {
    pause->set_paused(true);
    if (IsFinite(g.paused_until))
      SetTimestamp(g.paused_until, pause->mutable_until());  // unset: until resumed
    pause->set_reason(g.pause_reason);
    pause->set_global(global_paused_until > now && global_paused_until >= g.paused_until);
  }
  out.set_approval_mode(v1::ApprovalMode_Name(g.runbook.policy().approval_mode()));
  for (const v1::ProbeSpec& p : g.runbook.probes()) {
    v1::ProbeInfo* info = out.add_probes();
    info->set_name(p.name());
    info->set_target(p.target());
  }
  if (g.readiness) {
    for (const agent::ReadinessCheck& c : g.readiness->checks) {
      v1::ReadinessCheck* rc = out.add_readiness();
      rc->set_name(c.name);
      rc->set_reason(c.detail);
      switch (c.state) {
        case agent::ReadinessState::kOk:
          rc->set_status(v1::CHECK_STATUS_PASS);
          break;
        case agent::ReadinessState::kWarn:
          rc->set_status(v1::CHECK_STATUS_WARN);
          break;
        case agent::ReadinessState::kFailing:
          rc->set_status(v1::CHECK_STATUS_FAIL);
          break;
        case agent::ReadinessState::kUnknown:
          rc->set_status(v1::CHECK_STATUS_SKIP);
          break;
      }
    }
    if (IsFinite(g.readiness->checked_at)) {
      SetTimestamp(g.readiness->checked_at, out.mutable_readiness_checked_at());
    }
  }
  return out;
}

v1::FailoverKind OperationKindToProto(const std::string& kind) {
  if (kind == "planned") return v1::FAILOVER_KIND_PLANNED;
  if (kind == "forced") return v1::FAILOVER_KIND_FORCED;
  if (kind == "try_planned_before_forced") return v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED;
  return v1::FAILOVER_KIND_UNSPECIFIED;
}

v1::OperationState OperationStateToProto(journal::OperationState s) {
  switch (s) {
    case journal::OperationState::kPending:
      return v1::OPERATION_STATE_PENDING;
    case journal::OperationState::kRunning:
      return v1::OPERATION_STATE_RUNNING;
    case journal::OperationState::kSucceeded:
      return v1::OPERATION_STATE_SUCCEEDED;
    case journal::OperationState::kFailed:
      return v1::OPERATION_STATE_FAILED;
    case journal::OperationState::kAborted:
      return v1::OPERATION_STATE_ABORTED;
    case journal::OperationState::kCancelled:
      return v1::OPERATION_STATE_CANCELLED;
  }
  return v1::OPERATION_STATE_UNSPECIFIED;
}

namespace {

v1::StepState StepStateToProto(journal::StepState s) {
  switch (s) {
    case journal::StepState::kIntent:
      return v1::STEP_STATE_RUNNING;
    case journal::StepState::kDone:
      return v1::STEP_STATE_DONE;
    case journal::StepState::kFailed:
      return v1::STEP_STATE_FAILED;
    case journal::StepState::kSkipped:
      return v1::STEP_STATE_SKIPPED;
  }
  return v1::STEP_STATE_UNSPECIFIED;
}

void StepToProto(const journal::StepRecord& s, v1::OperationStep* out) {
  out->set_seq(s.seq);
  out->set_name(s.name);
  out->set_state(StepStateToProto(s.state));
  out->set_detail(s.detail);
  if (IsFinite(s.started_at)) SetTimestamp(s.started_at, out->mutable_started_at());
  if (IsFinite(s.finished_at)) SetTimestamp(s.finished_at, out->mutable_finished_at());
}

}  // namespace

v1::Operation OperationToProto(const journal::OperationRecord& op,
                               const std::vector<journal::StepRecord>& steps) {
  v1::Operation out;
  out.set_id(op.id);
  out.set_group_id(op.group_id);
  out.set_request_id(op.request_id);
  out.set_kind(OperationKindToProto(op.kind));
  out.set_drill(op.kind == drill::kDrillOperationKind);
  out.set_target_server(op.target_server);
  out.set_requested_by(op.requested_by);
  out.set_reason(op.reason);
  out.set_state(OperationStateToProto(op.state));
  if (IsFinite(op.created_at)) SetTimestamp(op.created_at, out.mutable_created_at());
  if (IsFinite(op.updated_at)) SetTimestamp(op.updated_at, out.mutable_updated_at());
  out.set_arm_operation_url(op.arm_operation_url);
  out.set_outcome(op.outcome);
  for (const journal::StepRecord& s : steps) StepToProto(s, out.add_steps());
  return out;
}

v1::DecisionRecord DecisionRecordToProto(const journal::DecisionRecord& d) {
  v1::DecisionRecord out;
  out.set_id(d.id);
  out.set_group_id(d.group_id);
  if (IsFinite(d.at)) SetTimestamp(d.at, out.mutable_decided_at());
  out.set_stage(StageNameToProto(d.state));
  v1::FailoverKind action = v1::FAILOVER_KIND_UNSPECIFIED;
  if (d.action != "none") v1::FailoverKind_Parse(d.action, &action);
  out.set_action(action);
  nlohmann::json reasons =
      nlohmann::json::parse(d.reasons_json, nullptr, /*allow_exceptions=*/false);
  if (reasons.is_array()) {
    for (const auto& r : reasons) {
      if (!r.is_object()) continue;
      v1::DecisionReason* pr = out.add_reasons();
      pr->set_code(r.value("code", ""));
      pr->set_text(r.value("text", ""));
    }
  }
  out.set_summary(d.summary);
  return out;
}

v1::EventKind EventKindToProto(agent::AgentEvent::Kind kind) {
  switch (kind) {
    case agent::AgentEvent::Kind::kVerdict:
      return v1::EVENT_KIND_VERDICT;
    case agent::AgentEvent::Kind::kDecision:
      return v1::EVENT_KIND_DECISION;
    case agent::AgentEvent::Kind::kOperationStep:
      return v1::EVENT_KIND_OPERATION_STEP;
    case agent::AgentEvent::Kind::kOperation:
      return v1::EVENT_KIND_OPERATION;
  }
  return v1::EVENT_KIND_UNSPECIFIED;
}

namespace {

// Fills WatchResponse's `detail` oneof from the event's typed detail.
struct SetEventDetail {
  v1::WatchResponse& out;

  void operator()(const agent::VerdictChanged& v) const {
    v1::VerdictChanged* d = out.mutable_verdict();
    d->set_target(v.target);
    d->set_verdict(v.verdict);
    d->set_previous(v.previous);
    d->set_reason(v.reason);
  }
  void operator()(const agent::DecisionMade& d) const {
    *out.mutable_decision() = DecisionToProto(d.decision);
  }
  void operator()(const agent::OperationStepChanged& s) const {
    v1::OperationStepChanged* d = out.mutable_operation_step();
    StepToProto(s.step, d->mutable_step());
    d->set_kind(OperationKindToProto(s.kind));
    d->set_drill(s.kind == drill::kDrillOperationKind);
    d->set_request_id(s.request_id);
  }
  void operator()(const agent::OperationChanged& o) const {
    *out.mutable_operation() = OperationToProto(o.operation, {});
  }
  void operator()(const agent::ExternalFailoverNoticed& x) const {
    v1::ExternalFailover* d = out.mutable_external_failover();
    d->set_primary_server(x.primary_server);
    d->set_previous_primary(x.previous_primary);
    d->set_caller(x.caller);
    d->set_caller_note(x.caller_note);
  }
};

}  // namespace

v1::WatchResponse EventToProto(const agent::AgentEvent& e, std::uint64_t seq) {
  v1::WatchResponse out;
  out.set_seq(seq);
  out.set_kind(EventKindToProto(e.kind()));
  out.set_group_id(e.group_id);
  out.set_operation_id(e.operation_id);
  if (IsFinite(e.at)) SetTimestamp(e.at, out.mutable_at());
  out.set_summary(e.summary);
  std::visit(SetEventDetail{out}, e.detail);
  return out;
}

v1::ReadinessCheck CheckToProto(const drill::CheckResult& c) {
  return drill::CheckResultToProto(c);
}

v1::DrillReport DrillReportForApi(const drill::DrillReport& r) {
  v1::DrillReport out = r;
  out.clear_samples();
  out.clear_probes();
  return out;
}

v1::DrillStepState DrillStepStateToProto(journal::StepState s) {
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

}  // namespace foghorn::api
