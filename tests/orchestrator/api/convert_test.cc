// Agent events -> Watch messages: each kind of event fills its own typed detail; the drill
// report's API view.
#include "orchestrator/api/convert.h"

#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace foghorn::api {
namespace {

agent::AgentEvent Event(agent::AgentEvent::Detail detail) {
  agent::AgentEvent e;
  e.group_id = "sub/rg/fog";
  e.at = absl::FromUnixSeconds(1700000000);
  e.summary = "one line";
  e.detail = std::move(detail);
  return e;
}

TEST(WatchEventToProtoTest, CarriesTheEnvelopeOfEveryEvent) {
  v1::WatchResponse w = EventToProto(Event(agent::VerdictChanged{}), 42);
  EXPECT_EQ(w.seq(), 42u);
  EXPECT_EQ(w.group_id(), "sub/rg/fog");
  EXPECT_EQ(w.at().seconds(), 1700000000);
  EXPECT_EQ(w.summary(), "one line");
}

TEST(WatchEventToProtoTest, AVerdictChangeBecomesAVerdictEvent) {
  v1::WatchResponse w =
      EventToProto(Event(agent::VerdictChanged{v1::PROBE_TARGET_PRIMARY, v1::VERDICT_UNHEALTHY,
                                               v1::VERDICT_HEALTHY, "3 consecutive failures"}),
                   1);
  EXPECT_EQ(w.kind(), v1::EVENT_KIND_VERDICT);
  ASSERT_EQ(w.detail_case(), v1::WatchResponse::kVerdict);
  EXPECT_EQ(w.verdict().target(), v1::PROBE_TARGET_PRIMARY);
  EXPECT_EQ(w.verdict().verdict(), v1::VERDICT_UNHEALTHY);
  EXPECT_EQ(w.verdict().previous(), v1::VERDICT_HEALTHY);
  EXPECT_EQ(w.verdict().reason(), "3 consecutive failures");
}

TEST(WatchEventToProtoTest, ADecisionCarriesStageActionIntentAndReasons) {
  decision::Decision d;
  d.stage = decision::Stage::kHold;
  d.intended = v1::FAILOVER_KIND_PLANNED;
  d.reasons = {{decision::ReasonCode::kPaused, "automation is paused"}};
  d.target_server = "srv-b";
  v1::WatchResponse w = EventToProto(Event(agent::DecisionMade{d}), 1);
  EXPECT_EQ(w.kind(), v1::EVENT_KIND_DECISION);
  ASSERT_EQ(w.detail_case(), v1::WatchResponse::kDecision);
  EXPECT_EQ(w.decision().stage(), v1::DECISION_STAGE_HOLD);
  EXPECT_EQ(w.decision().action(), v1::FAILOVER_KIND_UNSPECIFIED);
  EXPECT_EQ(w.decision().intended(), v1::FAILOVER_KIND_PLANNED);
  ASSERT_EQ(w.decision().reasons_size(), 1);
  EXPECT_EQ(w.decision().reasons(0).code(), "PAUSED");
  EXPECT_EQ(w.decision().reasons(0).text(), "automation is paused");
  EXPECT_EQ(w.decision().target_server(), "srv-b");
}

TEST(WatchEventToProtoTest, AStepOfADrillIsMarkedAsSuch) {
  journal::StepRecord step;
  step.operation_id = "op-1";
  step.seq = 3;
  step.name = "failover";
  step.state = journal::StepState::kDone;
  step.detail = "srv-b is primary";
  agent::AgentEvent e = Event(agent::OperationStepChanged{step, "drill", "req-1"});
  e.operation_id = "op-1";
  v1::WatchResponse w = EventToProto(e, 1);
  EXPECT_EQ(w.kind(), v1::EVENT_KIND_OPERATION_STEP);
  EXPECT_EQ(w.operation_id(), "op-1");
  ASSERT_EQ(w.detail_case(), v1::WatchResponse::kOperationStep);
  EXPECT_TRUE(w.operation_step().drill());
  EXPECT_EQ(w.operation_step().kind(), v1::FAILOVER_KIND_UNSPECIFIED);
  EXPECT_EQ(w.operation_step().request_id(), "req-1");
  EXPECT_EQ(w.operation_step().step().seq(), 3);
  EXPECT_EQ(w.operation_step().step().name(), "failover");
  EXPECT_EQ(w.operation_step().step().state(), v1::STEP_STATE_DONE);
  EXPECT_EQ(w.operation_step().step().detail(), "srv-b is primary");
}

TEST(WatchEventToProtoTest, AStepOfAFailoverCarriesItsKind) {
  journal::StepRecord step;
  step.name = "arm:failover";
  v1::WatchResponse w =
      EventToProto(Event(agent::OperationStepChanged{step, "forced", "auto/1"}), 1);
  ASSERT_EQ(w.detail_case(), v1::WatchResponse::kOperationStep);
  EXPECT_FALSE(w.operation_step().drill());
  EXPECT_EQ(w.operation_step().kind(), v1::FAILOVER_KIND_FORCED);
  EXPECT_EQ(w.operation_step().step().state(), v1::STEP_STATE_RUNNING);
}

TEST(WatchEventToProtoTest, AnEndedOperationCarriesItsFinalStateAndOutcome) {
  journal::OperationRecord op;
  op.id = "op-1";
  op.group_id = "sub/rg/fog";
  op.request_id = "req-1";
  op.kind = "planned";
  op.target_server = "srv-b";
  op.state = journal::OperationState::kSucceeded;
  op.outcome = "srv-b is primary";
  v1::WatchResponse w = EventToProto(Event(agent::OperationChanged{op}), 1);
  EXPECT_EQ(w.kind(), v1::EVENT_KIND_OPERATION);
  ASSERT_EQ(w.detail_case(), v1::WatchResponse::kOperation);
  EXPECT_EQ(w.operation().id(), "op-1");
  EXPECT_EQ(w.operation().request_id(), "req-1");
  EXPECT_EQ(w.operation().kind(), v1::FAILOVER_KIND_PLANNED);
  EXPECT_FALSE(w.operation().drill());
  EXPECT_EQ(w.operation().state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(w.operation().outcome(), "srv-b is primary");
  EXPECT_EQ(w.operation().target_server(), "srv-b");
  EXPECT_EQ(w.operation().steps_size(), 0);
}

TEST(WatchEventToProtoTest, AnExternalFailoverIsAnOperationEventWithoutAnOperation) {
  v1::WatchResponse w =
      EventToProto(Event(agent::ExternalFailoverNoticed{"srv-b", "srv-a", "Microsoft.Sql", ""}), 1);
  EXPECT_EQ(w.kind(), v1::EVENT_KIND_OPERATION);
  EXPECT_TRUE(w.operation_id().empty());
  ASSERT_EQ(w.detail_case(), v1::WatchResponse::kExternalFailover);
  EXPECT_EQ(w.external_failover().primary_server(), "srv-b");
  EXPECT_EQ(w.external_failover().previous_primary(), "srv-a");
  EXPECT_EQ(w.external_failover().caller(), "Microsoft.Sql");
}

TEST(DrillReportForApiTest, KeepsTheReportButLeavesOutTheTimeline) {
  drill::DrillReport r;
  r.set_drill_id("drill-1");
  r.set_outcome(v1::DRILL_OUTCOME_PASSED);
  r.add_steps()->set_state(v1::DRILL_STEP_STATE_DONE);
  r.add_role_changes()->set_primary("srv-b");
  r.add_samples()->set_ok(true);
  r.add_probes()->set_probe("rw-listener");
  v1::DrillReport out = DrillReportForApi(r);
  EXPECT_EQ(out.drill_id(), "drill-1");
  EXPECT_EQ(out.outcome(), v1::DRILL_OUTCOME_PASSED);
  EXPECT_EQ(out.steps_size(), 1);
  EXPECT_EQ(out.role_changes_size(), 1);
  EXPECT_EQ(out.samples_size(), 0);
  EXPECT_EQ(out.probes_size(), 0);
}

TEST(DrillStepStateToProtoTest, AJournaledIntentIsARunningStep) {
  EXPECT_EQ(DrillStepStateToProto(journal::StepState::kIntent), v1::DRILL_STEP_STATE_RUNNING);
  EXPECT_EQ(DrillStepStateToProto(journal::StepState::kDone), v1::DRILL_STEP_STATE_DONE);
  EXPECT_EQ(DrillStepStateToProto(journal::StepState::kFailed), v1::DRILL_STEP_STATE_FAILED);
  EXPECT_EQ(DrillStepStateToProto(journal::StepState::kSkipped), v1::DRILL_STEP_STATE_SKIPPED);
}

TEST(GroupToProtoTest, CarriesTheLastReadinessRunWithUnknownAsSkip) {
  agent::GroupSnapshot g;
  g.id = "sub/rg/fog";
  g.readiness = agent::GroupReadiness{
      absl::FromUnixSeconds(1767225600),
      {{"failover_permission", agent::ReadinessState::kUnknown, "404: permission not checked"},
       {"secondary_link", agent::ReadinessState::kFailing, "db1: SUSPENDED, GEO"},
       {"failover_policy", agent::ReadinessState::kWarn, "Automatic races foghorn"},
       {"sku_parity", agent::ReadinessState::kOk, "GP_Gen5_2"}}};
  v1::FailoverGroup p = GroupToProto(g, absl::FromUnixSeconds(1767225600), absl::InfinitePast());
  ASSERT_EQ(p.readiness_size(), 4);
  EXPECT_EQ(p.readiness(0).status(), v1::CHECK_STATUS_SKIP);
  EXPECT_EQ(p.readiness(1).name(), "secondary_link");
  EXPECT_EQ(p.readiness(1).status(), v1::CHECK_STATUS_FAIL);
  EXPECT_EQ(p.readiness(1).reason(), "db1: SUSPENDED, GEO");
  EXPECT_EQ(p.readiness(2).status(), v1::CHECK_STATUS_WARN);
  EXPECT_EQ(p.readiness(3).status(), v1::CHECK_STATUS_PASS);
  EXPECT_EQ(p.readiness_checked_at().seconds(), 1767225600);
  // Without a readiness run, nothing is said.
  g.readiness.reset();
  EXPECT_EQ(GroupToProto(g, absl::FromUnixSeconds(0), absl::InfinitePast()).readiness_size(), 0);
}

}  // namespace
}  // namespace foghorn::api
