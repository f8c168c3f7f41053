// The ARM client when foghornd stops (issue 14): a cancelled sleeper ends the retry waits of a
// read on its own (Get, List) at once with CANCELLED, so SIGTERM never waits out a backoff, while
// a failover runs to its end (SIGTERM lets a running operation finish; tests/e2e/agent_e2e_test.py
// shows it with the real daemon).
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/orchestrator/arm/fake_http_transport.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::arm {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::AllOf;
using testing::ArmErrorBody;
using testing::FakeHttpTransport;
using ::testing::HasSubstr;
using testing::Response;

constexpr char kEndpoint[] = "https://arm.test";
constexpr char kAsyncPart[] = "failoverGroupAzureAsyncOperation/op1";
constexpr char kLocationPart[] = "failoverGroupOperationResults/op1";

// Like RealSleeper, on a FakeClock: waits advance the clock; once cancelled (by the test, or by
// the first interruptible wait when cancel_on_first_wait is set, as a SIGTERM that lands during a
// backoff) interruptible waits return false at once. Plain SleepFor is never cut short.
class CancellableFakeSleeper final : public common::Sleeper {
 public:
  explicit CancellableFakeSleeper(common::FakeClock& clock) : clock_(clock) {}

  void SleepFor(absl::Duration d) override {
    absl::MutexLock lock(&mu_);
    plain_.push_back(d);
    if (d > absl::ZeroDuration()) clock_.Advance(d);
  }
  bool SleepUnlessCancelled(absl::Duration d) override {
    absl::MutexLock lock(&mu_);
    interruptible_.push_back(d);
    if (cancel_on_first_wait_) cancelled_ = true;
    if (cancelled_) return false;
    if (d > absl::ZeroDuration()) clock_.Advance(d);
    return true;
  }
  void Cancel() {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
  }
  void CancelOnFirstWait() {
    absl::MutexLock lock(&mu_);
    cancel_on_first_wait_ = true;
  }
  std::vector<absl::Duration> plain() const {
    absl::MutexLock lock(&mu_);
    return plain_;
  }
  std::vector<absl::Duration> interruptible() const {
    absl::MutexLock lock(&mu_);
    return interruptible_;
  }

 private:
  common::FakeClock& clock_;
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool cancel_on_first_wait_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<absl::Duration> plain_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Duration> interruptible_ ABSL_GUARDED_BY(mu_);
};

std::string GroupJson(const std::string& role) {
  const std::string partner_role = role == "Primary" ? "Secondary" : "Primary";
  return R"({"id":"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/b/failoverGroups/fg",
    "name":"fg","type":"Microsoft.Sql/servers/failoverGroups","location":"West US",
    "properties":{"readWriteEndpoint":{"failoverPolicy":"Manual"},"replicationRole":")" +
         role + R"(","replicationState":"CATCH_UP",
    "partnerServers":[{"id":"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/a",
    "location":"East US","replicationRole":")" +
         partner_role + R"("}],"databases":[]}})";
}

http::HttpHeaders AcceptedHeaders() {
  return {{"Azure-AsyncOperation", std::string(kEndpoint) +
                                       "/subscriptions/sub/providers/Microsoft.Sql/locations/"
                                       "westus/failoverGroupAzureAsyncOperation/op1?api-version=1"},
          {"Location", std::string(kEndpoint) +
                           "/subscriptions/sub/providers/Microsoft.Sql/locations/westus/"
                           "failoverGroupOperationResults/op1?api-version=1"}};
}

class StaticCredential final : public TokenCredential {
 public:
  absl::StatusOr<AccessToken> GetToken() override {
    return AccessToken{"tok", absl::InfiniteFuture(), std::nullopt};
  }
  void Invalidate() override {}
  std::string_view name() const override { return "static"; }
};

class ArmClientShutdownTest : public ::testing::Test {
 protected:
  ArmClientShutdownTest() : sleeper_(clock_) {
    options_.endpoint = kEndpoint;
    options_.lro.default_interval = absl::Seconds(5);
  }

  ArmClient& client() {
    if (!client_) {
      common::Logger logger(sink_, std::make_shared<common::Redactor>(), clock_,
                            {common::LogLevel::kInfo, common::LogFormat::kJson});
      client_ = std::make_unique<ArmClient>(http_, credential_, clock_, sleeper_, logger, options_);
    }
    return *client_;
  }

  static FailoverGroupId Target() { return {"sub", "rg", "b", "fg"}; }

  common::FakeClock clock_;
  CancellableFakeSleeper sleeper_;
  FakeHttpTransport http_;
  StaticCredential credential_;
  std::shared_ptr<::foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<::foghorn::testing::CapturingLogSink>();
  ArmClientOptions options_;
  std::unique_ptr<ArmClient> client_;
};

TEST_F(ArmClientShutdownTest, ACancelDuringAGetsBackoffEndsItWithCancelledAndNoRetry) {
  http_.Expect("GET", "/servers/b/failoverGroups/fg?",
               Response(503, ArmErrorBody("ServiceUnavailable", "region down")));
  sleeper_.CancelOnFirstWait();
  const absl::Time start = clock_.Now();
  EXPECT_THAT(client().Get(Target()),
              StatusIs(absl::StatusCode::kCancelled,
                       AllOf(HasSubstr("stopping"), HasSubstr("get failover group b/fg"),
                             HasSubstr("ServiceUnavailable"))));
  EXPECT_EQ(http_.requests().size(), 1u);
  EXPECT_EQ(clock_.Now(), start);  // no backoff was waited out
  EXPECT_EQ(sleeper_.interruptible().size(), 1u);
  EXPECT_TRUE(sleeper_.plain().empty());
}

TEST_F(ArmClientShutdownTest, AnUncancelledGetStillRetriesThroughInterruptibleWaits) {
  http_.Expect("GET", "/servers/b/failoverGroups/fg?",
               Response(503, ArmErrorBody("ServiceUnavailable", "region down")));
  http_.Expect("GET", "/servers/b/failoverGroups/fg?", Response(200, GroupJson("Secondary")));
  ASSERT_THAT(client().Get(Target()), IsOk());
  EXPECT_EQ(sleeper_.interruptible().size(), 1u);
  EXPECT_TRUE(sleeper_.plain().empty());
}

TEST_F(ArmClientShutdownTest, AReadAfterTheCancelIsSentOnceAndNotRetried) {
  sleeper_.Cancel();
  http_.Expect("GET", "/servers/b/failoverGroups/fg?", Response(200, GroupJson("Primary")));
  EXPECT_THAT(client().Get(Target()), IsOk());  // nothing to wait for: answered as usual
  http_.Expect("GET", "/servers/a/failoverGroups?",
               Response(500, ArmErrorBody("InternalServerError", "oops")));
  EXPECT_THAT(client().List({"sub", "rg", "a"}), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(http_.requests().size(), 2u);
  EXPECT_EQ(http_.remaining(), 0u);
}

TEST_F(ArmClientShutdownTest, AFailoverRunsToItsEndThoughTheSleeperWasCancelled) {
  sleeper_.Cancel();
  // A read that needs a retry, the POST, two polls and the final read: every wait is waited out.
  http_.Expect("GET", "/servers/b/failoverGroups/fg?",
               Response(503, ArmErrorBody("ServiceUnavailable", "busy")));
  http_.Expect("GET", "/servers/b/failoverGroups/fg?", Response(200, GroupJson("Secondary")));
  http_.Expect("POST", "/servers/b/failoverGroups/fg/failover?",
               Response(202, R"({"operation":"FailoverFailoverGroup"})", AcceptedHeaders()));
  http_.Expect("GET", kAsyncPart, Response(200, R"({"name":"op1","status":"InProgress"})"));
  http_.Expect("GET", kAsyncPart, Response(200, R"({"name":"op1","status":"Succeeded"})"));
  http_.Expect("GET", kLocationPart, Response(200, GroupJson("Primary")));
  FailoverRequest request;
  request.target = Target();
  auto result = client().Failover(request);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(result->posts_accepted, 1);
  EXPECT_EQ(http_.remaining(), 0u);
  EXPECT_TRUE(sleeper_.interruptible().empty());
  EXPECT_GE(sleeper_.plain().size(), 3u);  // the read's backoff and the two poll intervals
}

}  // namespace
}  // namespace foghorn::arm
