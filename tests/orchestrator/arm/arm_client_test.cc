#include "orchestrator/arm/arm_client.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/orchestrator/arm/fake_http_transport.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::arm {
namespace {

using ::foghorn::testing::FakeSleeper;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using testing::ArmErrorBody;
using testing::FakeHttpTransport;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::Response;

constexpr char kToken[] = "tok-SECRET-0123456789";
constexpr char kEndpoint[] = "https://arm.test";
constexpr char kAsyncPart[] = "failoverGroupAzureAsyncOperation/op1";
constexpr char kLocationPart[] = "failoverGroupOperationResults/op1";

std::string GroupJson(const std::string& server, const std::string& role) {
  const std::string partner = server == "a" ? "b" : "a";
  const std::string partner_role = role == "Primary" ? "Secondary" : "Primary";
  return R"({"id":"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/)" +
         server + R"(/failoverGroups/fg","name":"fg","type":"Microsoft.Sql/servers/failoverGroups",
    "location":"East US","properties":{"readWriteEndpoint":{"failoverPolicy":"Manual"},
    "replicationRole":")" +
         role + R"(","replicationState":"CATCH_UP",
    "partnerServers":[{"id":"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/)" +
         partner + R"(","location":"West US","replicationRole":")" + partner_role +
         R"("}],"databases":[]}})";
}

http::HttpHeaders AcceptedHeaders(std::optional<std::string> retry_after = std::nullopt) {
  http::HttpHeaders h{
      {"Azure-AsyncOperation",
       std::string(kEndpoint) +
           "/subscriptions/sub/providers/Microsoft.Sql/locations/"
           "westus/failoverGroupAzureAsyncOperation/op1?api-version=2025-01-01"},
      {"Location", std::string(kEndpoint) + "/subscriptions/sub/providers/Microsoft.Sql/"
                                            "locations/westus/failoverGroupOperationResults/"
                                            "op1?api-version=2025-01-01"},
      {"x-ms-request-id", "req-accepted"}};
  if (retry_after) h.Add("Retry-After", *retry_after);
  return h;
}

// A token that counts fetches and can be rotated.
class TestCredential final : public TokenCredential {
 public:
  absl::StatusOr<AccessToken> GetToken() override {
    ++fetches;
    return AccessToken{token, absl::InfiniteFuture(), std::nullopt};
  }
  void Invalidate() override {
    ++invalidations;
    token = std::string(kToken) + "-fresh";
  }
  std::string_view name() const override { return "test"; }
  std::string token = kToken;
  int fetches = 0;
  int invalidations = 0;
};

class ArmClientTest : public ::testing::Test {
 protected:
  ArmClientTest() : sleeper_(clock_) {
    redactor_->AddSecret(kToken);
    redactor_->AddSecret(std::string(kToken) + "-fresh");
    options_.endpoint = kEndpoint;
    options_.lro.default_interval = absl::Seconds(10);
    options_.accepted_settle = absl::Seconds(20);
  }

  ArmClient& client() {
    if (!client_) {
      common::Logger logger(sink_, redactor_, clock_,
                            {common::LogLevel::kDebug, common::LogFormat::kJson});
      client_ = std::make_unique<ArmClient>(http_, credential_, clock_, sleeper_, logger, options_);
    }
    return *client_;
  }

  static FailoverGroupId Target() { return {"sub", "rg", "b", "fg"}; }

  FailoverRequest Request(FailoverKind kind = FailoverKind::kPlanned) {
    FailoverRequest r;
    r.target = Target();
    r.kind = kind;
    r.on_accepted = [this](const OperationRef& op) { journaled_.push_back(op); };
    return r;
  }

  static OperationRef AcceptedRef() {
    auto op = OperationRefFromHeaders(AcceptedHeaders(), kEndpoint);
    return *op;
  }

  void ExpectGroupRead(const std::string& role) {
    http_.Expect("GET", "/servers/b/failoverGroups/fg?", Response(200, GroupJson("b", role)));
  }
  void ExpectPostAccepted(const std::string& action = "/failover?") {
    http_.Expect("POST", "/servers/b/failoverGroups/fg" + action,
                 Response(202, R"({"operation":"FailoverFailoverGroup"})", AcceptedHeaders()));
  }
  void ExpectOperationSucceeds() {
    http_.Expect("GET", kAsyncPart, Response(200, R"({"name":"op1","status":"InProgress"})"));
    http_.Expect("GET", kAsyncPart, Response(200, R"({"name":"op1","status":"Succeeded"})"));
    http_.Expect("GET", kLocationPart, Response(200, GroupJson("b", "Primary")));
  }

  // Answers every request after the script with a small model of ARM running one accepted
  // failover, driven by the fake clock: the operation ends at `done_at`, its status URL answers
  // 503 until `status_readable_at`, and the group reads Primary from `done_at` on. A POST here is
  // a test failure (and gets 409 busy, as ARM would answer it).
  void ModelAcceptedOperation(absl::Time status_readable_at, absl::Time done_at) {
    http_.Otherwise([=, this](const http::HttpRequest& r) -> absl::StatusOr<http::HttpResponse> {
      const absl::Time now = clock_.Now();
      const bool done = now >= done_at;
      if (absl::StrContains(r.url, kAsyncPart)) {
        if (now < status_readable_at) {
          return Response(503, ArmErrorBody("ServiceUnavailable", "status store unavailable"));
        }
        return Response(200, done ? R"({"status":"Succeeded"})" : R"({"status":"InProgress"})");
      }
      if (absl::StrContains(r.url, kLocationPart)) {
        return done ? Response(200, GroupJson("b", "Primary")) : Response(202, "");
      }
      if (r.method == "GET") return Response(200, GroupJson("b", done ? "Primary" : "Secondary"));
      ADD_FAILURE() << "unexpected " << r.method << " " << r.url;
      return Response(409, ArmErrorBody("FailoverGroupBusy", "busy"));
    });
  }

  // Answers every request after the script: the group always reads Secondary and every failover
  // POST gets `post_answer`. After 50 POSTs (a runaway loop) POSTs get 403, which ends any loop.
  void ModelStuckSecondary(http::HttpResponse post_answer) {
    http_.Otherwise(
        [this, post_answer](const http::HttpRequest& r) -> absl::StatusOr<http::HttpResponse> {
          if (r.method != "POST") return Response(200, GroupJson("b", "Secondary"));
          if (http_.CountRequests("POST", "") > 50) {
            return Response(403, ArmErrorBody("AuthorizationFailed", "runaway post loop"));
          }
          return post_answer;
        });
  }

  common::FakeClock clock_;
  FakeSleeper sleeper_;
  FakeHttpTransport http_;
  TestCredential credential_;
  std::shared_ptr<::foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<::foghorn::testing::CapturingLogSink>();
  std::shared_ptr<common::Redactor> redactor_ = std::make_shared<common::Redactor>();
  ArmClientOptions options_;
  std::unique_ptr<ArmClient> client_;
  std::vector<OperationRef> journaled_;
};

// ---- reads ----

TEST_F(ArmClientTest, GetSendsBearerTokenRequestIdsAndApiVersion) {
  ExpectGroupRead("Secondary");
  auto g = client().Get(Target());
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(g->replication_role, ReplicationRole::kSecondary);
  const http::HttpRequest r = http_.requests().at(0);
  EXPECT_EQ(
      r.url,
      "https://arm.test/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/b/"
      "failoverGroups/fg?api-version=2025-01-01");
  EXPECT_EQ(r.headers.Find("Authorization"), std::string("Bearer ") + kToken);
  auto id = r.headers.Find("x-ms-client-request-id");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->size(), 36u);
  EXPECT_EQ(r.headers.Find("x-ms-correlation-request-id"), id);
  EXPECT_EQ(r.headers.Find("x-ms-return-client-request-id"), "true");
}

TEST_F(ArmClientTest, GetRetriesThrottlingAndHonoursRetryAfterKeepingTheRequestId) {
  http_.Expect("GET", "/failoverGroups/fg?",
               Response(429, ArmErrorBody("SubscriptionTooManyRequests", "slow down"),
                        {{"Retry-After", "7"}}));
  http_.Expect("GET", "/failoverGroups/fg?", Response(503, "", {{"x-ms-retry-after-ms", "250"}}));
  ExpectGroupRead("Primary");
  ASSERT_THAT(client().Get(Target()), IsOk());
  EXPECT_THAT(sleeper_.sleeps(), ::testing::ElementsAre(absl::Seconds(7), absl::Milliseconds(250)));
  auto reqs = http_.requests();
  EXPECT_EQ(reqs[0].headers.Find("x-ms-client-request-id"),
            reqs[2].headers.Find("x-ms-client-request-id"));
}

TEST_F(ArmClientTest, GetBacksOffExponentiallyOnTransportErrorsThenGivesUp) {
  for (int i = 0; i < 4; ++i) {
    http_.Expect("GET", "/failoverGroups/fg?",
                 http::TransportError(absl::StatusCode::kUnavailable, "connection reset", true));
  }
  auto g = client().Get(Target());
  EXPECT_THAT(g, StatusIs(absl::StatusCode::kUnavailable,
                          ::testing::AllOf(HasSubstr("get failover group b/fg"),
                                           HasSubstr("connection reset"),
                                           HasSubstr("client-request-id="))));
  ASSERT_EQ(sleeper_.sleeps().size(), 3u);
  EXPECT_LT(sleeper_.sleeps()[0], sleeper_.sleeps()[2]);
}

TEST_F(ArmClientTest, GetDoesNotRetryNotFound) {
  http_.Expect("GET", "/failoverGroups/fg?",
               Response(404, ArmErrorBody("ResourceNotFound", "not found"),
                        {{"x-ms-request-id", "rid-404"}}));
  EXPECT_THAT(client().Get(Target()),
              StatusIs(absl::StatusCode::kNotFound,
                       ::testing::AllOf(HasSubstr("ResourceNotFound"), HasSubstr("rid-404"))));
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(ArmClientTest, MalformedIdsNeverReachTheNetwork) {
  EXPECT_THAT(client().Get({"sub", "rg", "b/../a", "fg"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(http_.requests().empty());
}

TEST_F(ArmClientTest, ListFollowsNextLink) {
  http_.Expect("GET", "/servers/a/failoverGroups?api-version",
               Response(200, "{\"value\":[" + GroupJson("a", "Primary") +
                                 "],\"nextLink\":\"https://arm.test/next?page=2\"}"));
  http_.Expect("GET", "https://arm.test/next?page=2",
               Response(200, "{\"value\":[" + GroupJson("a", "Secondary") + "]}"));
  auto all = client().List({"sub", "rg", "a"});
  ASSERT_THAT(all, IsOk());
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(ArmClientTest, NeverSendsTheTokenToAForeignHost) {
  http_.Expect("GET", "/servers/a/failoverGroups?api-version",
               Response(200, "{\"value\":[],\"nextLink\":\"https://evil.test/steal\"}"));
  EXPECT_THAT(client().List({"sub", "rg", "a"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("refusing")));
  EXPECT_EQ(http_.requests().size(), 1u);
}

TEST_F(ArmClientTest, RefreshesTheTokenOnceAfter401) {
  http_.Expect("GET", "/failoverGroups/fg?",
               Response(401, ArmErrorBody("ExpiredAuthenticationToken", "expired")));
  ExpectGroupRead("Primary");
  ASSERT_THAT(client().Get(Target()), IsOk());
  EXPECT_EQ(credential_.invalidations, 1);
  EXPECT_EQ(http_.requests()[1].headers.Find("Authorization"),
            std::string("Bearer ") + kToken + "-fresh");
}

TEST_F(ArmClientTest, ARepeated401IsUnauthenticatedWithoutTheToken) {
  for (int i = 0; i < 2; ++i) {
    http_.Expect("GET", "/failoverGroups/fg?",
                 Response(401, ArmErrorBody("InvalidAuthenticationToken", "bad")));
  }
  auto g = client().Get(Target());
  EXPECT_THAT(g, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(g.status().message()), Not(HasSubstr(kToken)));
}

TEST_F(ArmClientTest, LogsCarryRequestIdsButNeverTheToken) {
  http_.Expect("GET", "/failoverGroups/fg?", Response(503, ""));
  http_.Expect("GET", "/failoverGroups/fg?",
               Response(200, GroupJson("b", "Primary"), {{"x-ms-request-id", "rid-7"}}));
  ASSERT_THAT(client().Get(Target()), IsOk());
  const std::string logs = sink_->text();
  EXPECT_THAT(logs, HasSubstr("client_request_id"));
  EXPECT_THAT(logs, HasSubstr("rid-7"));
  EXPECT_THAT(logs, Not(HasSubstr(kToken)));
}

TEST_F(ArmClientTest, ClientSideThrottleSpacesOutABurst) {
  options_.throttle.reads = {2, 1};
  for (int i = 0; i < 3; ++i) ExpectGroupRead("Primary");
  for (int i = 0; i < 3; ++i) ASSERT_THAT(client().Get(Target()), IsOk());
  EXPECT_THAT(sleeper_.sleeps(), ::testing::ElementsAre(absl::Seconds(1)));
}

// ---- mutations ----

TEST_F(ArmClientTest, CreateOrUpdatePollsTheOperationAndReadsTheGroupBack) {
  http_.ExpectHandler("PUT", "/servers/a/failoverGroups/fg?", [](const http::HttpRequest& r) {
    EXPECT_THAT(r.body, HasSubstr("partnerServers"));
    EXPECT_EQ(r.headers.Find("Content-Type"), "application/json");
    return Response(202, R"({"operation":"CreateFailoverGroup"})", AcceptedHeaders());
  });
  http_.Expect("GET", kAsyncPart, Response(200, R"({"status":"Succeeded"})"));
  http_.Expect("GET", "/servers/a/failoverGroups/fg?", Response(200, GroupJson("a", "Primary")));
  FailoverGroup spec;
  spec.read_write_endpoint = ReadWriteEndpoint{"Manual", std::nullopt};
  spec.partner_servers.push_back(
      {"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/"
       "servers/b",
       "", ReplicationRole::kUnknown});
  auto g = client().CreateOrUpdate({"sub", "rg", "a", "fg"}, spec);
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(g->replication_role, ReplicationRole::kPrimary);
}

TEST_F(ArmClientTest, UpdateOnTheSecondaryFailsAsWrongSide) {
  http_.Expect("PATCH", "/servers/b/failoverGroups/fg?",
               Response(400, ArmErrorBody("FailoverGroupUpdateOrDeleteRequestOnSecondary", "no")));
  FailoverGroupUpdate u;
  u.databases = std::vector<std::string>{};
  auto g = client().Update(Target(), u);
  EXPECT_THAT(g, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ArmErrorCode(g.status()), "FailoverGroupUpdateOrDeleteRequestOnSecondary");
}

TEST_F(ArmClientTest, DeleteWaitsForTheOperation) {
  http_.Expect("DELETE", "/servers/a/failoverGroups/fg?", Response(202, "", AcceptedHeaders()));
  http_.Expect("GET", kAsyncPart, Response(200, R"({"status":"Succeeded"})"));
  EXPECT_THAT(client().Delete({"sub", "rg", "a", "fg"}), IsOk());
  EXPECT_EQ(http_.remaining(), 0u);
}

TEST_F(ArmClientTest, DeleteOfAMissingGroupIsDone) {
  http_.Expect("DELETE", "/servers/a/failoverGroups/fg?",
               Response(404, ArmErrorBody("ResourceNotFound", "gone")));
  EXPECT_THAT(client().Delete({"sub", "rg", "a", "fg"}), IsOk());
}

// ---- idempotent failover ----

TEST_F(ArmClientTest, FailoverToAnAlreadyPrimaryServerSendsNoPost) {
  ExpectGroupRead("Primary");
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kAlreadyPrimary);
  EXPECT_EQ(r->posts_sent, 0);
  EXPECT_EQ(http_.CountRequests("POST", ""), 0);
}

TEST_F(ArmClientTest, FailoverPostsJournalsPollsAndReadsBack) {
  ExpectGroupRead("Secondary");
  ExpectPostAccepted("/forceFailoverAllowDataLoss?");
  ExpectOperationSucceeds();
  auto r = client().Failover(Request(FailoverKind::kForcedAllowDataLoss));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(r->posts_sent, 1);
  EXPECT_EQ(r->posts_accepted, 1);
  EXPECT_EQ(r->group.replication_role, ReplicationRole::kPrimary);
  ASSERT_EQ(journaled_.size(), 1u);
  EXPECT_THAT(journaled_[0].async_operation_url, HasSubstr(kAsyncPart));
  EXPECT_THAT(journaled_[0].location_url, HasSubstr(kLocationPart));
  EXPECT_EQ(r->operation, journaled_[0]);
  // The POST is marked non-idempotent, so the transport never re-sends it; reads are idempotent.
  EXPECT_EQ(http_.requests()[1].idempotent, false);
  EXPECT_EQ(http_.requests()[0].idempotent, true);
  EXPECT_EQ(http_.requests()[2].idempotent, true);
  // No Retry-After from the service: polls are spaced by the default interval.
  EXPECT_THAT(sleeper_.sleeps(), ::testing::Contains(absl::Seconds(10)));
  const std::string post_id = *http_.requests()[1].headers.Find("x-ms-client-request-id");
  for (const auto& req : http_.requests()) {
    EXPECT_EQ(req.headers.Find("x-ms-client-request-id"), post_id);
  }
  EXPECT_EQ(r->client_request_id, post_id);
}

TEST_F(ArmClientTest, TryPlannedBeforeForcedUsesItsOwnAction) {
  ExpectGroupRead("Secondary");
  ExpectPostAccepted("/tryPlannedBeforeForcedFailover?");
  ExpectOperationSucceeds();
  auto r = client().Failover(Request(FailoverKind::kTryPlannedBeforeForced));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
}

TEST_F(ArmClientTest, ResetAfterSendingRereadsInsteadOfRePosting) {
  ExpectGroupRead("Secondary");
  http_.Expect(
      "POST", "/failover?",
      http::TransportError(absl::StatusCode::kUnavailable, "connection reset by peer", true));
  ExpectGroupRead("Primary");
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kCompletedAfterReread);
  EXPECT_EQ(http_.CountRequests("POST", ""), 1);
  EXPECT_EQ(r->posts_accepted, 0);
}

TEST_F(ArmClientTest, TimeoutAfterSendingRereadsAtOnceThenPostsAgainAfterAShortBackoff) {
  ExpectGroupRead("Secondary");
  http_.Expect("POST", "/failover?",
               http::TransportError(absl::StatusCode::kDeadlineExceeded, "timed out", true));
  ExpectGroupRead("Secondary");  // at once, no settle window
  ExpectPostAccepted();          // the same POST, after a short backoff
  ExpectOperationSucceeds();
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(r->posts_sent, 2);
  EXPECT_EQ(r->posts_accepted, 1);
  // The only wait before the second POST is the client's first backoff (800 ms, jittered).
  ASSERT_FALSE(sleeper_.sleeps().empty());
  EXPECT_GT(sleeper_.sleeps()[0], absl::Milliseconds(600));
  EXPECT_LT(sleeper_.sleeps()[0], absl::Milliseconds(1100));
  const auto reqs = http_.requests();
  EXPECT_EQ(reqs[1].url, reqs[3].url);
}

TEST_F(ArmClientTest, A503OnThePostIsAmbiguousAndAnsweredByAReadNotAResend) {
  ExpectGroupRead("Secondary");
  http_.Expect("POST", "/failover?", Response(503, ArmErrorBody("ServiceUnavailable", "")));
  ExpectGroupRead("Primary");  // read at once: ARM had acted on it after all
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kCompletedAfterReread);
  EXPECT_EQ(http_.CountRequests("POST", ""), 1);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(ArmClientTest, A5xxThatNamesAnOperationIsFollowed) {
  ExpectGroupRead("Secondary");
  http_.Expect("POST", "/failover?",
               Response(504, ArmErrorBody("GatewayTimeout", ""), AcceptedHeaders()));
  http_.Expect("GET", kAsyncPart, Response(200, R"({"status":"Succeeded"})"));
  ExpectGroupRead("Primary");
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kCompletedAfterReread);
  ASSERT_TRUE(r->operation.has_value());
}

TEST_F(ArmClientTest, BusyGroupIsReReadAndRePostedUntilTheRunningOperationLands) {
  ExpectGroupRead("Secondary");
  http_.Expect("POST", "/failover?",
               Response(409, ArmErrorBody("FailoverGroupBusy", "Failover Group is busy")));
  ExpectGroupRead("Secondary");
  http_.Expect("POST", "/failover?",
               Response(409, ArmErrorBody("FailoverGroupBusy", "Failover Group is busy")));
  ExpectGroupRead("Primary");
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kCompletedAfterReread);
  EXPECT_EQ(http_.CountRequests("POST", ""), 2);
  EXPECT_EQ(r->posts_accepted, 0);
  EXPECT_EQ(sleeper_.sleeps().size(), 1u);  // one backoff, before the second POST
}

TEST_F(ArmClientTest, RequestOnPrimaryMeansReReadNow) {
  ExpectGroupRead("Secondary");
  http_.Expect("POST", "/failover?",
               Response(400, ArmErrorBody("FailoverGroupFailoverRequestOnPrimary", "primary")));
  ExpectGroupRead("Primary");
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kCompletedAfterReread);
  EXPECT_TRUE(sleeper_.sleeps().empty());
}

TEST_F(ArmClientTest, ThrottledPostIsResentBecauseArmNeverSawIt) {
  ExpectGroupRead("Secondary");
  http_.Expect(
      "POST", "/failover?",
      Response(429, ArmErrorBody("SubscriptionTooManyRequests", ""), {{"Retry-After", "2"}}));
  ExpectPostAccepted();
  ExpectOperationSucceeds();
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(http_.CountRequests("POST", ""), 2);
  EXPECT_EQ(r->posts_accepted, 1);
}

TEST_F(ArmClientTest, RefusedConnectionIsResentBecauseNothingLeft) {
  ExpectGroupRead("Secondary");
  http_.Expect("POST", "/failover?",
               http::TransportError(absl::StatusCode::kUnavailable, "connection refused", false));
  ExpectPostAccepted();
  ExpectOperationSucceeds();
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
}

TEST_F(ArmClientTest, ATokenExpiringDuringPollingIsRefreshed) {
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  http_.Expect("GET", kAsyncPart, Response(401, ArmErrorBody("ExpiredAuthenticationToken", "")));
  http_.Expect("GET", kAsyncPart, Response(200, R"({"status":"Succeeded"})"));
  http_.Expect("GET", kLocationPart, Response(200, GroupJson("b", "Primary")));
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(credential_.invalidations, 1);
  EXPECT_EQ(http_.requests()[3].headers.Find("Authorization"),
            std::string("Bearer ") + kToken + "-fresh");
}

TEST_F(ArmClientTest, FailedOperationIsReportedWithArmCodeAndNeverRePosted) {
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  http_.Expect("GET", kAsyncPart,
               Response(200, R"({"status":"Failed","error":{"code":"PlannedFailoverTimedOut",
                                 "message":"timed out"}})"));
  auto r = client().Failover(Request());
  EXPECT_THAT(
      r, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("PlannedFailoverTimedOut")));
  EXPECT_EQ(http_.CountRequests("POST", ""), 1);
}

TEST_F(ArmClientTest, AnOperationWhoseStatusRecordIsGoneFallsBackToReadingTheGroup) {
  options_.lro.max_consecutive_failed_polls = 2;
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  http_.Expect("GET", kAsyncPart, Response(404, ArmErrorBody("OperationIdNotFound", "")));
  http_.Expect("GET", kAsyncPart, Response(404, ArmErrorBody("OperationIdNotFound", "")));
  ExpectGroupRead("Secondary");
  ExpectGroupRead("Primary");
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(http_.CountRequests("POST", ""), 1);
}

TEST_F(ArmClientTest, AcceptedButNeverPrimaryEndsWithoutASecondPost) {
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  http_.Expect("GET", kAsyncPart, Response(200, R"({"status":"Succeeded"})"));
  http_.Expect("GET", kLocationPart, Response(200, GroupJson("b", "Secondary")));
  for (int i = 0; i < 3; ++i) ExpectGroupRead("Secondary");
  auto r = client().Failover(Request());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(http_.CountRequests("POST", ""), 1);
}

TEST_F(ArmClientTest, GivesUpAfterMaxAmbiguousPosts) {
  options_.max_failover_posts = 2;
  for (int i = 0; i < 2; ++i) {
    ExpectGroupRead("Secondary");
    http_.Expect("POST", "/failover?", Response(500, ArmErrorBody("OperationTimedOut", "")));
  }
  ExpectGroupRead("Secondary");
  auto r = client().Failover(Request());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kAborted, HasSubstr("unknown outcomes")));
  EXPECT_EQ(http_.CountRequests("POST", ""), 2);
}

TEST_F(ArmClientTest, ResumesAJournaledOperationWithoutPosting) {
  FailoverRequest req = Request();
  req.resume_operation =
      OperationRef{std::string(kEndpoint) +
                       "/subscriptions/sub/providers/Microsoft.Sql/locations/westus/"
                       "failoverGroupAzureAsyncOperation/op1?api-version=2025-01-01",
                   ""};
  http_.Expect("GET", kAsyncPart, Response(200, R"({"status":"InProgress"})"));
  http_.Expect("GET", kAsyncPart, Response(200, R"({"status":"Succeeded"})"));
  ExpectGroupRead("Primary");
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kResumed);
  EXPECT_EQ(http_.CountRequests("POST", ""), 0);
  EXPECT_TRUE(journaled_.empty());
}

TEST_F(ArmClientTest, ResumedLocationOperationEndsWhenTheLocationStopsAnswering202) {
  FailoverRequest req = Request();
  req.resume_operation = OperationRef{"", std::string(kEndpoint) + "/x/" + kLocationPart};
  http_.Expect("GET", kLocationPart, Response(200, R"({"status":"Failed","error":{"code":"X"}})"));
  // Location mode: a 200 is the final answer, so the group is read and found Primary.
  ExpectGroupRead("Primary");
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kResumed);
}

TEST_F(ArmClientTest, StopsAtTheOperationDeadlineNamingTheOperation) {
  options_.operation_deadline = absl::Seconds(35);
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  for (int i = 0; i < 3; ++i) {
    http_.Expect("GET", kAsyncPart, Response(200, R"({"status":"InProgress"})"));
  }
  auto r = client().Failover(Request());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr(kAsyncPart)));
  EXPECT_EQ(journaled_.size(), 1u);
}

// ---- an accepted operation is followed to its end ----

TEST_F(ArmClientTest, AnAcceptedFailoverIsPolledThroughMinutesOfStatusErrors) {
  // ARM runs the failover for 5 minutes and its status URL answers 503 for the first 4: many more
  // failed polls than any give-up count, and longer than any settle window.
  const absl::Time start = clock_.Now();
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  ModelAcceptedOperation(start + absl::Minutes(4), start + absl::Minutes(5));
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(r->group.replication_role, ReplicationRole::kPrimary);
  EXPECT_EQ(http_.CountRequests("POST", ""), 1);
  EXPECT_GE(clock_.Now(), start + absl::Minutes(5));
}

TEST_F(ArmClientTest, AResumedOperationIsPolledThroughStatusErrorsWithoutPosting) {
  const absl::Time start = clock_.Now();
  FailoverRequest req = Request();
  req.resume_operation = AcceptedRef();
  ModelAcceptedOperation(start + absl::Minutes(4), start + absl::Minutes(5));
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kResumed);
  EXPECT_EQ(http_.CountRequests("POST", ""), 0);
}

TEST_F(ArmClientTest, GroupReadErrorsAfterAnAcceptedPostAreRetriedNotReported) {
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  http_.Expect("GET", kAsyncPart, Response(200, R"({"status":"Succeeded"})"));
  // The operation result lags behind: it still shows the old roles.
  http_.Expect("GET", kLocationPart, Response(200, GroupJson("b", "Secondary")));
  // Then ARM's reads fail for longer than one read's retries.
  for (int i = 0; i < 9; ++i) {
    http_.Expect("GET", "/servers/b/failoverGroups/fg?",
                 Response(503, ArmErrorBody("ServiceUnavailable", "")));
  }
  ExpectGroupRead("Primary");
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(http_.CountRequests("POST", ""), 1);
}

// ---- busy and wrong-side answers back off, within a bound ----

TEST_F(ArmClientTest, BusyAnswersBackOffAndEndAbortedAtTheirBound) {
  ExpectGroupRead("Secondary");
  ModelStuckSecondary(Response(409, ArmErrorBody("FailoverGroupBusy", "Failover Group is busy")));
  auto r = client().Failover(Request());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kAborted, HasSubstr("FailoverGroupBusy")));
  EXPECT_EQ(ArmErrorCode(r.status()), "FailoverGroupBusy");
  EXPECT_EQ(http_.CountRequests("POST", ""), options_.max_conflict_answers);
  // The waits between POSTs grow: no tight GET+POST loop.
  const std::vector<absl::Duration> sleeps = sleeper_.sleeps();
  ASSERT_GE(sleeps.size(), 4u);
  EXPECT_GT(sleeps[0], absl::ZeroDuration());
  EXPECT_LT(sleeps[0], sleeps[3]);
}

TEST_F(ArmClientTest, RequestOnPrimaryWithAStaleSecondaryReadBacksOffInsteadOfLooping) {
  ExpectGroupRead("Secondary");
  ModelStuckSecondary(
      Response(400, ArmErrorBody("FailoverGroupFailoverRequestOnPrimary", "primary")));
  auto r = client().Failover(Request());
  EXPECT_THAT(
      r, StatusIs(absl::StatusCode::kAborted, HasSubstr("FailoverGroupFailoverRequestOnPrimary")));
  EXPECT_EQ(http_.CountRequests("POST", ""), options_.max_conflict_answers);
  const std::vector<absl::Duration> sleeps = sleeper_.sleeps();
  ASSERT_GE(sleeps.size(), 4u);
  EXPECT_GT(sleeps[0], absl::ZeroDuration());
  EXPECT_LT(sleeps[0], sleeps[3]);
}

TEST_F(ArmClientTest, BusyAnswerHonoursRetryAfterBeforeTheNextPost) {
  ExpectGroupRead("Secondary");
  http_.Expect("POST", "/failover?",
               Response(409, ArmErrorBody("FailoverGroupBusy", "busy"), {{"Retry-After", "3"}}));
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  ExpectOperationSucceeds();
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  ASSERT_FALSE(sleeper_.sleeps().empty());
  EXPECT_EQ(sleeper_.sleeps()[0], absl::Seconds(3));
}

// ---- fast recovery after ambiguous answers ----

TEST_F(ArmClientTest, A503AndADroppedAnswerEndWithOneOperationAndNoSettleWindow) {
  ExpectGroupRead("Secondary");
  http_.Expect("POST", "/failover?", Response(503, ArmErrorBody("ServiceUnavailable", "")));
  ExpectGroupRead("Secondary");  // at once
  // ARM acts on this one, but its answer is lost.
  http_.Expect(
      "POST", "/failover?",
      http::TransportError(absl::StatusCode::kUnavailable, "connection reset by peer", true));
  ExpectGroupRead("Secondary");  // the operation is still running
  http_.Expect("POST", "/failover?",
               Response(409, ArmErrorBody("FailoverGroupBusy", "Failover Group is busy")));
  ExpectGroupRead("Secondary");
  // The operation ended: the target is primary, so ARM refuses a failover to it.
  http_.Expect("POST", "/failover?",
               Response(400, ArmErrorBody("FailoverGroupFailoverRequestOnPrimary", "primary")));
  ExpectGroupRead("Primary");
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kCompletedAfterReread);
  EXPECT_EQ(r->posts_sent, 4);
  EXPECT_EQ(r->posts_accepted, 0);
  // Every POST of the intent names the same target and action.
  std::set<std::string> post_urls;
  for (const auto& req : http_.requests()) {
    if (req.method == "POST") post_urls.insert(req.url);
  }
  EXPECT_EQ(post_urls.size(), 1u);
  // Short backoffs, not settle windows.
  EXPECT_LT(sleeper_.total(), absl::Seconds(15));
}

TEST_F(ArmClientTest, CallerSuppliedClientRequestIdIsUsedThroughout) {
  FailoverRequest req = Request();
  req.client_request_id = "11111111-2222-4333-8444-555555555555";
  ExpectGroupRead("Primary");
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(http_.requests()[0].headers.Find("x-ms-client-request-id"), req.client_request_id);
}

// ---- classified failover-group error codes (arm_status.h ErrorClass) ----

TEST_F(ArmClientTest, SystemOperationConflictIsRetriedBeyondTheConflictBoundAfterReReads) {
  options_.max_conflict_answers = 2;
  ExpectGroupRead("Secondary");
  for (int i = 0; i < 3; ++i) {
    http_.Expect("POST", "/failover?",
                 Response(409, ArmErrorBody("ConflictingSystemOperationInProgress", "maint")));
    ExpectGroupRead("Secondary");  // every re-POST follows a read of the target
  }
  ExpectPostAccepted();
  ExpectOperationSucceeds();
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(http_.CountRequests("POST", ""), 4);
  EXPECT_EQ(r->posts_accepted, 1);
  EXPECT_GE(sleeper_.sleeps().size(), 3u);  // a backoff before each re-POST, then the polls
}

TEST_F(ArmClientTest, CancelledOrUndoCodesOnAPostNeedAHumanAndAreNeverResent) {
  for (const char* code : {"OperationCancelled", "GeoReplicationCannotBecomePrimaryDuringUndo",
                           "FailoverGroupDnsRecordInUse"}) {
    ExpectGroupRead("Secondary");
    http_.Expect("POST", "/failover?", Response(409, ArmErrorBody(code, "stop")));
    auto r = client().Failover(Request());
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(code)));
    EXPECT_EQ(ErrorClassOf(r.status()), ErrorClass::kNeedsHuman) << code;
    EXPECT_EQ(http_.remaining(), 0u);
  }
  EXPECT_EQ(http_.CountRequests("POST", ""), 3);
}

TEST_F(ArmClientTest, InterruptedOperationIsReReadAndNotResentWhenTheTargetBecamePrimary) {
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  http_.Expect("GET", kAsyncPart,
               Response(200, R"({"name":"op1","status":"Failed","error":{"code":)"
                             R"("OperationInterrupted","message":"microsoft failover"}})"));
  ExpectGroupRead("Primary");  // Azure's own failover made the target primary
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->group.replication_role, ReplicationRole::kPrimary);
  EXPECT_EQ(http_.CountRequests("POST", ""), 1);
}

TEST_F(ArmClientTest, InterruptedOperationIsResentOnlyAfterAReadShowsTheTargetSecondary) {
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  http_.Expect("GET", kAsyncPart,
               Response(200, R"({"name":"op1","status":"Failed","error":{"code":)"
                             R"("OperationInterrupted","message":"microsoft failover"}})"));
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  ExpectOperationSucceeds();
  auto r = client().Failover(Request());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(http_.CountRequests("POST", ""), 2);
  // The second POST came after the read that showed Secondary.
  const std::vector<http::HttpRequest> reqs = http_.requests();
  ASSERT_GE(reqs.size(), 5u);
  EXPECT_EQ(reqs[3].method, "GET");
  EXPECT_THAT(reqs[3].url, HasSubstr("/failoverGroups/fg?"));
  EXPECT_EQ(reqs[4].method, "POST");
}

TEST_F(ArmClientTest, CancelledOperationEndsTheFailoverWithoutAnotherPost) {
  ExpectGroupRead("Secondary");
  ExpectPostAccepted();
  http_.Expect("GET", kAsyncPart,
               Response(200, R"({"name":"op1","status":"Canceled","error":{"code":)"
                             R"("OperationCancelled","message":"cancelled by a user"}})"));
  auto r = client().Failover(Request());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(ErrorClassOf(r.status()), ErrorClass::kNeedsHuman);
  EXPECT_EQ(http_.CountRequests("POST", ""), 1);
}

}  // namespace
}  // namespace foghorn::arm
