// Replays the real service's LRO exchanges from the Azure SDK for Python recording
// (tests/fixtures/arm/recordings/...test_failover_group.yaml): the client must follow the same URLs
// the SDK followed, with the same headers the service sent (both Azure-AsyncOperation and Location,
// no Retry-After).
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/orchestrator/arm/fake_http_transport.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "yaml-cpp/yaml.h"

namespace foghorn::arm {
namespace {

using ::foghorn::testing::FakeSleeper;
using ::foghorn::testing::IsOk;
using testing::FakeHttpTransport;

struct Interaction {
  std::string method;
  std::string uri;
  http::HttpResponse response;
};

std::vector<Interaction> LoadRecording() {
  YAML::Node doc = YAML::LoadFile(::foghorn::testing::FixturesDir() +
                                  "/arm/recordings/"
                                  "azure-sdk-for-python.test_cli_mgmt_sql_failover_group."
                                  "test_failover_group.yaml");
  std::vector<Interaction> out;
  for (const auto& i : doc["interactions"]) {
    Interaction x;
    x.method = i["request"]["method"].as<std::string>();
    x.uri = i["request"]["uri"].as<std::string>();
    x.response.status = i["response"]["status"]["code"].as<int>();
    if (i["response"]["body"]["string"])
      x.response.body = i["response"]["body"]["string"].as<std::string>();
    for (const auto& h : i["response"]["headers"]) {
      x.response.headers.Add(h.first.as<std::string>(), h.second[0].as<std::string>());
    }
    out.push_back(std::move(x));
  }
  return out;
}

// Index of the first interaction with `method` whose uri contains `part`.
size_t Find(const std::vector<Interaction>& rec, const std::string& method,
            const std::string& part) {
  for (size_t i = 0; i < rec.size(); ++i) {
    if (rec[i].method == method && rec[i].uri.find(part) != std::string::npos) return i;
  }
  ADD_FAILURE() << "no " << method << " " << part << " in the recording";
  return 0;
}

std::string SwapRoles(std::string body) {
  const std::string p = "\"Primary\"", s = "\"Secondary\"", tmp = "\"@@\"";
  for (auto [from, to] : {std::pair{p, tmp}, std::pair{s, p}, std::pair{tmp, s}}) {
    for (size_t at = body.find(from); at != std::string::npos;
         at = body.find(from, at + to.size())) {
      body.replace(at, from.size(), to);
    }
  }
  return body;
}

class RecordedSessionTest : public ::testing::Test {
 protected:
  RecordedSessionTest() : sleeper_(clock_), rec_(LoadRecording()) {
    options_.api_version = "2015-05-01-preview";  // the recording's
    options_.lro.default_interval = absl::Seconds(10);
  }
  ArmClient& client() {
    if (!client_) {
      common::Logger logger(std::make_shared<::foghorn::testing::CapturingLogSink>(),
                            std::make_shared<common::Redactor>(), clock_, {});
      client_ = std::make_unique<ArmClient>(http_, credential_, clock_, sleeper_, logger, options_);
    }
    return *client_;
  }
  void Replay(size_t index) {
    http_.Expect(rec_[index].method, rec_[index].uri, rec_[index].response);
  }

  class Cred final : public TokenCredential {
   public:
    absl::StatusOr<AccessToken> GetToken() override {
      return AccessToken{"t", absl::InfiniteFuture(), std::nullopt};
    }
    std::string_view name() const override { return "t"; }
  };

  common::FakeClock clock_;
  FakeSleeper sleeper_;
  FakeHttpTransport http_;
  Cred credential_;
  ArmClientOptions options_;
  std::unique_ptr<ArmClient> client_;
  std::vector<Interaction> rec_;
};

TEST_F(RecordedSessionTest, ForcedFailoverFollowsTheRecordedOperationUrls) {
  ASSERT_EQ(rec_.size(), 35u);
  const size_t post = Find(rec_, "POST", "/forceFailoverAllowDataLoss");
  // The group on the partner before the failover: the final body with the roles swapped.
  http::HttpResponse before = rec_[post + 2].response;
  before.body = SwapRoles(before.body);
  const std::string group_uri = rec_[post].uri.substr(0, rec_[post].uri.find("/forceFailover")) +
                                "?api-version=2015-05-01-preview";
  http_.Expect("GET", group_uri, before);
  Replay(post);
  Replay(post + 1);  // Azure-AsyncOperation: Succeeded
  Replay(post + 2);  // Location: the group, now Primary
  auto target = FailoverGroupId::Parse(
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rgname/providers/"
      "Microsoft.Sql/servers/mypartnerserverxpxy/failoverGroups/myfailovergroupxyz");
  ASSERT_THAT(target, IsOk());
  FailoverRequest req;
  req.target = *target;
  req.kind = FailoverKind::kForcedAllowDataLoss;
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(r->group.replication_role, ReplicationRole::kPrimary);
  EXPECT_EQ(r->group.location, "East US 2");
  EXPECT_EQ(r->operation->async_operation_url, rec_[post + 1].uri);
  EXPECT_EQ(r->operation->location_url, rec_[post + 2].uri);
  EXPECT_EQ(http_.remaining(), 0u);
  // The recording has no Retry-After: one default interval before the first poll.
  EXPECT_EQ(sleeper_.sleeps().front(), absl::Seconds(10));
}

TEST_F(RecordedSessionTest, PatchPollsThenReadsTheResourceLikeTheSdk) {
  const size_t patch = Find(rec_, "PATCH", "/failoverGroups/");
  Replay(patch);
  Replay(patch + 1);  // async op Succeeded
  Replay(patch + 2);  // GET the resource
  auto id = FailoverGroupId::Parse(
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rgname/providers/"
      "Microsoft.Sql/servers/mypartnerserverxpxy/failoverGroups/myfailovergroupxyz");
  ASSERT_THAT(id, IsOk());
  FailoverGroupUpdate u;
  u.read_write_endpoint = ReadWriteEndpoint{"Automatic", 120};
  u.databases = std::vector<std::string>{};
  auto g = client().Update(*id, u);
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(g->read_write_endpoint->failover_with_data_loss_grace_period_minutes, 120);
  EXPECT_EQ(http_.remaining(), 0u);
}

TEST_F(RecordedSessionTest, DeletePollsWithoutAFinalRead) {
  const size_t del = Find(rec_, "DELETE", "/failoverGroups/");
  Replay(del);
  Replay(del + 1);
  auto id = FailoverGroupId::Parse(
      "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rgname/providers/"
      "Microsoft.Sql/servers/myserverxpxy/failoverGroups/myfailovergroupxyz");
  ASSERT_THAT(id, IsOk());
  EXPECT_THAT(client().Delete(*id), IsOk());
  EXPECT_EQ(http_.remaining(), 0u);
}

}  // namespace
}  // namespace foghorn::arm
