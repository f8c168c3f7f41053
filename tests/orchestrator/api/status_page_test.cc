// The status page's endpoints without a browser or a socket: StatusPage over a real in-process
// agent (AgentHarness, fake clock), its JSON parsed back, viewer tokens as the control API's, and
// the page's script checked for the constructs that would parse data as markup. The page in a
// real browser is tests/e2e/status_page_e2e_test.py.
#include "orchestrator/api/status_page.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/orchestrator/api/agent_harness.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace foghorn::api {
namespace {

using ::foghorn::testing::AgentHarness;
using ::foghorn::testing::HarnessOptions;
using ::foghorn::testing::IsOk;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

constexpr char kViewerToken[] = "viewer-token-0123456789";

class StatusPageTest : public ::testing::Test {
 protected:
  void Start(bool with_tokens = false) {
    HarnessOptions o;
    o.start_api = false;
    if (with_tokens) {
      v1::ApiToken* token = o.api.add_tokens();
      token->set_name("viewer-bot");
      token->set_role(v1::API_ROLE_VIEWER);
      token->set_token_file(dir_.Write("viewer.token", std::string(kViewerToken) + "\n"));
    }
    const v1::ApiSettings api = o.api;
    auto h = AgentHarness::Create(dir_.path(), std::move(o));
    ASSERT_THAT(h, IsOk());
    h_ = std::move(h).value();
    StatusPage::Options options;
    options.event_buffer = 3;
    auto page = StatusPage::Create(
        api, StatusPageDeps{h_->agent(), h_->journal(), h_->clock(), h_->drills()}, options);
    ASSERT_THAT(page, IsOk());
    page_ = std::move(page).value();
  }
  void TearDown() override {
    if (h_) h_->Shutdown();
  }
  nlohmann::json State() {
    h_->clock().Advance(absl::Seconds(1));  // past the reuse window
    agent::HttpReply r = page_->HandleState({});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    return nlohmann::json::parse(r.body);
  }
  static agent::AgentEvent Event(const std::string& summary) {
    agent::AgentEvent e;
    e.group_id = AgentHarness::GroupId(0);
    e.at = absl::FromUnixSeconds(1767225600);
    e.summary = summary;
    e.detail = agent::VerdictChanged{v1::PROBE_TARGET_PRIMARY, v1::VERDICT_UNHEALTHY,
                                     v1::VERDICT_HEALTHY, "3 consecutive failures"};
    return e;
  }

  foghorn::testing::TempDir dir_;
  std::unique_ptr<AgentHarness> h_;
  std::unique_ptr<StatusPage> page_;
};

TEST_F(StatusPageTest, StateListsEveryGroupWithRolesVerdictsAndTheStageWithItsReasons) {
  Start();
  nlohmann::json s = State();
  ASSERT_EQ(s["groups"]["groups"].size(), 1u);
  const nlohmann::json& g = s["groups"]["groups"][0];
  EXPECT_EQ(g["id"], AgentHarness::GroupId(0));
  EXPECT_EQ(g["primary"]["server"], "srv-a");
  EXPECT_EQ(g["primary"]["verdict"], "VERDICT_HEALTHY");
  EXPECT_EQ(g["secondary"]["server"], "srv-b");
  EXPECT_EQ(g["last_decision"]["stage"], "DECISION_STAGE_HEALTHY");
  EXPECT_FALSE(g["last_decision"]["reasons"].empty());
  EXPECT_TRUE(s["generated_at"].is_string());
  EXPECT_FALSE(s["recent_decisions"]["decisions"].empty());
}

TEST_F(StatusPageTest, ARunningOperationShowsItsStepsAndThenMovesToTheRecentOnes) {
  Start();
  h_->arm().Hold();
  agent::FailoverRequest req;
  req.group_id = AgentHarness::GroupId(0);
  req.kind = v1::FAILOVER_KIND_PLANNED;
  req.requested_by = "test";
  req.reason = "status page test";
  req.request_id = "req-status-1";
  ASSERT_THAT(h_->agent().RequestFailover(req), IsOk());
  ASSERT_TRUE(h_->arm().AwaitHeld(absl::Seconds(20)));
  nlohmann::json s = State();
  ASSERT_EQ(s["running_operations"]["operations"].size(), 1u);
  const nlohmann::json& op = s["running_operations"]["operations"][0];
  EXPECT_EQ(op["reason"], "status page test");
  std::vector<std::pair<std::string, std::string>> steps;
  for (const auto& st : op["steps"]) steps.emplace_back(st["name"], st["state"]);
  EXPECT_THAT(steps, ElementsAre(Pair("pre:announce", "STEP_STATE_DONE"),
                                 Pair("arm:failover", "STEP_STATE_RUNNING")));
  EXPECT_FALSE(s["groups"]["groups"][0]["operation_in_flight"].get<std::string>().empty());

  h_->arm().Release();
  h_->Run(absl::Seconds(3));
  s = State();
  EXPECT_FALSE(s["running_operations"].contains("operations"));
  ASSERT_FALSE(s["recent_operations"]["operations"].empty());
  EXPECT_EQ(s["recent_operations"]["operations"][0]["state"], "OPERATION_STATE_SUCCEEDED");
}

TEST_F(StatusPageTest, StateIsReusedWithinTheReuseWindow) {
  Start();
  h_->clock().Advance(absl::Seconds(1));
  absl::StatusOr<std::string> first = page_->StateJson();
  ASSERT_THAT(first, IsOk());
  page_->Publish(Event("between"));
  absl::StatusOr<std::string> second = page_->StateJson();  // same instant: the same answer
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(*first, *second);
  h_->clock().Advance(absl::Seconds(1));
  EXPECT_NE(nlohmann::json::parse(*page_->StateJson())["last_event_seq"], 0);
}

TEST_F(StatusPageTest, EventsCarryTheirTextAsJsonStringsWhateverItHolds) {
  Start();
  const std::string hostile = "<img src=x onerror=alert(1)> \"quoted\" \\ </script>\n\x01";
  page_->Publish(Event(hostile));
  agent::HttpReply r =
      page_->HandleEvents({.path = "/status/events.json", .query = {{"after", "0"}}});
  ASSERT_EQ(r.status, 200);
  nlohmann::json e = nlohmann::json::parse(r.body);
  ASSERT_EQ(e["events"].size(), 1u);
  EXPECT_EQ(e["events"][0]["summary"], hostile);
  EXPECT_EQ(e["events"][0]["kind"], "EVENT_KIND_VERDICT");
  EXPECT_EQ(e["events"][0]["verdict"]["reason"], "3 consecutive failures");
  EXPECT_EQ(e["last_seq"], 1);
}

TEST_F(StatusPageTest, EventsAfterASeqAndMissedOnesAreCounted) {
  Start();
  for (int i = 1; i <= 5; ++i) page_->Publish(Event("e" + std::to_string(i)));
  // The buffer keeps 3 (4, 5 and 6 would be next): a reader at 0 missed 2.
  nlohmann::json all = nlohmann::json::parse(page_->EventsJson(0));
  EXPECT_EQ(all["missed"], 2);
  ASSERT_EQ(all["events"].size(), 3u);
  EXPECT_EQ(all["events"][0]["summary"], "e3");
  EXPECT_EQ(all["events"][0]["seq"], "3");  // uint64 is a string in proto3 JSON
  nlohmann::json later = nlohmann::json::parse(page_->EventsJson(4));
  EXPECT_EQ(later["missed"], 0);
  ASSERT_EQ(later["events"].size(), 1u);
  EXPECT_EQ(later["events"][0]["summary"], "e5");
  // A reader from an earlier run of the agent (beyond the last seq) gets what is kept.
  nlohmann::json restarted = nlohmann::json::parse(page_->EventsJson(99));
  EXPECT_EQ(restarted["last_seq"], 5);
  EXPECT_TRUE(restarted["events"].empty());
}

TEST_F(StatusPageTest, WithTokensTheDataNeedsAViewerTokenAndThePageDoesNot) {
  Start(/*with_tokens=*/true);
  agent::HttpReply none = page_->HandleState({});
  EXPECT_EQ(none.status, 401);
  EXPECT_THAT(none.headers, Contains(Pair("WWW-Authenticate", HasSubstr("Bearer"))));
  EXPECT_THAT(none.body, Not(HasSubstr("srv-a")));
  EXPECT_EQ(page_->HandleEvents({.authorization = "Bearer not-a-token-0123456789"}).status, 401);
  EXPECT_EQ(page_->HandleState({.authorization = std::string("Bearer ") + kViewerToken}).status,
            200);
  EXPECT_EQ(page_->HandleEvents({.authorization = std::string("Bearer ") + kViewerToken}).status,
            200);
  EXPECT_EQ(page_->HandlePage({}).status, 200);
}

TEST_F(StatusPageTest, AMalformedAfterIsABadRequest) {
  Start();
  EXPECT_EQ(page_->HandleEvents({.query = {{"after", "x"}}}).status, 400);
}

TEST(StatusPageHtmlTest, IsSelfContainedAndNeverParsesDataAsMarkup) {
  const std::string html(StatusPageHtml());
  EXPECT_THAT(html, HasSubstr("<meta name=\"viewport\""));
  for (const char* banned : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                             "eval(", "new Function", "http://", "https://", "<link", "src=\""}) {
    EXPECT_THAT(html, Not(HasSubstr(banned))) << banned;
  }
  EXPECT_THAT(html, HasSubstr("textContent"));
  EXPECT_THAT(html, HasSubstr("createTextNode"));
}

TEST_F(StatusPageTest, ThePageIsServedWithAStrictContentSecurityPolicy) {
  Start();
  agent::HttpReply r = page_->HandlePage({});
  EXPECT_THAT(r.content_type, HasSubstr("text/html"));
  EXPECT_THAT(r.headers,
              Contains(Pair("Content-Security-Policy", HasSubstr("default-src 'none'"))));
  EXPECT_THAT(r.headers,
              Contains(Pair("Content-Security-Policy", HasSubstr("connect-src 'self'"))));
}

}  // namespace
}  // namespace foghorn::api
