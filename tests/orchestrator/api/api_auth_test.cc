// The control API's auth matrix, table-driven: every method x {no token, wrong token, viewer,
// operator, approver}, over TLS and over mutual TLS, through a real channel to a real agent.
// Refusals of mutating methods must reach the audit trail.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "foghorn/v1/control.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "orchestrator/api/api_server.h"
#include "tests/orchestrator/api/agent_harness.h"
#include "tests/orchestrator/api/test_pki.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::api {
namespace {

using ::foghorn::testing::AgentHarness;
using ::foghorn::testing::HarnessOptions;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::ReadFileOrDie;

using Stub = v1::ControlService::Stub;
using Invoke = std::function<grpc::Status(Stub&, grpc::ClientContext*)>;

struct Method {
  std::string name;
  int required;  // 1 viewer, 2 operator, 3 approver
  bool mutating;
  Invoke invoke;
};

template <typename Req, typename Resp>
Invoke Unary(grpc::Status (Stub::*fn)(grpc::ClientContext*, const Req&, Resp*), Req req) {
  return [fn, req](Stub& stub, grpc::ClientContext* ctx) {
    Resp resp;
    return (stub.*fn)(ctx, req, &resp);
  };
}

std::vector<Method> Methods() {
  const std::string group = AgentHarness::GroupId(0);
  v1::GetGroupRequest get_group;
  get_group.set_group_id(group);
  v1::ListDecisionsRequest decisions;
  decisions.set_group_id(group);
  v1::GetOperationRequest get_op;
  get_op.set_operation_id("nope");
  v1::RequestFailoverRequest failover;
  failover.set_group_id(group);
  failover.set_kind(v1::FAILOVER_KIND_PLANNED);
  failover.set_reason("auth test");
  failover.set_dry_run(true);
  v1::CancelOperationRequest cancel;
  cancel.set_operation_id("nope");
  cancel.set_reason("auth test");
  v1::ApproveDecisionRequest approve;
  approve.set_group_id(group);
  approve.set_reason("auth test");
  v1::RejectDecisionRequest reject;
  reject.set_group_id(group);
  reject.set_reason("auth test");
  v1::PauseAutomationRequest pause;
  pause.set_group_id(group);
  pause.set_reason("auth test");
  pause.mutable_duration()->set_seconds(1);
  v1::ResumeAutomationRequest resume;
  resume.set_group_id(group);
  v1::ValidateRunbookRequest validate;
  validate.set_text("group: {}\n");
  v1::StartDrillRequest drill;
  drill.set_group_id(group);
  drill.set_reason("auth test");
  drill.set_dry_run(true);
  v1::CheckReadinessRequest readiness;
  readiness.set_group_id(group);
  v1::GetDrillReportRequest get_report;
  get_report.set_drill_id("drill-nope");
  return {
      {"ListGroups", 1, false, Unary(&Stub::ListGroups, v1::ListGroupsRequest())},
      {"GetGroup", 1, false, Unary(&Stub::GetGroup, get_group)},
      {"ListOperations", 1, false, Unary(&Stub::ListOperations, v1::ListOperationsRequest())},
      {"GetOperation", 1, false, Unary(&Stub::GetOperation, get_op)},
      {"ListDecisions", 1, false, Unary(&Stub::ListDecisions, decisions)},
      {"ValidateRunbook", 1, false, Unary(&Stub::ValidateRunbook, validate)},
      {"CheckReadiness", 1, false, Unary(&Stub::CheckReadiness, readiness)},
      {"ListDrillReports", 1, false, Unary(&Stub::ListDrillReports, v1::ListDrillReportsRequest())},
      {"GetDrillReport", 1, false, Unary(&Stub::GetDrillReport, get_report)},
      {"Watch", 1, false,
       [](Stub& stub, grpc::ClientContext* ctx) {
         auto reader = stub.Watch(ctx, v1::WatchRequest());
         v1::WatchResponse first;
         if (reader->Read(&first)) {
           ctx->TryCancel();
           while (reader->Read(&first)) {
           }
           reader->Finish().IgnoreError();
           return grpc::Status::OK;
         }
         return reader->Finish();
       }},
      {"RequestFailover", 2, true, Unary(&Stub::RequestFailover, failover)},
      {"CancelOperation", 2, true, Unary(&Stub::CancelOperation, cancel)},
      {"PauseAutomation", 2, true, Unary(&Stub::PauseAutomation, pause)},
      {"ResumeAutomation", 2, true, Unary(&Stub::ResumeAutomation, resume)},
      {"StartDrill", 2, true, Unary(&Stub::StartDrill, drill)},
      {"ApproveDecision", 3, true, Unary(&Stub::ApproveDecision, approve)},
      {"RejectDecision", 3, true, Unary(&Stub::RejectDecision, reject)},
  };
}

struct Identity {
  std::string label;
  std::string token;  // empty: none sent
  int role;           // 0: not authenticated
};

enum class Transport { kTls, kMutualTls };

class ApiAuthTest : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override {
    auto pki = foghorn::testing::GenerateTestPki(dir_.path());
    ASSERT_THAT(pki, IsOk());
    pki_ = *pki;
    HarnessOptions o;
    v1::ApiTls* tls = o.api.mutable_tls();
    tls->set_cert_file(pki_.server_cert);
    tls->set_key_file(pki_.server_key);
    if (GetParam() == Transport::kMutualTls) tls->set_client_ca_file(pki_.ca_cert);
    struct T {
      const char* name;
      v1::ApiRole role;
      const char* value;
    };
    for (const T& t : {T{"viewer-bot", v1::API_ROLE_VIEWER, "viewer-token-0123456789"},
                       T{"operator-bot", v1::API_ROLE_OPERATOR, "operator-token-0123456789"},
                       T{"approver-bot", v1::API_ROLE_APPROVER, "approver-token-0123456789"}}) {
      v1::ApiToken* token = o.api.add_tokens();
      token->set_name(t.name);
      token->set_role(t.role);
      token->set_token_file(
          dir_.Write(std::string(t.name) + ".token", std::string(t.value) + "\n"));
    }
    auto h = AgentHarness::Create(dir_.path(), std::move(o));
    ASSERT_THAT(h, IsOk());
    h_ = std::move(h).value();
  }
  void TearDown() override {
    if (h_) h_->Shutdown();
  }

  std::shared_ptr<grpc::Channel> Channel(const std::string& ca, const std::string& cert,
                                         const std::string& key) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFileOrDie(ca);
    if (!cert.empty()) {
      ssl.pem_cert_chain = ReadFileOrDie(cert);
      ssl.pem_private_key = ReadFileOrDie(key);
    }
    return grpc::CreateChannel("localhost:" + std::to_string(h_->port()),
                               grpc::SslCredentials(ssl));
  }
  std::shared_ptr<grpc::Channel> GoodChannel() {
    return GetParam() == Transport::kMutualTls
               ? Channel(pki_.ca_cert, pki_.client_cert, pki_.client_key)
               : Channel(pki_.ca_cert, "", "");
  }
  static std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    return ctx;
  }

  foghorn::testing::TempDir dir_;
  foghorn::testing::TestPki pki_;
  std::unique_ptr<AgentHarness> h_;
};

TEST_P(ApiAuthTest, EveryMethodRefusesMissingWrongAndUnderPrivilegedCallers) {
  auto stub = v1::ControlService::NewStub(GoodChannel());
  const std::vector<Identity> identities = {
      {"no token", "", 0},
      {"wrong token", "not-a-configured-token-0000", 0},
      {"viewer", "viewer-token-0123456789", 1},
      {"operator", "operator-token-0123456789", 2},
      {"approver", "approver-token-0123456789", 3},
  };
  for (const Method& m : Methods()) {
    for (const Identity& id : identities) {
      SCOPED_TRACE(m.name + " as " + id.label);
      grpc::Status s = m.invoke(*stub, Ctx(id.token).get());
      if (id.role == 0) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
      } else if (id.role < m.required) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
        EXPECT_THAT(s.error_message(), ::testing::HasSubstr(m.name));
      } else {
        EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
        EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
        EXPECT_NE(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
      }
    }
  }
  // Every refused call of a mutating method is in the audit trail, with who it was.
  h_->RunDue();
  h_->server()->FlushRefusalAudit();
  auto trail = h_->journal().AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  for (const Method& m : Methods()) {
    if (!m.mutating) continue;
    int unauthenticated = 0;
    int denied = 0;
    for (const journal::AuditRecord& a : *trail) {
      if (a.action != m.name) continue;
      unauthenticated +=
          a.actor == "unauthenticated@127.0.0.1" && absl::StartsWith(a.outcome, "UNAUTHENTICATED");
      denied += absl::StartsWith(a.outcome, "PERMISSION_DENIED");
    }
    EXPECT_EQ(unauthenticated, 2) << m.name;
    EXPECT_EQ(denied, m.required - 1) << m.name;
  }
}

TEST_P(ApiAuthTest, TheCallerIdentityIsRecordedOnTheOperationAndInTheAuditTrail) {
  auto stub = v1::ControlService::NewStub(GoodChannel());
  v1::RequestFailoverRequest req;
  req.set_group_id(AgentHarness::GroupId(0));
  req.set_kind(v1::FAILOVER_KIND_PLANNED);
  req.set_reason("identity");
  req.set_request_id("id-1");
  v1::RequestFailoverResponse resp;
  grpc::Status s = stub->RequestFailover(Ctx("operator-token-0123456789").get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.operation().requested_by(), "operator-bot");
  h_->RunDue();
  auto trail = h_->journal().AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  bool found = false;
  for (const auto& a : *trail) {
    found |= a.action == "RequestFailover" && a.actor == "operator-bot";
  }
  EXPECT_TRUE(found);
}

TEST_P(ApiAuthTest, ForcedKindsAndOverridingHoldsNeedTheApproverRole) {
  auto stub = v1::ControlService::NewStub(GoodChannel());
  const std::string kOperator = "operator-token-0123456789";
  const std::string kApprover = "approver-token-0123456789";
  auto failover = [&](const std::string& token, v1::FailoverKind kind, const std::string& id,
                      const std::string& override_reason = "") {
    v1::RequestFailoverRequest req;
    req.set_group_id(AgentHarness::GroupId(0));
    req.set_kind(kind);
    req.set_reason("roles");
    req.set_request_id(id);
    req.set_override_holds(!override_reason.empty());
    req.set_override_reason(override_reason);
    v1::RequestFailoverResponse resp;
    return stub->RequestFailover(Ctx(token).get(), req, &resp);
  };
  // An operator may not force a data-losing failover of a healthy primary.
  grpc::Status s = failover(kOperator, v1::FAILOVER_KIND_FORCED, "f-op");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("approver role"));
  EXPECT_EQ(failover(kOperator, v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED, "t-op").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // A pause holds a person's planned failover too; only an approver may override it.
  v1::PauseAutomationRequest pause;
  pause.set_group_id(AgentHarness::GroupId(0));
  pause.set_reason("change freeze");
  v1::PauseAutomationResponse paused;
  ASSERT_TRUE(stub->PauseAutomation(Ctx(kOperator).get(), pause, &paused).ok());
  s = failover(kOperator, v1::FAILOVER_KIND_PLANNED, "p-op");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("paused"));
  EXPECT_EQ(failover(kOperator, v1::FAILOVER_KIND_PLANNED, "p-op2", "please").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  s = failover(kApprover, v1::FAILOVER_KIND_FORCED, "f-ap", "CHG-42: evacuate the region");
  ASSERT_TRUE(s.ok()) << s.error_message();
  h_->Run(absl::Seconds(2));
  EXPECT_EQ(h_->arm().AcceptedTotal(), 1);

  h_->server()->FlushRefusalAudit();
  auto trail = h_->journal().AuditTrail(0);
  ASSERT_THAT(trail, IsOk());
  int denied = 0;
  bool overridden = false;
  for (const auto& a : *trail) {
    denied += a.action == "RequestFailover" && a.actor == "operator-bot" &&
              absl::StartsWith(a.outcome, "PERMISSION_DENIED");
    overridden |= a.action == "OverrideHolds" && a.actor == "approver-bot" &&
                  absl::StrContains(a.detail, "PAUSED") &&
                  absl::StrContains(a.detail, "CHG-42: evacuate the region");
  }
  EXPECT_EQ(denied, 3);
  EXPECT_TRUE(overridden);
}

TEST_P(ApiAuthTest, AClientThatDoesNotTrustTheServerCannotConnect) {
  foghorn::testing::TempDir other;
  auto pki = foghorn::testing::GenerateTestPki(other.path());
  ASSERT_THAT(pki, IsOk());
  auto stub = v1::ControlService::NewStub(Channel(pki->ca_cert, pki->client_cert, pki->client_key));
  v1::ListGroupsResponse resp;
  EXPECT_EQ(stub->ListGroups(Ctx("approver-token-0123456789").get(), {}, &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_P(ApiAuthTest, MutualTlsRefusesClientsWithoutATrustedCertificate) {
  if (GetParam() != Transport::kMutualTls) GTEST_SKIP() << "mTLS only";
  foghorn::testing::TempDir other;
  auto foreign = foghorn::testing::GenerateTestPki(other.path());
  ASSERT_THAT(foreign, IsOk());
  for (auto [label, cert, key] : {std::tuple<std::string, std::string, std::string>{"none", "", ""},
                                  {"foreign CA", foreign->client_cert, foreign->client_key}}) {
    SCOPED_TRACE(label);
    auto stub = v1::ControlService::NewStub(Channel(pki_.ca_cert, cert, key));
    v1::ListGroupsResponse resp;
    EXPECT_EQ(stub->ListGroups(Ctx("approver-token-0123456789").get(), {}, &resp).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
}

INSTANTIATE_TEST_SUITE_P(Transports, ApiAuthTest,
                         ::testing::Values(Transport::kTls, Transport::kMutualTls),
                         [](const auto& info) {
                           return info.param == Transport::kTls ? "Tls" : "MutualTls";
                         });

}  // namespace
}  // namespace foghorn::api
