// Every control-API RPC through a real gRPC channel to a real in-process agent (AgentHarness):
// results, each error code, idempotent retries, dry runs, Watch, health, and shutdown.
#include "orchestrator/api/api_server.h"

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "foghorn/v1/control.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "tests/orchestrator/api/agent_harness.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::api {
namespace {

using ::foghorn::testing::AgentHarness;
using ::foghorn::testing::GrpcCode;
using ::foghorn::testing::HarnessOptions;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class ApiServerTest : public ::testing::Test {
 protected:
  void Start(HarnessOptions options = {}) {
    auto h = AgentHarness::Create(dir_.path(), std::move(options));
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
  v1::FailoverGroup Group(const std::string& id = AgentHarness::GroupId(0)) {
    v1::GetGroupRequest req;
    req.set_group_id(id);
    v1::GetGroupResponse resp;
    grpc::Status s = stub_->GetGroup(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.group();
  }
  grpc::Status Failover(v1::FailoverKind kind, const std::string& request_id,
                        v1::RequestFailoverResponse* resp, bool dry_run = false,
                        const std::string& group = AgentHarness::GroupId(0)) {
    v1::RequestFailoverRequest req;
    req.set_group_id(group);
    req.set_kind(kind);
    req.set_reason("test");
    req.set_request_id(request_id);
    req.set_dry_run(dry_run);
    return stub_->RequestFailover(Ctx().get(), req, resp);
  }
  // The audit trail, after the refusal auditor's background writer has caught up.
  std::vector<journal::AuditRecord> Audit() {
    if (h_->server() != nullptr) h_->server()->FlushRefusalAudit();
    return *h_->journal().AuditTrail(0);
  }

  foghorn::testing::TempDir dir_;
  std::unique_ptr<AgentHarness> h_;
  std::unique_ptr<v1::ControlService::Stub> stub_;
};

TEST_F(ApiServerTest, ListGroupsReturnsRolesVerdictsAndTheLastDecision) {
  HarnessOptions o;
  o.groups = 3;
  Start(o);
  v1::ListGroupsResponse resp;
  ASSERT_TRUE(stub_->ListGroups(Ctx().get(), {}, &resp).ok());
  ASSERT_THAT(resp.groups(), SizeIs(3));
  const v1::FailoverGroup& g = resp.groups(0);
  EXPECT_EQ(g.id(), "sub/rg/fog");
  EXPECT_EQ(g.primary().server(), "srv-a");
  EXPECT_EQ(g.primary().verdict(), v1::VERDICT_HEALTHY);
  EXPECT_EQ(g.secondary().server(), "srv-b");
  EXPECT_EQ(g.secondary().verdict(), v1::VERDICT_HEALTHY);
  EXPECT_TRUE(g.roles_from_arm());
  EXPECT_EQ(g.last_decision().stage(), v1::DECISION_STAGE_HEALTHY);
  EXPECT_FALSE(g.last_decision().reasons().empty());
  EXPECT_EQ(g.replication_lag().seconds(), 3);
  EXPECT_FALSE(g.pause().paused());
  EXPECT_EQ(g.approval_mode(), "APPROVAL_MODE_AUTOMATIC");
  EXPECT_THAT(g.probes(), SizeIs(3));
}

TEST_F(ApiServerTest, ListGroupsPagesByPageToken) {
  HarnessOptions o;
  o.groups = 5;
  Start(o);
  std::vector<std::string> ids;
  v1::ListGroupsRequest req;
  req.set_page_size(2);
  for (int pages = 0; pages < 10; ++pages) {
    v1::ListGroupsResponse resp;
    ASSERT_TRUE(stub_->ListGroups(Ctx().get(), req, &resp).ok());
    for (const auto& g : resp.groups()) ids.push_back(g.id());
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_THAT(ids, ElementsAre("sub/rg/fog", "sub/rg/fog-1", "sub/rg/fog-2", "sub/rg/fog-3",
                               "sub/rg/fog-4"));
  req.set_page_size(-1);
  v1::ListGroupsResponse resp;
  EXPECT_THAT(stub_->ListGroups(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(ApiServerTest, GetGroupAcceptsTheIdOrTheUniqueNameAndSaysNotFound) {
  Start();
  EXPECT_EQ(Group("fog").id(), "sub/rg/fog");
  v1::GetGroupRequest req;
  v1::GetGroupResponse resp;
  EXPECT_THAT(stub_->GetGroup(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  req.set_group_id("sub/rg/nope");
  EXPECT_THAT(stub_->GetGroup(Ctx().get(), req, &resp), GrpcCode(grpc::StatusCode::NOT_FOUND));
}

TEST_F(ApiServerTest, RetriesWithTheSameRequestIdReturnTheSameOperationAndFailOverOnce) {
  Start();
  v1::RequestFailoverResponse first;
  ASSERT_TRUE(Failover(v1::FAILOVER_KIND_PLANNED, "req-1", &first).ok());
  EXPECT_TRUE(first.created());
  EXPECT_FALSE(first.operation().id().empty());
  EXPECT_EQ(first.operation().requested_by(), "local");
  EXPECT_EQ(first.plan().source_server(), "srv-a");
  EXPECT_EQ(first.plan().target_server(), "srv-b");
  EXPECT_THAT(first.plan().pre_steps(), ElementsAre("announce"));
  h_->RunDue();
  v1::RequestFailoverResponse second;
  ASSERT_TRUE(Failover(v1::FAILOVER_KIND_PLANNED, "req-1", &second).ok());
  EXPECT_FALSE(second.created());
  EXPECT_EQ(second.operation().id(), first.operation().id());
  h_->Run(absl::Seconds(2));
  EXPECT_EQ(h_->arm().Accepted("fog"), 1);
  EXPECT_EQ(Group().primary().server(), "srv-b");
  EXPECT_THAT(*h_->journal().ListOperations("", 0), SizeIs(1));
}

TEST_F(ApiServerTest, ConcurrentRetriesOfOneRequestMapToOneOperation) {
  Start();
  h_->arm().Hold();
  std::vector<std::thread> threads;
  std::vector<v1::RequestFailoverResponse> resps(4);
  std::vector<grpc::Status> statuses(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back(
        [&, i] { statuses[i] = Failover(v1::FAILOVER_KIND_PLANNED, "same", &resps[i]); });
  }
  for (auto& t : threads) t.join();
  h_->arm().Release();
  h_->RunDue();
  int created = 0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(resps[i].operation().id(), resps[0].operation().id());
    created += resps[i].created();
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(h_->arm().AcceptedTotal(), 1);
}

TEST_F(ApiServerTest, ADryRunReturnsThePlanAndTouchesNothing) {
  Start();
  v1::RequestFailoverResponse resp;
  ASSERT_TRUE(Failover(v1::FAILOVER_KIND_FORCED, "dry", &resp, /*dry_run=*/true).ok());
  EXPECT_FALSE(resp.has_operation());
  EXPECT_EQ(resp.plan().kind(), v1::FAILOVER_KIND_FORCED);
  EXPECT_EQ(resp.plan().target_server(), "srv-b");
  EXPECT_EQ(resp.decision().stage(), v1::DECISION_STAGE_HEALTHY);
  h_->Run(absl::Seconds(5));
  EXPECT_EQ(h_->arm().AcceptedTotal(), 0);
  EXPECT_THAT(*h_->journal().ListOperations("", 0), IsEmpty());
  // The dry run is audited, and the same request_id is still free for the real request.
  EXPECT_THAT(Audit(), Contains(::testing::Field(&journal::AuditRecord::outcome, "dry run ok")));
  ASSERT_TRUE(Failover(v1::FAILOVER_KIND_FORCED, "dry", &resp).ok());
  EXPECT_TRUE(resp.created());
}

TEST_F(ApiServerTest, RequestFailoverRefusesWithTheStandardCodes) {
  HarnessOptions o;
  o.groups = 2;
  Start(o);
  v1::RequestFailoverResponse resp;
  v1::RequestFailoverRequest req;
  req.set_group_id(AgentHarness::GroupId(0));
  EXPECT_THAT(stub_->RequestFailover(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));  // no reason
  req.set_reason("r");
  req.set_request_id(std::string(200, 'x'));
  EXPECT_THAT(stub_->RequestFailover(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  // The agent's automatic ids cannot be pre-claimed by a person.
  grpc::Status reserved =
      Failover(v1::FAILOVER_KIND_PLANNED, "auto/" + AgentHarness::GroupId(0) + "/0/planned", &resp);
  EXPECT_THAT(reserved, GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(reserved.error_message(), HasSubstr("reserved"));
  EXPECT_THAT(Failover(v1::FAILOVER_KIND_PLANNED, "", &resp, false, "sub/rg/none"),
              GrpcCode(grpc::StatusCode::NOT_FOUND));
  // AUTO while healthy: the engine would not fail over; the message says why.
  grpc::Status auto_status = Failover(v1::FAILOVER_KIND_AUTO, "", &resp);
  EXPECT_THAT(auto_status, GrpcCode(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(auto_status.error_message(), HasSubstr("HEALTHY"));
  // In flight: ABORTED.
  h_->arm().Hold();
  ASSERT_TRUE(Failover(v1::FAILOVER_KIND_PLANNED, "a", &resp).ok());
  ASSERT_TRUE(h_->arm().AwaitHeld(absl::Seconds(10)));
  EXPECT_THAT(Failover(v1::FAILOVER_KIND_PLANNED, "b", &resp), GrpcCode(grpc::StatusCode::ABORTED));
  // The same request_id for another group: ALREADY_EXISTS.
  EXPECT_THAT(Failover(v1::FAILOVER_KIND_PLANNED, "a", &resp, false, AgentHarness::GroupId(1)),
              GrpcCode(grpc::StatusCode::ALREADY_EXISTS));
  h_->arm().Release();
  h_->RunDue();
  // An unhealthy secondary: FAILED_PRECONDITION naming it.
  h_->prober().Set("b-tcp", probes::ProbeOutcome::kFailure);
  h_->prober().Set("a-tcp", probes::ProbeOutcome::kFailure);
  h_->Run(absl::Seconds(15));
  grpc::Status s = Failover(v1::FAILOVER_KIND_PLANNED, "", &resp, false, AgentHarness::GroupId(1));
  EXPECT_THAT(s, GrpcCode(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("not healthy"));
  // Every refusal is in the audit trail.
  std::vector<std::string> refusals;
  for (const auto& a : Audit()) {
    if (a.action == "RequestFailover" && !absl::StartsWith(a.outcome, "operation ")) {
      refusals.push_back(a.outcome.substr(0, a.outcome.find(':')));
    }
  }
  EXPECT_THAT(refusals, ::testing::UnorderedElementsAre("INVALID_ARGUMENT", "INVALID_ARGUMENT",
                                                        "INVALID_ARGUMENT", "NOT_FOUND",
                                                        "FAILED_PRECONDITION", "ABORTED",
                                                        "ALREADY_EXISTS", "FAILED_PRECONDITION"));
}

TEST_F(ApiServerTest, OperationsAreListedAndReadWithTheirSteps) {
  Start();
  v1::RequestFailoverResponse started;
  ASSERT_TRUE(Failover(v1::FAILOVER_KIND_PLANNED, "ops", &started).ok());
  h_->Run(absl::Seconds(2));
  v1::GetOperationRequest get;
  get.set_operation_id(started.operation().id());
  v1::GetOperationResponse op;
  ASSERT_TRUE(stub_->GetOperation(Ctx().get(), get, &op).ok());
  EXPECT_EQ(op.operation().state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(op.operation().kind(), v1::FAILOVER_KIND_PLANNED);
  std::vector<std::string> steps;
  for (const auto& s : op.operation().steps()) steps.push_back(s.name());
  EXPECT_THAT(steps, ElementsAre("pre:announce", "arm:failover", "verify:roles", "post:settle"));
  EXPECT_EQ(op.operation().steps(1).state(), v1::STEP_STATE_DONE);

  v1::ListOperationsRequest list;
  list.set_group_id("fog");
  v1::ListOperationsResponse ops;
  ASSERT_TRUE(stub_->ListOperations(Ctx().get(), list, &ops).ok());
  ASSERT_THAT(ops.operations(), SizeIs(1));
  EXPECT_THAT(ops.operations(0).steps(), IsEmpty());
  list.set_include_steps(true);
  ASSERT_TRUE(stub_->ListOperations(Ctx().get(), list, &ops).ok());
  EXPECT_THAT(ops.operations(0).steps(), SizeIs(4));

  get.set_operation_id("nope");
  EXPECT_THAT(stub_->GetOperation(Ctx().get(), get, &op), GrpcCode(grpc::StatusCode::NOT_FOUND));
  get.clear_operation_id();
  EXPECT_THAT(stub_->GetOperation(Ctx().get(), get, &op),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  list.set_page_size(5000);
  EXPECT_THAT(stub_->ListOperations(Ctx().get(), list, &ops),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  list.set_page_size(0);
  list.set_group_id("sub/rg/none");
  EXPECT_THAT(stub_->ListOperations(Ctx().get(), list, &ops),
              GrpcCode(grpc::StatusCode::NOT_FOUND));
}

TEST_F(ApiServerTest, ListDecisionsReturnsTheHistoryNewestFirst) {
  Start();
  h_->prober().Set("a-tcp", probes::ProbeOutcome::kFailure);
  h_->Run(absl::Seconds(12));
  v1::ListDecisionsRequest req;
  req.set_group_id(AgentHarness::GroupId(0));
  v1::ListDecisionsResponse resp;
  ASSERT_TRUE(stub_->ListDecisions(Ctx().get(), req, &resp).ok());
  ASSERT_GE(resp.decisions_size(), 2);
  EXPECT_EQ(resp.decisions(resp.decisions_size() - 1).stage(), v1::DECISION_STAGE_HEALTHY);
  EXPECT_NE(resp.decisions(0).stage(), v1::DECISION_STAGE_HEALTHY);
  EXPECT_FALSE(resp.decisions(0).reasons().empty());
  req.set_group_id("");
  EXPECT_THAT(stub_->ListDecisions(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  req.set_group_id("nope");
  EXPECT_THAT(stub_->ListDecisions(Ctx().get(), req, &resp), GrpcCode(grpc::StatusCode::NOT_FOUND));
}

TEST_F(ApiServerTest, CancelOperationSaysWhyAnOperationPastItsArmStepOrFinishedCannotBeCancelled) {
  Start();
  v1::RequestFailoverResponse started;
  h_->arm().Hold();
  ASSERT_TRUE(Failover(v1::FAILOVER_KIND_PLANNED, "c", &started).ok());
  ASSERT_TRUE(h_->arm().AwaitHeld(absl::Seconds(10)));
  v1::CancelOperationRequest req;
  req.set_operation_id(started.operation().id());
  req.set_reason("changed my mind");
  v1::CancelOperationResponse resp;
  grpc::Status running = stub_->CancelOperation(Ctx().get(), req, &resp);
  EXPECT_THAT(running, GrpcCode(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(running.error_message(), HasSubstr("cannot be cancelled safely"));
  h_->arm().Release();
  h_->RunDue();
  grpc::Status finished = stub_->CancelOperation(Ctx().get(), req, &resp);
  EXPECT_THAT(finished, GrpcCode(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(finished.error_message(), HasSubstr("already finished"));
  req.set_operation_id("nope");
  EXPECT_THAT(stub_->CancelOperation(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::NOT_FOUND));
  req.clear_reason();
  EXPECT_THAT(stub_->CancelOperation(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  // The invalid request is audited as a refusal, by the background writer.
  h_->server()->FlushRefusalAudit();
  int audited = 0;
  for (const auto& a : Audit()) audited += a.action == "CancelOperation";
  EXPECT_EQ(audited, 4);
}

TEST_F(ApiServerTest, ApproveLetsAWaitingFailoverProceedAndIsAudited) {
  HarnessOptions o;
  o.approval_mode = "approve_all";
  Start(o);
  v1::ApproveDecisionRequest approve;
  approve.set_group_id("fog");
  approve.set_reason("go");
  v1::ApproveDecisionResponse resp;
  EXPECT_THAT(stub_->ApproveDecision(Ctx().get(), approve, &resp),
              GrpcCode(grpc::StatusCode::FAILED_PRECONDITION));  // nothing waits yet
  h_->prober().Set("a-tcp", probes::ProbeOutcome::kFailure);
  h_->Run(absl::Minutes(2));
  EXPECT_EQ(Group().last_decision().stage(), v1::DECISION_STAGE_WAIT_APPROVAL);
  v1::RejectDecisionRequest reject;
  reject.set_group_id("fog");
  reject.set_reason("not yet");
  v1::RejectDecisionResponse rejected;
  ASSERT_TRUE(stub_->RejectDecision(Ctx().get(), reject, &rejected).ok());
  h_->Run(absl::Seconds(5));
  EXPECT_EQ(h_->arm().AcceptedTotal(), 0);
  ASSERT_TRUE(stub_->ApproveDecision(Ctx().get(), approve, &resp).ok());
  h_->Run(absl::Seconds(5));
  EXPECT_EQ(h_->arm().AcceptedTotal(), 1);
  std::vector<std::string> actions;
  for (const auto& a : Audit()) {
    if (a.actor == "local") actions.push_back(a.action);
  }
  EXPECT_THAT(actions, Contains("Approve"));
  EXPECT_THAT(actions, Contains("Reject"));
  approve.clear_reason();
  EXPECT_THAT(stub_->ApproveDecision(Ctx().get(), approve, &resp),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  approve.set_reason("x");
  approve.set_group_id("nope");
  EXPECT_THAT(stub_->ApproveDecision(Ctx().get(), approve, &resp),
              GrpcCode(grpc::StatusCode::NOT_FOUND));
}

TEST_F(ApiServerTest, PauseAndResumePerGroupAndGloballyWithExpiry) {
  HarnessOptions o;
  o.groups = 2;
  Start(o);
  v1::PauseAutomationRequest pause;
  pause.set_group_id("fog");
  pause.set_reason("maintenance");
  pause.mutable_duration()->set_seconds(600);
  v1::PauseAutomationResponse paused;
  ASSERT_TRUE(stub_->PauseAutomation(Ctx().get(), pause, &paused).ok());
  v1::FailoverGroup g = Group();
  EXPECT_TRUE(g.pause().paused());
  EXPECT_EQ(g.pause().reason(), "maintenance");
  EXPECT_EQ(absl::FromUnixSeconds(g.pause().until().seconds()),
            absl::FromUnixSeconds(absl::ToUnixSeconds(h_->clock().Now() + absl::Minutes(10))));
  EXPECT_FALSE(Group(AgentHarness::GroupId(1)).pause().paused());
  h_->Run(absl::Minutes(11));
  EXPECT_FALSE(Group().pause().paused());  // expired

  pause.clear_group_id();
  pause.clear_duration();
  pause.set_reason("freeze");
  ASSERT_TRUE(stub_->PauseAutomation(Ctx().get(), pause, &paused).ok());
  EXPECT_TRUE(paused.pause().global());
  v1::ListGroupsResponse list;
  ASSERT_TRUE(stub_->ListGroups(Ctx().get(), {}, &list).ok());
  EXPECT_TRUE(list.global_pause().paused());
  EXPECT_FALSE(list.global_pause().has_until());  // until resumed
  for (const auto& lg : list.groups()) {
    EXPECT_TRUE(lg.pause().paused());
    EXPECT_TRUE(lg.pause().global());
  }
  v1::ResumeAutomationResponse resumed;
  ASSERT_TRUE(stub_->ResumeAutomation(Ctx().get(), {}, &resumed).ok());
  EXPECT_FALSE(Group().pause().paused());

  pause.clear_reason();
  EXPECT_THAT(stub_->PauseAutomation(Ctx().get(), pause, &paused),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  pause.set_reason("x");
  pause.mutable_duration()->set_seconds(-5);
  EXPECT_THAT(stub_->PauseAutomation(Ctx().get(), pause, &paused),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  pause.clear_duration();
  pause.set_group_id("nope");
  EXPECT_THAT(stub_->PauseAutomation(Ctx().get(), pause, &paused),
              GrpcCode(grpc::StatusCode::NOT_FOUND));
  v1::ResumeAutomationRequest resume;
  resume.set_group_id("nope");
  EXPECT_THAT(stub_->ResumeAutomation(Ctx().get(), resume, &resumed),
              GrpcCode(grpc::StatusCode::NOT_FOUND));
}

TEST_F(ApiServerTest, ValidateRunbookReturnsEveryProblemWithItsLocation) {
  Start();
  v1::ValidateRunbookRequest req;
  req.set_file_name("good.yaml");
  req.set_text(AgentHarness::RunbookText(7, "automatic", true));
  v1::ValidateRunbookResponse resp;
  ASSERT_TRUE(stub_->ValidateRunbook(Ctx().get(), req, &resp).ok());
  EXPECT_TRUE(resp.valid());
  EXPECT_EQ(resp.group_id(), "sub/rg/fog-7");

  std::string bad = AgentHarness::RunbookText(7, "sometimes", true);
  bad.replace(bad.find("timeout: 1s"), 11, "timeout: soon");
  req.set_file_name("bad.yaml");
  req.set_text(bad);
  ASSERT_TRUE(stub_->ValidateRunbook(Ctx().get(), req, &resp).ok());
  EXPECT_FALSE(resp.valid());
  ASSERT_GE(resp.diagnostics_size(), 2);
  for (const auto& d : resp.diagnostics()) {
    EXPECT_EQ(d.file(), "bad.yaml");
    EXPECT_GT(d.line(), 0) << d.message();
  }
  req.clear_text();
  EXPECT_THAT(stub_->ValidateRunbook(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(ApiServerTest, DrillMethodsAreUnimplementedWhenTheAgentRunsWithoutDrills) {
  HarnessOptions o;
  o.with_drills = false;
  Start(o);
  v1::StartDrillRequest req;
  req.set_group_id("fog");
  req.set_reason("test");
  v1::StartDrillResponse resp;
  grpc::Status s = stub_->StartDrill(Ctx().get(), req, &resp);
  EXPECT_THAT(s, GrpcCode(grpc::StatusCode::UNIMPLEMENTED));
  EXPECT_THAT(s.error_message(), HasSubstr("drills are not enabled"));
  v1::CheckReadinessRequest ready;
  ready.set_group_id("fog");
  v1::CheckReadinessResponse ready_resp;
  EXPECT_THAT(stub_->CheckReadiness(Ctx().get(), ready, &ready_resp),
              GrpcCode(grpc::StatusCode::UNIMPLEMENTED));
  v1::ListDrillReportsResponse list;
  EXPECT_THAT(stub_->ListDrillReports(Ctx().get(), {}, &list),
              GrpcCode(grpc::StatusCode::UNIMPLEMENTED));
}

// Reads a Watch stream on its own thread.
class WatchClient {
 public:
  WatchClient(v1::ControlService::Stub& stub, v1::WatchRequest req) {
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    reader_ = stub.Watch(&ctx_, req);
  }
  // Reads until an event satisfies `done` (true) or the stream ends (false).
  template <typename Pred>
  bool ReadUntil(Pred done) {
    v1::WatchResponse e;
    while (reader_->Read(&e)) {
      events.push_back(e);
      if (done(e)) return true;
    }
    return false;
  }
  grpc::Status Finish() {
    ctx_.TryCancel();
    v1::WatchResponse e;
    while (reader_->Read(&e)) {
    }
    return reader_->Finish();
  }
  std::vector<v1::WatchResponse> events;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader_;
};

TEST_F(ApiServerTest, WatchStreamsOperationStepsOfTheRequestedFailover) {
  Start();
  v1::WatchRequest req;
  req.add_group_ids("fog");
  WatchClient all(*stub_, req);
  ASSERT_TRUE(all.ReadUntil([](const auto& e) { return e.kind() == v1::EVENT_KIND_SUBSCRIBED; }));
  v1::RequestFailoverResponse started;
  ASSERT_TRUE(Failover(v1::FAILOVER_KIND_PLANNED, "w", &started).ok());
  ASSERT_TRUE(all.ReadUntil([](const auto& e) { return e.kind() == v1::EVENT_KIND_OPERATION; }));
  std::vector<std::string> steps;
  for (const auto& e : all.events) {
    if (e.kind() == v1::EVENT_KIND_OPERATION_STEP) {
      EXPECT_EQ(e.operation_id(), started.operation().id());
      ASSERT_TRUE(e.has_operation_step()) << e.ShortDebugString();
      EXPECT_FALSE(e.operation_step().drill());
      EXPECT_EQ(e.operation_step().kind(), v1::FAILOVER_KIND_PLANNED);
      EXPECT_EQ(e.operation_step().request_id(), started.operation().request_id());
      steps.push_back(e.operation_step().step().name());
    }
  }
  EXPECT_THAT(steps, ElementsAre("pre:announce", "pre:announce", "arm:failover", "arm:failover",
                                 "verify:roles", "verify:roles", "post:settle", "post:settle"));
  const v1::WatchResponse& end = all.events.back();
  ASSERT_TRUE(end.has_operation()) << end.ShortDebugString();
  EXPECT_EQ(end.operation().id(), started.operation().id());
  EXPECT_EQ(end.operation().state(), v1::OPERATION_STATE_SUCCEEDED);
  EXPECT_EQ(end.operation().kind(), v1::FAILOVER_KIND_PLANNED);
  EXPECT_EQ(end.operation().target_server(), started.operation().target_server());
  for (size_t i = 1; i < all.events.size(); ++i) {
    EXPECT_GT(all.events[i].seq(), all.events[i - 1].seq());
  }
  EXPECT_THAT(all.Finish(), GrpcCode(grpc::StatusCode::CANCELLED));
}

TEST_F(ApiServerTest, WatchFiltersByKindAndRejectsBadFilters) {
  HarnessOptions o;
  o.groups = 2;
  Start(o);
  v1::WatchRequest req;
  req.add_group_ids(AgentHarness::GroupId(1));
  req.add_kinds(v1::EVENT_KIND_OPERATION);
  WatchClient w(*stub_, req);
  ASSERT_TRUE(w.ReadUntil([](const auto& e) { return e.kind() == v1::EVENT_KIND_SUBSCRIBED; }));
  v1::RequestFailoverResponse r;
  ASSERT_TRUE(Failover(v1::FAILOVER_KIND_PLANNED, "g0", &r).ok());  // another group
  h_->RunDue();
  ASSERT_TRUE(Failover(v1::FAILOVER_KIND_PLANNED, "g1", &r, false, AgentHarness::GroupId(1)).ok());
  ASSERT_TRUE(w.ReadUntil([](const auto& e) { return e.kind() == v1::EVENT_KIND_OPERATION; }));
  ASSERT_THAT(w.events, SizeIs(2));
  EXPECT_EQ(w.events[1].group_id(), AgentHarness::GroupId(1));
  w.Finish();

  v1::WatchRequest bad;
  bad.add_kinds(static_cast<v1::EventKind>(99));
  WatchClient b(*stub_, bad);
  EXPECT_FALSE(b.ReadUntil([](const auto&) { return false; }));
  EXPECT_THAT(b.reader_->Finish(), GrpcCode(grpc::StatusCode::INVALID_ARGUMENT));
  v1::WatchRequest unknown;
  unknown.add_group_ids("nope");
  WatchClient u(*stub_, unknown);
  EXPECT_FALSE(u.ReadUntil([](const auto&) { return false; }));
  EXPECT_THAT(u.reader_->Finish(), GrpcCode(grpc::StatusCode::NOT_FOUND));
}

TEST_F(ApiServerTest, ASlowWatcherIsToldWhatItMissedAndDoesNotStallPublishing) {
  HarnessOptions o;
  o.api_options.watch_queue_capacity = 8;
  Start(o);
  v1::WatchRequest req;
  WatchClient w(*stub_, req);
  ASSERT_TRUE(w.ReadUntil([](const auto& e) { return e.kind() == v1::EVENT_KIND_SUBSCRIBED; }));
  // Publish far more than the queue and the transport buffers hold, without reading.
  agent::AgentEvent e;
  e.detail = agent::VerdictChanged{};
  e.group_id = "sub/rg/fog";
  e.summary = std::string(4096, 'x');
  constexpr int kEvents = 3000;
  for (int i = 0; i < kEvents; ++i) h_->server()->Publish(e);
  uint64_t missed = 0;
  int delivered = 0;
  auto count = [&](const v1::WatchResponse& ev) {
    if (ev.kind() == v1::EVENT_KIND_MISSED) missed += ev.missed();
    if (ev.kind() == v1::EVENT_KIND_VERDICT) ++delivered;
  };
  // Every event is either delivered or counted by a MISSED marker, in order.
  ASSERT_TRUE(w.ReadUntil([&](const v1::WatchResponse& ev) {
    count(ev);
    return missed + delivered == static_cast<uint64_t>(kEvents);
  }));
  e.detail = agent::OperationChanged{};
  e.summary = "live again";
  h_->server()->Publish(e);
  ASSERT_TRUE(
      w.ReadUntil([&](const v1::WatchResponse& ev) { return ev.summary() == "live again"; }));
  EXPECT_GT(missed, 0u);
  EXPECT_EQ(missed + delivered, static_cast<uint64_t>(kEvents));
  w.Finish();
}

TEST_F(ApiServerTest, ShutdownEndsWatchStreamsWithUnavailable) {
  Start();
  WatchClient w(*stub_, {});
  ASSERT_TRUE(w.ReadUntil([](const auto& e) { return e.kind() == v1::EVENT_KIND_SUBSCRIBED; }));
  h_->server()->Shutdown();
  EXPECT_FALSE(w.ReadUntil([](const auto&) { return false; }));
  EXPECT_THAT(w.reader_->Finish(), GrpcCode(grpc::StatusCode::UNAVAILABLE));
}

TEST_F(ApiServerTest, ServesTheHealthService) {
  Start();
  auto channel = grpc::CreateChannel(h_->address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  // grpc.health.v1.HealthCheckRequest{service: "foghorn.v1.ControlService"}, encoded by hand.
  const std::string service = "foghorn.v1.ControlService";
  std::string request = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  grpc::Slice slice(request);
  grpc::ByteBuffer req_buf(&slice, 1);
  grpc::ByteBuffer resp_buf;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  absl::Notification done;
  grpc::Status status;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req_buf, &resp_buf,
                    [&](grpc::Status s) {
                      status = s;
                      done.Notify();
                    });
  done.WaitForNotification();
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(resp_buf.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING
}

TEST_F(ApiServerTest, ServesReflectionListingTheControlService) {
  Start();
  auto channel = grpc::CreateChannel(h_->address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call = generic.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  auto step = [&](intptr_t want) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  // ServerReflectionRequest{list_services: ""}, encoded by hand.
  grpc::Slice slice(std::string("\x3a\x00", 2));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(step(2));
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(3));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(bytes, HasSubstr("foghorn.v1.ControlService"));
  EXPECT_THAT(bytes, HasSubstr("grpc.health.v1.Health"));
  call->WritesDone(reinterpret_cast<void*>(4));
  step(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

// --- limits: no caller, and no crowd of viewers, can delay an operation or grow without bound ---

// Adds viewer, operator and a second viewer token to `o`.
void AddTokens(const foghorn::testing::TempDir& dir, HarnessOptions& o) {
  struct T {
    const char* name;
    v1::ApiRole role;
    const char* value;
  };
  for (const T& t : {T{"viewer-a", v1::API_ROLE_VIEWER, "viewer-a-token-0123456789"},
                     T{"viewer-b", v1::API_ROLE_VIEWER, "viewer-b-token-0123456789"},
                     T{"operator", v1::API_ROLE_OPERATOR, "operator-token-0123456789"}}) {
    v1::ApiToken* token = o.api.add_tokens();
    token->set_name(t.name);
    token->set_role(t.role);
    token->set_token_file(dir.Write(std::string(t.name) + ".token", std::string(t.value) + "\n"));
  }
}

std::unique_ptr<grpc::ClientContext> TokenCtx(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

TEST_F(ApiServerTest, RefusedCallsAreAuditedAFewTimesPerCallerThenCountedInOneRow) {
  HarnessOptions o;
  AddTokens(dir_, o);
  Start(o);
  v1::RequestFailoverRequest req;
  req.set_group_id(std::string(400, 'g'));
  req.set_kind(v1::FAILOVER_KIND_FORCED);
  req.set_reason(std::string(100 << 10, 'r'));
  constexpr int kCalls = 200;
  for (int i = 0; i < kCalls; ++i) {
    v1::RequestFailoverResponse resp;
    ASSERT_THAT(stub_->RequestFailover(TokenCtx("").get(), req, &resp),
                GrpcCode(grpc::StatusCode::UNAUTHENTICATED));
  }
  // A viewer is refused the same way, under its own name.
  v1::RequestFailoverResponse resp;
  ASSERT_THAT(stub_->RequestFailover(TokenCtx("viewer-a-token-0123456789").get(), req, &resp),
              GrpcCode(grpc::StatusCode::PERMISSION_DENIED));
  h_->server()->FlushRefusalAudit();
  auto rows = [&](const std::string& actor) {
    std::vector<journal::AuditRecord> out;
    for (const journal::AuditRecord& a : Audit()) {
      if (a.action == "RequestFailover" && a.actor == actor) out.push_back(a);
    }
    return out;
  };
  std::vector<journal::AuditRecord> anon = rows("unauthenticated@127.0.0.1");
  ASSERT_THAT(anon, SizeIs(5));
  for (const journal::AuditRecord& a : anon) {
    EXPECT_THAT(a.outcome, HasSubstr("UNAUTHENTICATED"));
    EXPECT_LE(a.target.size(), 200u);
    EXPECT_LE(a.detail.size(), 4096u);
  }
  EXPECT_THAT(rows("viewer-a"), SizeIs(1));
  // When the window ends the rest are one row with their count.
  h_->clock().Advance(absl::Minutes(1) + absl::Seconds(1));
  h_->server()->FlushRefusalAudit();
  std::vector<journal::AuditRecord> summary = rows("unauthenticated");
  ASSERT_THAT(summary, SizeIs(1));
  EXPECT_THAT(summary.front().detail, HasSubstr("refused 195 more times"));
  EXPECT_THAT(summary.front().detail, HasSubstr("from 127.0.0.1"));
  EXPECT_TRUE(summary.front().refusal);
}

TEST_F(ApiServerTest, WatchStreamsAreLimitedInAllPerCallerAndSomeAreKeptForOperators) {
  HarnessOptions o;
  AddTokens(dir_, o);
  o.api_options.max_watch_subscribers = 4;
  o.api_options.max_watch_subscribers_per_caller = 2;
  o.api_options.reserved_operator_watches = 1;
  Start(o);
  struct Stream {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader;
    v1::WatchResponse first;
    bool ok = false;
  };
  auto watch = [&](const std::string& token) {
    auto st = std::make_unique<Stream>();
    st->ctx.AddMetadata("authorization", "Bearer " + token);
    st->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    st->reader = stub_->Watch(&st->ctx, v1::WatchRequest{});
    st->ok = st->reader->Read(&st->first);
    return st;
  };
  auto a1 = watch("viewer-a-token-0123456789");
  auto a2 = watch("viewer-a-token-0123456789");
  ASSERT_TRUE(a1->ok && a2->ok);
  auto a3 = watch("viewer-a-token-0123456789");
  ASSERT_FALSE(a3->ok);
  grpc::Status s = a3->reader->Finish();
  EXPECT_THAT(s, GrpcCode(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(s.error_message(), HasSubstr("this caller"));
  auto b1 = watch("viewer-b-token-0123456789");
  ASSERT_TRUE(b1->ok);
  // The last slot is kept for operators: viewers are refused, an operator is not.
  auto b2 = watch("viewer-b-token-0123456789");
  ASSERT_FALSE(b2->ok);
  s = b2->reader->Finish();
  EXPECT_THAT(s, GrpcCode(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(s.error_message(), HasSubstr("for viewers"));
  auto op1 = watch("operator-token-0123456789");
  ASSERT_TRUE(op1->ok);
  auto op2 = watch("operator-token-0123456789");
  ASSERT_FALSE(op2->ok);
  EXPECT_THAT(op2->reader->Finish(), GrpcCode(grpc::StatusCode::RESOURCE_EXHAUSTED));
  // Streams that end give their slots back.
  v1::WatchResponse ignored;
  for (Stream* st : {a1.get(), op1.get()}) {
    st->ctx.TryCancel();
    while (st->reader->Read(&ignored)) {
    }
    st->reader->Finish();
  }
  std::unique_ptr<Stream> b3;
  for (int i = 0; i < 200 && (b3 == nullptr || !b3->ok); ++i) {
    if (b3 != nullptr) b3->reader->Finish();
    b3 = watch("viewer-b-token-0123456789");
  }
  EXPECT_TRUE(b3->ok);
  for (Stream* st : {a2.get(), b1.get(), b3.get()}) {
    st->ctx.TryCancel();
    while (st->reader->Read(&ignored)) {
    }
    st->reader->Finish();
  }
}

TEST_F(ApiServerTest, RequestsAboveTheMessageSizeLimitAreRefusedByTheTransport) {
  Start();
  v1::ValidateRunbookRequest req;
  req.set_text(std::string(3 << 20, '#'));
  v1::ValidateRunbookResponse resp;
  EXPECT_THAT(stub_->ValidateRunbook(Ctx().get(), req, &resp),
              GrpcCode(grpc::StatusCode::RESOURCE_EXHAUSTED));
  // The server is fine afterwards.
  EXPECT_EQ(Group().id(), AgentHarness::GroupId(0));
}

TEST_F(ApiServerTest, ConcurrentReadinessChecksOfAGroupShareOneRunAndItsResultIsReusedBriefly) {
  HarnessOptions o;
  o.readiness_arm_latency = absl::Milliseconds(200);
  Start(o);
  constexpr int kCallers = 20;
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&] {
      v1::CheckReadinessRequest req;
      req.set_group_id("fog");
      v1::CheckReadinessResponse resp;
      grpc::Status s = stub_->CheckReadiness(Ctx().get(), req, &resp);
      if (s.ok() && !resp.current_primary().empty()) ++ok;
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(ok.load(), kCallers);
  // One check reads both servers' view of the group: two reads per run. Callers that arrived
  // while a run was going joined it; later ones reused its result.
  const int reads = h_->readiness_arm().reads();
  EXPECT_EQ(reads, 2);
  h_->clock().Advance(absl::Seconds(11));
  v1::CheckReadinessRequest req;
  req.set_group_id("fog");
  v1::CheckReadinessResponse resp;
  ASSERT_TRUE(stub_->CheckReadiness(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(h_->readiness_arm().reads(), 4);
}

// The acceptance test: 50 viewers run readiness checks and watches while an operator's
// planned failover runs; it completes within its fault-free time + 1 s. Readiness checks here
// take 1 s each (two ARM reads of 500 ms), as they can in production; each viewer keeps a Watch
// stream open and asks for readiness and the operation list four times a second.
TEST_F(ApiServerTest, FiftyViewersDoNotDelayAnOperatorsPlannedFailover) {
  HarnessOptions o;
  o.groups = 2;
  o.readiness_arm_latency = absl::Milliseconds(500);
  AddTokens(dir_, o);
  Start(o);
  // Runs a planned failover of group `g` the way the CLI does (open a Watch, wait for
  // SUBSCRIBED, request) and returns how long (real time) it took from the Watch to the
  // operation's success, driving the agent's fake time as it goes.
  auto timed_failover = [&](int g, const std::string& request_id) -> absl::Duration {
    const absl::Time start = absl::Now();
    auto watch_ctx = TokenCtx("operator-token-0123456789");
    auto watch = stub_->Watch(watch_ctx.get(), v1::WatchRequest{});
    v1::WatchResponse subscribed;
    EXPECT_TRUE(watch->Read(&subscribed));
    v1::RequestFailoverRequest req;
    req.set_group_id(AgentHarness::GroupId(g));
    req.set_kind(v1::FAILOVER_KIND_PLANNED);
    req.set_reason("load test");
    req.set_request_id(request_id);
    v1::RequestFailoverResponse resp;
    grpc::Status s =
        stub_->RequestFailover(TokenCtx("operator-token-0123456789").get(), req, &resp);
    watch_ctx->TryCancel();
    while (watch->Read(&subscribed)) {
    }
    watch->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) return absl::InfiniteDuration();
    for (int i = 0; i < 600; ++i) {
      auto op = h_->journal().GetOperation(resp.operation().id());
      if (op.ok() && journal::IsFinished(op->state)) {
        EXPECT_EQ(op->state, journal::OperationState::kSucceeded) << op->outcome;
        return absl::Now() - start;
      }
      h_->Run(absl::Seconds(1));
    }
    ADD_FAILURE() << "the failover did not finish";
    return absl::InfiniteDuration();
  };
  const absl::Duration fault_free = timed_failover(1, "baseline");

  std::atomic<bool> stop{false};
  std::atomic<int> readiness_ok{0};
  std::atomic<int> watching{0};
  std::vector<std::thread> viewers;
  constexpr int kViewers = 50;
  std::vector<std::unique_ptr<grpc::ClientContext>> watch_ctx(kViewers);
  for (int i = 0; i < kViewers; ++i) {
    watch_ctx[i] = std::make_unique<grpc::ClientContext>();
    const std::string token =
        i % 2 == 0 ? "viewer-a-token-0123456789" : "viewer-b-token-0123456789";
    watch_ctx[i]->AddMetadata("authorization", "Bearer " + token);
    viewers.emplace_back([&, i, token] {
      auto channel = grpc::CreateChannel(h_->address(), grpc::InsecureChannelCredentials());
      auto stub = v1::ControlService::NewStub(channel);
      auto reader = stub->Watch(watch_ctx[i].get(), v1::WatchRequest{});
      v1::WatchResponse first;
      if (reader->Read(&first)) ++watching;
      std::thread drain([&reader] {
        v1::WatchResponse e;
        while (reader->Read(&e)) {
        }
      });
      while (!stop.load()) {
        v1::CheckReadinessRequest req;
        req.set_group_id(AgentHarness::GroupId(i % 2));
        v1::CheckReadinessResponse resp;
        if (stub->CheckReadiness(TokenCtx(token).get(), req, &resp).ok()) ++readiness_ok;
        // The heaviest read there is.
        v1::ListOperationsRequest ops;
        ops.set_page_size(1000);
        ops.set_include_steps(true);
        v1::ListOperationsResponse ops_resp;
        stub->ListOperations(TokenCtx(token).get(), ops, &ops_resp);
        // A busy dashboard: each viewer asks four times a second (400 calls a second in all;
        // bounded so the test measures queueing, not a CPU-saturated 2-core machine).
        absl::SleepFor(absl::Milliseconds(250));
      }
      watch_ctx[i]->TryCancel();
      drain.join();
      reader->Finish();
    });
  }
  // Wait until every viewer watches and readiness checks are under way.
  for (int i = 0; i < 3000 && (watching.load() < kViewers || readiness_ok.load() < kViewers); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(watching.load(), kViewers);
  const absl::Duration loaded = timed_failover(0, "under-load");
  stop = true;
  for (std::thread& t : viewers) t.join();
  std::cout << "planned failover: fault-free " << fault_free << ", with " << kViewers << " viewers "
            << loaded << " (" << readiness_ok.load() << " readiness answers)\n";
  EXPECT_LE(loaded, fault_free + absl::Seconds(1))
      << "fault-free " << fault_free << ", with 50 viewers " << loaded;
  EXPECT_GT(readiness_ok.load(), 0);
}

TEST_F(ApiServerTest, StartRefusesUnsafeOrBrokenSettings) {
  HarnessOptions o;
  o.start_api = false;
  Start(o);
  ApiServerDeps deps{h_->agent(),   h_->journal(),
                     h_->clock(),   common::Logger(nullptr, nullptr, h_->clock(), {}),
                     h_->metrics(), nullptr};
  v1::ApiSettings s;
  s.set_listen("0.0.0.0:0");
  EXPECT_THAT(ApiServer::Start(s, deps),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a loopback address")));
  s.set_listen("127.0.0.1");
  EXPECT_THAT(ApiServer::Start(s, deps), StatusIs(absl::StatusCode::kInvalidArgument));
  s.set_listen("127.0.0.1:0");
  v1::ApiToken* t = s.add_tokens();
  t->set_name("ci");
  t->set_role(v1::API_ROLE_VIEWER);
  t->set_token_file(dir_.File("missing-token"));
  EXPECT_THAT(ApiServer::Start(s, deps), StatusIs(absl::StatusCode::kNotFound));
  t->set_token_file(dir_.Write("short-token", "abc\n"));
  EXPECT_THAT(ApiServer::Start(s, deps), StatusIs(absl::StatusCode::kInvalidArgument));
  s.clear_tokens();
  s.mutable_tls()->set_cert_file(dir_.File("cert.pem"));
  EXPECT_THAT(ApiServer::Start(s, deps), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace foghorn::api
