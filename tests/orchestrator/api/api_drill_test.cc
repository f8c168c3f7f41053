// The control API's drill methods through a real gRPC channel to a real in-process agent with a
// real DrillRunner behind it (AgentHarness: FakeArm, fake clock, reports in a temp dir):
// StartDrill in the background and as a dry run, one drill per group, request_id idempotency,
// CheckReadiness, ListDrillReports / GetDrillReport, progress on Watch, and the audit trail.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "foghorn/v1/control.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "orchestrator/api/api_server.h"
#include "tests/orchestrator/api/agent_harness.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::api {
namespace {

using ::foghorn::testing::AgentHarness;
using ::foghorn::testing::GrpcCode;
using ::foghorn::testing::HarnessOptions;
using ::foghorn::testing::IsOk;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class ApiDrillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto h = AgentHarness::Create(dir_.path(), HarnessOptions{});
    ASSERT_THAT(h, IsOk());
    h_ = std::move(h).value();
    stub_ = v1::ControlService::NewStub(
        grpc::CreateChannel(h_->address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (h_) h_->Shutdown();
  }
  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return ctx;
  }
  grpc::Status StartDrill(v1::StartDrillResponse* resp, int hold_seconds = 0,
                          const std::string& request_id = "", bool dry_run = false) {
    v1::StartDrillRequest req;
    req.set_group_id("fog");
    req.set_reason("quarterly drill");
    req.set_request_id(request_id);
    req.set_dry_run(dry_run);
    req.mutable_hold()->set_seconds(hold_seconds);
    return stub_->StartDrill(Ctx().get(), req, resp);
  }
  v1::GetDrillReportResponse Report(const std::string& id, bool html = false) {
    v1::GetDrillReportRequest req;
    req.set_drill_id(id);
    req.set_include_html(html);
    v1::GetDrillReportResponse resp;
    grpc::Status s = stub_->GetDrillReport(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  foghorn::testing::TempDir dir_;
  std::unique_ptr<AgentHarness> h_;
  std::unique_ptr<v1::ControlService::Stub> stub_;
};

TEST_F(ApiDrillTest, StartDrillAnswersAtOnceAndTheDrillFailsOverAndBackInTheBackground) {
  v1::StartDrillResponse resp;
  ASSERT_TRUE(StartDrill(&resp).ok());
  EXPECT_TRUE(resp.created());
  EXPECT_THAT(resp.drill_id(), HasSubstr("drill-fog-"));
  EXPECT_EQ(resp.request_id(), resp.drill_id());
  ASSERT_TRUE(h_->drills()->AwaitIdle(absl::Seconds(20)));

  v1::GetDrillReportResponse r = Report(resp.drill_id(), /*html=*/true);
  EXPECT_EQ(r.report().outcome(), v1::DRILL_OUTCOME_PASSED) << r.report().summary();
  EXPECT_EQ(r.report().original_primary(), "srv-a");
  EXPECT_EQ(r.report().final_primary(), "srv-a");
  EXPECT_FALSE(r.report().operation_id().empty());
  ASSERT_THAT(r.report().directions(), SizeIs(2));
  EXPECT_EQ(r.report().directions(0).posts_accepted(), 1);
  EXPECT_EQ(r.report().directions(1).to_server(), "srv-a");
  EXPECT_THAT(r.report().checks(), SizeIs(8));
  EXPECT_EQ(r.report().requested_by(), "local");
  EXPECT_EQ(h_->arm().Accepted("fog"), 2);
  // report_json is the stored report (protobuf's JSON mapping).
  auto stored = nlohmann::json::parse(r.report_json());
  EXPECT_EQ(stored["drill_id"], resp.drill_id());
  EXPECT_EQ(stored["outcome"], "DRILL_OUTCOME_PASSED");
  EXPECT_EQ(stored["role_changes"].size(), 2u);
  EXPECT_THAT(r.report().role_changes(), SizeIs(2));
  EXPECT_THAT(r.html(), HasSubstr("id=\"timeline\""));
  EXPECT_THAT(r.html_path(), HasSubstr(resp.drill_id() + ".html"));
  EXPECT_TRUE(std::filesystem::exists(r.json_path()));

  v1::ListDrillReportsResponse list;
  ASSERT_TRUE(stub_->ListDrillReports(Ctx().get(), {}, &list).ok());
  ASSERT_THAT(list.reports(), SizeIs(1));
  EXPECT_EQ(list.reports(0).drill_id(), resp.drill_id());
  EXPECT_EQ(list.reports(0).outcome(), v1::DRILL_OUTCOME_PASSED);

  // The group's automation was paused for the drill and resumed after it.
  v1::GetGroupRequest g;
  g.set_group_id("fog");
  v1::GetGroupResponse group;
  ASSERT_TRUE(stub_->GetGroup(Ctx().get(), g, &group).ok());
  EXPECT_FALSE(group.group().pause().paused());
  auto audit = *h_->journal().AuditTrail(0);
  bool audited = false;
  for (const auto& a : audit) {
    audited |= a.action == "StartDrill" && absl::StrContains(a.outcome, resp.drill_id());
  }
  EXPECT_TRUE(audited);
}

TEST_F(ApiDrillTest, ADryRunReturnsThePlanAndChangesNothing) {
  v1::StartDrillResponse resp;
  ASSERT_TRUE(StartDrill(&resp, 30, "", /*dry_run=*/true).ok());
  EXPECT_FALSE(resp.created());
  EXPECT_EQ(resp.plan().outcome(), v1::DRILL_OUTCOME_PLANNED);
  std::vector<std::string> steps;
  for (const auto& s : resp.plan().steps()) steps.push_back(s.name());
  EXPECT_THAT(steps, ElementsAre("preflight", "failover", "verify_failover", "hold", "failback",
                                 "verify_failback"));
  EXPECT_THAT(resp.plan().steps(3).detail(), HasSubstr("30s"));
  EXPECT_EQ(h_->arm().AcceptedTotal(), 0);
  v1::ListDrillReportsResponse list;
  ASSERT_TRUE(stub_->ListDrillReports(Ctx().get(), {}, &list).ok());
  EXPECT_THAT(list.reports(), SizeIs(0));
}

TEST_F(ApiDrillTest, ARunningDrillIsListedPausesTheGroupAndRefusesASecondDrill) {
  v1::StartDrillResponse first;
  ASSERT_TRUE(StartDrill(&first, 3600).ok());
  ASSERT_TRUE(h_->sleeper().AwaitSleeping(absl::Seconds(20)));  // in the hold

  v1::ListDrillReportsResponse list;
  ASSERT_TRUE(stub_->ListDrillReports(Ctx().get(), {}, &list).ok());
  ASSERT_THAT(list.reports(), SizeIs(1));
  EXPECT_EQ(list.reports(0).outcome(), v1::DRILL_OUTCOME_RUNNING);
  v1::GetDrillReportResponse r = Report(first.drill_id());
  EXPECT_EQ(r.report().outcome(), v1::DRILL_OUTCOME_RUNNING);
  EXPECT_FALSE(r.report().operation_id().empty());
  std::vector<std::string> steps;
  for (const auto& s : r.report().steps()) {
    steps.push_back(s.name() + ":" + drill::DrillStepStateName(s.state()));
  }
  EXPECT_THAT(steps, ElementsAre("preflight:done", "failover:done", "verify_failover:done",
                                 "hold:running"));

  v1::GetGroupRequest g;
  g.set_group_id("fog");
  v1::GetGroupResponse group;
  ASSERT_TRUE(stub_->GetGroup(Ctx().get(), g, &group).ok());
  EXPECT_TRUE(group.group().pause().paused());
  EXPECT_THAT(group.group().pause().reason(), HasSubstr(first.drill_id()));

  v1::StartDrillResponse second;
  EXPECT_THAT(StartDrill(&second), GrpcCode(grpc::StatusCode::ABORTED));
  // Shutdown (TearDown) cancels the hold; the drill fails back.
  h_->Shutdown();
  EXPECT_EQ(h_->arm().Accepted("fog"), 2);
}

TEST_F(ApiDrillTest, ARetryWithTheSameRequestIdReturnsTheSameDrill) {
  v1::StartDrillResponse first;
  ASSERT_TRUE(StartDrill(&first, 0, "drill-req-1").ok());
  v1::StartDrillResponse again;
  ASSERT_TRUE(StartDrill(&again, 0, "drill-req-1").ok());
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.drill_id(), first.drill_id());
  ASSERT_TRUE(h_->drills()->AwaitIdle(absl::Seconds(20)));
  EXPECT_EQ(h_->arm().Accepted("fog"), 2);
  v1::StartDrillResponse later;
  ASSERT_TRUE(StartDrill(&later, 0, "drill-req-1").ok());
  EXPECT_FALSE(later.created());
  EXPECT_EQ(later.drill_id(), first.drill_id());
  EXPECT_FALSE(later.operation().id().empty());
  EXPECT_TRUE(later.operation().drill());
}

TEST_F(ApiDrillTest, ARequestIdOfAFailoverIsNotReusedForADrill) {
  v1::RequestFailoverRequest failover;
  failover.set_group_id("fog");
  failover.set_kind(v1::FAILOVER_KIND_PLANNED);
  failover.set_reason("test");
  failover.set_request_id("shared-id");
  v1::RequestFailoverResponse started;
  ASSERT_TRUE(stub_->RequestFailover(Ctx().get(), failover, &started).ok());
  v1::StartDrillResponse resp;
  grpc::Status s = StartDrill(&resp, 0, "shared-id");
  EXPECT_THAT(s, GrpcCode(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_THAT(s.error_message(), HasSubstr(started.operation().id()));
}

TEST_F(ApiDrillTest, StartDrillRefusesMalformedRequests) {
  v1::StartDrillRequest req;
  req.set_group_id("fog");
  v1::StartDrillResponse resp;
  EXPECT_THAT(stub_->StartDrill(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));  // no reason
  req.set_reason("r");
  req.mutable_hold()->set_seconds(-1);
  EXPECT_THAT(stub_->StartDrill(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  req.clear_hold();
  req.set_group_id("nope");
  EXPECT_THAT(stub_->StartDrill(Ctx().get(), req, &resp), GrpcCode(grpc::StatusCode::NOT_FOUND));
  v1::GetDrillReportRequest get;
  get.set_drill_id("../etc");
  v1::GetDrillReportResponse got;
  EXPECT_THAT(stub_->GetDrillReport(Ctx().get(), get, &got),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  get.set_drill_id("drill-unknown");
  EXPECT_THAT(stub_->GetDrillReport(Ctx().get(), get, &got), GrpcCode(grpc::StatusCode::NOT_FOUND));
}

TEST_F(ApiDrillTest, CheckReadinessReturnsEveryCheckWithItsReasonAndFix) {
  v1::CheckReadinessRequest req;
  req.set_group_id("fog");
  v1::CheckReadinessResponse resp;
  ASSERT_TRUE(stub_->CheckReadiness(Ctx().get(), req, &resp).ok());
  EXPECT_TRUE(resp.ready());
  EXPECT_EQ(resp.current_primary(), "srv-a");
  EXPECT_EQ(resp.current_secondary(), "srv-b");
  std::vector<std::string> names;
  for (const auto& c : resp.checks()) {
    names.push_back(c.name());
    EXPECT_FALSE(c.reason().empty()) << c.name();
    if (c.status() == v1::CHECK_STATUS_WARN) {
      EXPECT_FALSE(c.fix().empty()) << c.name();
    }
  }
  EXPECT_THAT(names, Contains("group_roles"));
  EXPECT_THAT(names, Contains("not_paused"));
  EXPECT_THAT(names, SizeIs(8));
}

TEST_F(ApiDrillTest, DrillProgressIsPublishedOnWatchAsOperationSteps) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchRequest wreq;
  wreq.add_group_ids("fog");
  wreq.add_kinds(v1::EVENT_KIND_OPERATION_STEP);
  wreq.add_kinds(v1::EVENT_KIND_OPERATION);
  auto reader = stub_->Watch(&ctx, wreq);
  v1::WatchResponse e;
  ASSERT_TRUE(reader->Read(&e));
  ASSERT_EQ(e.kind(), v1::EVENT_KIND_SUBSCRIBED);
  v1::StartDrillResponse resp;
  ASSERT_TRUE(StartDrill(&resp).ok());
  std::vector<std::string> steps;
  bool ended = false;
  while (!ended && reader->Read(&e)) {
    if (e.kind() == v1::EVENT_KIND_OPERATION_STEP) {
      ASSERT_TRUE(e.has_operation_step()) << e.ShortDebugString();
      const v1::OperationStepChanged& s = e.operation_step();
      if (!s.drill()) continue;
      EXPECT_EQ(s.request_id(), resp.request_id());
      steps.push_back(s.step().name() + ":" + v1::StepState_Name(s.step().state()));
    } else {
      ASSERT_TRUE(e.has_operation()) << e.ShortDebugString();
      if (!e.operation().drill()) continue;
      EXPECT_EQ(e.operation().request_id(), resp.request_id());
      EXPECT_EQ(e.operation().state(), v1::OPERATION_STATE_SUCCEEDED);
      EXPECT_EQ(e.operation().id(), e.operation_id());
      ended = true;
    }
  }
  EXPECT_TRUE(ended);
  EXPECT_THAT(steps,
              ElementsAre("preflight:STEP_STATE_RUNNING", "preflight:STEP_STATE_DONE",
                          "failover:STEP_STATE_RUNNING", "failover:STEP_STATE_DONE",
                          "verify_failover:STEP_STATE_RUNNING", "verify_failover:STEP_STATE_DONE",
                          "hold:STEP_STATE_RUNNING", "hold:STEP_STATE_DONE",
                          "failback:STEP_STATE_RUNNING", "failback:STEP_STATE_DONE",
                          "verify_failback:STEP_STATE_RUNNING", "verify_failback:STEP_STATE_DONE"));
  ctx.TryCancel();
  while (reader->Read(&e)) {
  }
  reader->Finish().IgnoreError();
}

}  // namespace
}  // namespace foghorn::api
