#include "orchestrator/arm/lro_poller.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/orchestrator/arm/fake_http_transport.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::arm {
namespace {

using ::foghorn::testing::FakeSleeper;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::ElementsAre;
using testing::FakeHttpTransport;
using ::testing::HasSubstr;
using testing::Response;

constexpr char kAsync[] =
    "https://arm.test/subscriptions/s/providers/Microsoft.Sql/locations/"
    "eastus/failoverGroupAzureAsyncOperation/op1?api-version=2025-01-01";
constexpr char kLocation[] =
    "https://arm.test/subscriptions/s/providers/Microsoft.Sql/locations/"
    "eastus/failoverGroupOperationResults/op1?api-version=2025-01-01";
constexpr char kResource[] =
    "https://arm.test/subscriptions/s/resourceGroups/rg/providers/"
    "Microsoft.Sql/servers/b/failoverGroups/fg?api-version=2025-01-01";

class LroPollerTest : public ::testing::Test {
 protected:
  LroPollerTest()
      : sleeper_(clock_),
        poller_(
            [this](const std::string& url) {
              http::HttpRequest r;
              r.url = url;
              return http_.Send(r);
            },
            clock_, sleeper_, Options()) {}

  static LroOptions Options() {
    LroOptions o;
    o.default_interval = absl::Seconds(10);
    o.max_consecutive_failed_polls = 3;
    return o;
  }

  absl::StatusOr<LroPoller::Result> Wait(OperationRef op, FinalStateVia via,
                                         absl::Duration deadline = absl::Hours(1)) {
    return poller_.Wait(op, via, kResource, absl::Seconds(10), clock_.Now() + deadline, "test op",
                        {});
  }

  common::FakeClock clock_;
  FakeSleeper sleeper_;
  FakeHttpTransport http_;
  LroPoller poller_;
};

TEST_F(LroPollerTest, PrefersAzureAsyncOperationThenReadsTheLocationForAFailover) {
  http_.Expect("GET", "failoverGroupAzureAsyncOperation",
               Response(200, R"({"name":"op1","status":"InProgress"})"));
  http_.Expect("GET", "failoverGroupAzureAsyncOperation",
               Response(200, R"({"name":"op1","status":"Succeeded"})"));
  http_.Expect("GET", "failoverGroupOperationResults", Response(200, R"({"properties":{}})"));
  auto r = Wait({kAsync, kLocation}, FinalStateVia::kLocation);
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->final_response.has_value());
  EXPECT_EQ(r->final_response->body, R"({"properties":{}})");
  EXPECT_EQ(r->polls, 2);
  EXPECT_THAT(sleeper_.sleeps(),
              ElementsAre(absl::Seconds(10), absl::Seconds(10), absl::ZeroDuration()));
}

TEST_F(LroPollerTest, HonoursRetryAfterFromTheStatusUrl) {
  http_.Expect("GET", "AzureAsyncOperation",
               Response(200, R"({"status":"InProgress"})", {{"Retry-After", "15"}}));
  http_.Expect("GET", "AzureAsyncOperation", Response(200, R"({"status":"Succeeded"})"));
  ASSERT_THAT(Wait({kAsync, ""}, FinalStateVia::kNone), IsOk());
  EXPECT_THAT(sleeper_.sleeps(), ElementsAre(absl::Seconds(10), absl::Seconds(15)));
}

TEST_F(LroPollerTest, FallsBackToLocationPollingUntilItStopsAnswering202) {
  http_.Expect("GET", "OperationResults", Response(202, ""));
  http_.Expect("GET", "OperationResults", Response(202, "", {{"Retry-After", "3"}}));
  http_.Expect("GET", "OperationResults", Response(200, R"({"id":"fg"})"));
  auto r = Wait({"", kLocation}, FinalStateVia::kLocation);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->final_response->body, R"({"id":"fg"})");
  EXPECT_THAT(sleeper_.sleeps(),
              ElementsAre(absl::Seconds(10), absl::Seconds(10), absl::Seconds(3)));
}

TEST_F(LroPollerTest, PutReadsTheResourceItselfAtTheEnd) {
  http_.Expect("GET", "AzureAsyncOperation", Response(200, R"({"status":"Succeeded"})"));
  http_.Expect("GET", "/failoverGroups/fg?", Response(200, R"({"id":"fg"})"));
  auto r = Wait({kAsync, kLocation}, FinalStateVia::kOriginalUri);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->final_response->body, R"({"id":"fg"})");
}

TEST_F(LroPollerTest, AnErrorFromTheStatusUrlIsAFailedPollNotAFailedOperation) {
  http_.Expect("GET", "AzureAsyncOperation", Response(500, testing::ArmErrorBody("Internal", "")));
  http_.Expect("GET", "AzureAsyncOperation",
               http::TransportError(absl::StatusCode::kUnavailable, "reset", true));
  http_.Expect("GET", "AzureAsyncOperation", Response(200, R"({"status":"InProgress"})"));
  http_.Expect("GET", "AzureAsyncOperation", Response(404, ""));
  http_.Expect("GET", "AzureAsyncOperation", Response(200, R"({"status":"Succeeded"})"));
  auto r = Wait({kAsync, ""}, FinalStateVia::kNone);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->failed_polls, 3);
}

TEST_F(LroPollerTest, GivesUpAsUnavailableWhenTheOperationRecordStaysGone) {
  http_.Expect("GET", "AzureAsyncOperation", Response(404, ""));
  http_.Expect("GET", "AzureAsyncOperation", Response(503, ""));  // neither counts nor resets
  http_.Expect("GET", "AzureAsyncOperation", Response(404, ""));
  http_.Expect("GET", "AzureAsyncOperation", Response(404, ""));
  EXPECT_THAT(Wait({kAsync, ""}, FinalStateVia::kNone),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unreadable")));
}

TEST_F(LroPollerTest, TransientStatusErrorsNeverEndTheWaitBeforeTheDeadline) {
  // The status URL answers 503 for as long as the operation may run: the operation was accepted,
  // so the wait ends at its deadline (resume later), never earlier as if it had failed.
  http_.Otherwise([](const http::HttpRequest&) -> absl::StatusOr<http::HttpResponse> {
    return Response(503, testing::ArmErrorBody("ServiceUnavailable", ""));
  });
  auto r = Wait({kAsync, ""}, FinalStateVia::kNone, absl::Minutes(30));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded,
                          HasSubstr("failoverGroupAzureAsyncOperation/op1")));
  EXPECT_GT(http_.CountRequests("GET", ""), 3);
}

TEST_F(LroPollerTest, FailedPollsBackOffAndHonourRetryAfter) {
  for (int i = 0; i < 4; ++i) http_.Expect("GET", "AzureAsyncOperation", Response(503, ""));
  http_.Expect("GET", "AzureAsyncOperation", Response(429, "", {{"Retry-After", "42"}}));
  http_.Expect("GET", "AzureAsyncOperation", Response(503, "", {{"Retry-After", "17"}}));
  http_.Expect("GET", "AzureAsyncOperation",
               http::TransportError(absl::StatusCode::kUnavailable, "reset", true));
  http_.Expect("GET", "AzureAsyncOperation", Response(200, R"({"status":"Succeeded"})"));
  auto r = Wait({kAsync, ""}, FinalStateVia::kNone);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->failed_polls, 7);
  const std::vector<absl::Duration> sleeps = sleeper_.sleeps();
  ASSERT_EQ(sleeps.size(), 8u);
  // sleeps[0] is the first delay; sleeps[1..4] follow the 503s without a hint: growing backoff.
  EXPECT_LT(sleeps[1], sleeps[4]);
  EXPECT_EQ(sleeps[5], absl::Seconds(42));
  EXPECT_EQ(sleeps[6], absl::Seconds(17));
}

TEST_F(LroPollerTest, FailedOperationCarriesArmCodeAndMessage) {
  http_.Expect("GET", "AzureAsyncOperation",
               Response(200, R"({"status":"Failed","error":{"code":"PlannedFailoverTimedOut",
                                 "message":"User invoked planned failover, and it timed out."}})"));
  auto r = Wait({kAsync, kLocation}, FinalStateVia::kLocation);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition,
                          HasSubstr("PlannedFailoverTimedOut: User invoked planned failover")));
  EXPECT_TRUE(IsFailedOperation(r.status()));
  EXPECT_EQ(ArmErrorCode(r.status()), "PlannedFailoverTimedOut");
}

TEST_F(LroPollerTest, CanceledOperationIsCancelled) {
  http_.Expect("GET", "AzureAsyncOperation",
               Response(200, R"({"status":"Canceled","error":{"code":"OperationCancelled"}})"));
  EXPECT_THAT(Wait({kAsync, ""}, FinalStateVia::kNone), StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(LroPollerTest, StopsAtTheDeadlineNamingTheOperationUrl) {
  for (int i = 0; i < 5; ++i) {
    http_.Expect("GET", "AzureAsyncOperation", Response(200, R"({"status":"InProgress"})"));
  }
  auto r = Wait({kAsync, ""}, FinalStateVia::kNone, absl::Seconds(55));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded,
                          HasSubstr("failoverGroupAzureAsyncOperation/op1")));
  EXPECT_EQ(http_.remaining(), 0u);
}

TEST(OperationRefTest, ReadsBothHeadersAndResolvesRelativeLocations) {
  auto op = OperationRefFromHeaders(
      {{"Azure-AsyncOperation", kAsync},
       {"Location",
        "/subscriptions/s/providers/Microsoft.Sql/locations/x/failoverGroupOperationResults/1"}},
      "https://arm.test:8443/subscriptions/s/resourceGroups/rg/x?api-version=1");
  ASSERT_TRUE(op.has_value());
  EXPECT_EQ(op->async_operation_url, kAsync);
  EXPECT_EQ(op->location_url,
            "https://arm.test:8443/subscriptions/s/providers/Microsoft.Sql/locations/x/"
            "failoverGroupOperationResults/1");
  EXPECT_FALSE(OperationRefFromHeaders({}, "https://x").has_value());
}

}  // namespace
}  // namespace foghorn::arm
