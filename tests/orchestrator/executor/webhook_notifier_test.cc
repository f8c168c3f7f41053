#include "orchestrator/executor/webhook_notifier.h"

#include <deque>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/fake_clock.h"
#include "tests/testing/capturing_log_sink.h"

namespace foghorn::executor {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

// Records requests and answers each with the next scripted status (200 when the script is empty).
class RecordingTransport final : public http::HttpTransport {
 public:
  absl::StatusOr<http::HttpResponse> Send(const http::HttpRequest& request) override {
    absl::MutexLock lock(&mu_);
    requests_.push_back(request);
    int status = 200;
    if (!script_.empty()) {
      status = script_.front();
      script_.pop_front();
    }
    if (status < 0) return absl::UnavailableError("connection refused");
    return http::HttpResponse{status, {}, ""};
  }
  void Script(std::deque<int> statuses) {
    absl::MutexLock lock(&mu_);
    script_ = std::move(statuses);
  }
  std::vector<http::HttpRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

 private:
  absl::Mutex mu_;
  std::deque<int> script_;
  std::vector<http::HttpRequest> requests_;
};

class WebhookNotifierTest : public ::testing::Test {
 protected:
  std::unique_ptr<WebhookNotifier> Make(std::vector<WebhookTarget> targets) {
    return std::make_unique<WebhookNotifier>(std::move(targets), transport_, clock_,
                                             common::Logger(sink_, nullptr, clock_, {}), metrics_,
                                             WebhookNotifier::Options{});
  }
  Notification Approval() {
    Notification n;
    n.event = "decision_needs_human";
    n.group_id = "sub/rg/fog-1";
    n.summary = "forced failover waits for approval";
    n.details_json = R"({"state":"WAIT_APPROVAL"})";
    n.dedup_key = "fog-1/WAIT_APPROVAL";
    return n;
  }
  RecordingTransport transport_;
  common::FakeClock clock_;
  common::MetricsRegistry metrics_;
  std::shared_ptr<foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<foghorn::testing::CapturingLogSink>();
};

TEST_F(WebhookNotifierTest, PostsJsonToEveryWebhookWithItsHeaders) {
  auto n = Make({{"http://127.0.0.1:1/a", {{"X-Team", "dba"}}}, {"http://127.0.0.1:1/b", {}}});
  n->Notify(Approval());
  n->Flush();
  auto reqs = transport_.requests();
  ASSERT_THAT(reqs, SizeIs(2));
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].headers.Find("X-Team"), "dba");
  EXPECT_EQ(reqs[0].headers.Find("content-type"), "application/json");
  auto body = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(body["event"], "decision_needs_human");
  EXPECT_EQ(body["group"], "sub/rg/fog-1");
  EXPECT_EQ(body["details"]["state"], "WAIT_APPROVAL");
  EXPECT_EQ(body["at"], "2026-01-01T00:00:00+00:00");
  EXPECT_EQ(reqs[1].url, "http://127.0.0.1:1/b");
}

TEST_F(WebhookNotifierTest, DeduplicatesTheSameKeyWithinTheWindow) {
  auto n = Make({{"http://127.0.0.1:1/a", {}}});
  n->Notify(Approval());
  clock_.Advance(absl::Minutes(5));
  n->Notify(Approval());
  n->Flush();
  EXPECT_THAT(transport_.requests(), SizeIs(1));
  EXPECT_EQ(metrics_.Value("foghorn_notifications_total", {{"result", "deduplicated"}}), 1);
  clock_.Advance(absl::Minutes(6));
  n->Notify(Approval());
  n->Flush();
  EXPECT_THAT(transport_.requests(), SizeIs(2));
}

TEST_F(WebhookNotifierTest, RetriesServerErrorsButNotClientErrors) {
  auto n = Make({{"http://127.0.0.1:1/a", {}}});
  transport_.Script({503, -1, 200});
  n->Notify(Approval());
  n->Flush();
  EXPECT_THAT(transport_.requests(), SizeIs(3));
  EXPECT_EQ(metrics_.Value("foghorn_notifications_total", {{"result", "sent"}}), 1);

  transport_.Script({404});
  Notification other = Approval();
  other.dedup_key = "other";
  n->Notify(other);
  n->Flush();
  EXPECT_THAT(transport_.requests(), SizeIs(4));
  EXPECT_EQ(metrics_.Value("foghorn_notifications_total", {{"result", "failed"}}), 1);
  EXPECT_THAT(sink_->text(), HasSubstr("webhook delivery failed"));
}

TEST(WebhookNotifierBodyTest, KeepsDetailsThatAreNotJsonAsText) {
  Notification n;
  n.event = "operation_failed";
  n.group_id = "g";
  n.details_json = "not json";
  auto body = nlohmann::json::parse(WebhookNotifier::Body(n));
  EXPECT_EQ(body["details"], "not json");
  EXPECT_FALSE(body.contains("operation"));
}

}  // namespace
}  // namespace foghorn::executor
