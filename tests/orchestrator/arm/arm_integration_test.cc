// The ARM client against foghorn-armsim over HTTPS on loopback: every operation, every injected
// fault kind, strict-mode token expiry, credentials through the emulator's token endpoints, and
// the idempotency rule that a connection reset after the emulator applied a failover ends with
// exactly one accepted POST and one role change.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/arm/arm_client.h"
#include "orchestrator/arm/azure_signals.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/http/curl_http_transport.h"
#include "tests/testing/capturing_log_sink.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tools/armsim/armsim_server.h"

namespace foghorn::arm {
namespace {

using armsim::ArmSimOptions;
using armsim::ArmSimServer;
using armsim::FaultSpec;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSub[] = "00000000-1111-2222-3333-444444444444";
constexpr char kRg[] = "rg-foghorn";
constexpr char kGroup[] = "fog-orders";
constexpr char kTenant[] = "11111111-2222-3333-4444-555555555555";
constexpr char kClientSecret[] = "armsim-secret";

FailoverGroupId On(const std::string& server) { return {kSub, kRg, server, kGroup}; }

class ArmIntegrationTest : public ::testing::Test {
 protected:
  void StartSim(ArmSimOptions o = {}) {
    o.topology_path = ::foghorn::testing::SourceDir() + "/tools/armsim/examples/topology.json";
    o.cert_dir = tmp_.path();
    o.data_plane = false;
    o.threads = 4;
    if (o.operation_duration == absl::Seconds(2)) o.operation_duration = absl::Milliseconds(30);
    auto sim = ArmSimServer::Start(o);
    ASSERT_THAT(sim, IsOk());
    sim_ = *std::move(sim);
    http::CurlHttpTransport::Options t;
    t.ca_file = sim_->ca_cert_path();
    t.connect_timeout = absl::Seconds(5);
    transport_ = std::make_unique<http::CurlHttpTransport>(t);
  }

  // A client-secret credential against the emulator's Entra ID endpoint.
  void UseClientSecret(const std::string& secret = kClientSecret) {
    CredentialOptions c;
    c.authority_host = sim_->base_url();
    c.scope = ScopeForEndpoint(sim_->base_url());
    c.redactor = redactor_;
    credential_ = std::make_unique<CachingTokenCredential>(
        std::make_unique<EntraTokenCredential>(
            *transport_, clock_, c, EntraTokenCredential::Options{kTenant, "foghorn", secret, ""}),
        clock_, absl::Minutes(5));
  }

  ArmClient& client() {
    if (!credential_) UseClientSecret();
    if (!client_) {
      ArmClientOptions o = options_;
      o.endpoint = sim_->base_url();
      common::Logger logger(sink_, redactor_, clock_,
                            {common::LogLevel::kDebug, common::LogFormat::kJson});
      client_ = std::make_unique<ArmClient>(*transport_, *credential_, clock_, sleeper_, logger, o);
    }
    return *client_;
  }

  ArmClientOptions Fast() {
    ArmClientOptions o;
    o.lro.default_interval = absl::Milliseconds(10);
    o.accepted_settle = absl::Milliseconds(60);
    o.lro.failed_poll_backoff.initial = absl::Milliseconds(10);
    o.lro.failed_poll_backoff.max = absl::Milliseconds(50);
    o.backoff.initial = absl::Milliseconds(5);
    o.backoff.max = absl::Milliseconds(50);
    o.read_deadline = absl::Seconds(20);
    o.operation_deadline = absl::Seconds(30);
    return o;
  }

  ReplicationRole RoleOf(const std::string& server) {
    auto g = client().Get(On(server));
    EXPECT_THAT(g, IsOk());
    return g.ok() ? g->replication_role : ReplicationRole::kUnknown;
  }

  ::foghorn::testing::TempDir tmp_;
  common::RealClock clock_;
  common::RealSleeper sleeper_;
  std::unique_ptr<ArmSimServer> sim_;
  std::unique_ptr<http::CurlHttpTransport> transport_;
  std::unique_ptr<TokenCredential> credential_;
  std::shared_ptr<common::Redactor> redactor_ = std::make_shared<common::Redactor>();
  std::shared_ptr<::foghorn::testing::CapturingLogSink> sink_ =
      std::make_shared<::foghorn::testing::CapturingLogSink>();
  ArmClientOptions options_ = Fast();
  std::unique_ptr<ArmClient> client_;
};

// ---- every operation ----

TEST_F(ArmIntegrationTest, GetAndListSeeTheTopology) {
  StartSim();
  auto g = client().Get(On("sql-east"));
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(g->replication_role, ReplicationRole::kPrimary);
  EXPECT_EQ(g->location, "East US");
  ASSERT_EQ(g->partner_servers.size(), 1u);
  EXPECT_THAT(g->partner_servers[0].id, HasSubstr("sql-west"));
  auto all = client().List({kSub, kRg, "sql-west"});
  ASSERT_THAT(all, IsOk());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].replication_role, ReplicationRole::kSecondary);
  EXPECT_THAT(client().Get(On("sql-nowhere")), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ArmIntegrationTest, CreatesPatchesAndDeletesAGroup) {
  StartSim();
  const FailoverGroupId id{kSub, kRg, "sql-east", "fog-audit"};
  FailoverGroup spec;
  spec.read_write_endpoint = ReadWriteEndpoint{"Manual", std::nullopt};
  spec.read_only_endpoint = ReadOnlyEndpoint{"Disabled", ""};
  spec.partner_servers.push_back(
      {ServerId{kSub, kRg, "sql-west"}.Path(), "", ReplicationRole::kUnknown});
  spec.databases = {ServerId{kSub, kRg, "sql-east"}.Path() + "/databases/audit"};
  auto created = client().CreateOrUpdate(id, spec);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->replication_role, ReplicationRole::kPrimary);

  FailoverGroupUpdate u;
  u.read_write_endpoint = ReadWriteEndpoint{"Automatic", 120};
  auto patched = client().Update(id, u);
  ASSERT_THAT(patched, IsOk());
  EXPECT_EQ(patched->read_write_endpoint->failover_with_data_loss_grace_period_minutes, 120);

  EXPECT_THAT(client().Update(id.OnServer({kSub, kRg, "sql-west"}), u),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("FailoverGroupUpdateOrDeleteRequestOnSecondary")));

  ASSERT_THAT(client().Delete(id), IsOk());
  EXPECT_THAT(client().Get(id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(client().Delete(id), IsOk());
}

TEST_F(ArmIntegrationTest, EveryFailoverKindMovesThePrimaryWithOneAcceptedPostEach) {
  StartSim();
  struct Step {
    FailoverKind kind;
    const char* to;
  };
  int expected = 0;
  for (Step s : {Step{FailoverKind::kPlanned, "sql-west"},
                 Step{FailoverKind::kForcedAllowDataLoss, "sql-east"},
                 Step{FailoverKind::kTryPlannedBeforeForced, "sql-west"}}) {
    std::vector<OperationRef> journaled;
    FailoverRequest req;
    req.target = On(s.to);
    req.kind = s.kind;
    req.on_accepted = [&](const OperationRef& op) { journaled.push_back(op); };
    auto r = client().Failover(req);
    ASSERT_THAT(r, IsOk()) << FailoverKindName(s.kind);
    EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
    EXPECT_EQ(r->group.replication_role, ReplicationRole::kPrimary);
    ASSERT_EQ(journaled.size(), 1u);
    EXPECT_THAT(journaled[0].async_operation_url, HasSubstr(sim_->base_url()));
    EXPECT_EQ(sim_->AcceptedFailovers(kGroup), ++expected);
  }
  EXPECT_EQ(RoleOf("sql-east"), ReplicationRole::kSecondary);
}

TEST_F(ArmIntegrationTest, FailoverToTheCurrentPrimaryPostsNothing) {
  StartSim();
  FailoverRequest req;
  req.target = On("sql-east");
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kAlreadyPrimary);
  EXPECT_EQ(sim_->AcceptedFailovers(), 0);
}

TEST_F(ArmIntegrationTest, ResumesAJournaledOperation) {
  ArmSimOptions o;
  o.operation_duration = absl::Milliseconds(200);
  StartSim(o);
  std::optional<OperationRef> journaled;
  {
    // A first "agent" that gives up right after the POST was accepted (deadline shorter than the
    // operation), as if it had crashed.
    options_.operation_deadline = absl::Milliseconds(100);
    FailoverRequest req;
    req.target = On("sql-west");
    req.on_accepted = [&](const OperationRef& op) { journaled = op; };
    EXPECT_THAT(client().Failover(req), StatusIs(absl::StatusCode::kDeadlineExceeded));
    client_.reset();
  }
  ASSERT_TRUE(journaled.has_value());
  options_ = Fast();
  FailoverRequest resume;
  resume.target = On("sql-west");
  resume.resume_operation = journaled;
  auto r = client().Failover(resume);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kResumed);
  EXPECT_EQ(sim_->AcceptedFailovers(kGroup), 1);
}

// ---- injected faults ----

TEST_F(ArmIntegrationTest, ReadsRideThroughEveryTransientFaultKind) {
  StartSim();
  for (auto kind : {FaultSpec::Kind::kHttp429, FaultSpec::Kind::kHttp500, FaultSpec::Kind::kHttp503,
                    FaultSpec::Kind::kHttp504, FaultSpec::Kind::kResetBefore,
                    FaultSpec::Kind::kResetAfter, FaultSpec::Kind::kLatency}) {
    FaultSpec f;
    f.kind = kind;
    f.route = "get";
    f.count = 2;
    f.retry_after_seconds = 0;
    f.latency = absl::Milliseconds(20);
    int id = sim_->AddFault(f);
    auto g = client().Get(On("sql-east"));
    EXPECT_THAT(g, IsOk()) << static_cast<int>(kind);
    sim_->RemoveFault(id);
  }
}

TEST_F(ArmIntegrationTest, PersistentServerErrorsEndUnavailableWithRequestIds) {
  StartSim();
  FaultSpec f;
  f.kind = FaultSpec::Kind::kHttp503;
  f.route = "get";
  sim_->AddFault(f);
  auto g = client().Get(On("sql-east"));
  EXPECT_THAT(g,
              StatusIs(absl::StatusCode::kUnavailable,
                       ::testing::AllOf(HasSubstr("ServiceUnavailable"), HasSubstr("request-id="),
                                        HasSubstr("client-request-id="))));
}

class FailoverPostFaultTest : public ArmIntegrationTest,
                              public ::testing::WithParamInterface<FaultSpec::Kind> {};

TEST_P(FailoverPostFaultTest, EndsPrimaryWithExactlyOneAcceptedPost) {
  StartSim();
  FaultSpec f;
  f.kind = GetParam();
  f.route = "failover";
  f.count = 1;
  f.retry_after_seconds = 0;
  sim_->AddFault(f);
  FailoverRequest req;
  req.target = On("sql-west");
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->group.replication_role, ReplicationRole::kPrimary);
  EXPECT_LE(r->posts_accepted, 1);
  EXPECT_EQ(sim_->AcceptedFailovers(kGroup), 1);
  EXPECT_EQ(RoleOf("sql-east"), ReplicationRole::kSecondary);
}

INSTANTIATE_TEST_SUITE_P(Faults, FailoverPostFaultTest,
                         ::testing::Values(FaultSpec::Kind::kHttp429, FaultSpec::Kind::kHttp500,
                                           FaultSpec::Kind::kHttp503, FaultSpec::Kind::kHttp504,
                                           FaultSpec::Kind::kResetBefore,
                                           FaultSpec::Kind::kResetAfter,
                                           FaultSpec::Kind::kLatency));

TEST_F(ArmIntegrationTest, StatusUrlErrorsAreFailedPollsNotAFailedFailover) {
  StartSim();
  FaultSpec f;
  f.kind = FaultSpec::Kind::kHttp500;
  f.route = "asyncOperation";
  f.count = 3;
  sim_->AddFault(f);
  FailoverRequest req;
  req.target = On("sql-west");
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
}

TEST_F(ArmIntegrationTest, AStatusUrlUnreadableForLongIsNotAFailedFailover) {
  ArmSimOptions o;
  o.operation_duration = absl::Milliseconds(800);
  StartSim(o);
  // More failed polls in a row than the client ever tolerated before, while the operation runs.
  FaultSpec f;
  f.kind = FaultSpec::Kind::kHttp503;
  f.route = "asyncOperation";
  f.count = 15;
  sim_->AddFault(f);
  FailoverRequest req;
  req.target = On("sql-west");
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(sim_->AcceptedFailovers(kGroup), 1);
}

TEST_F(ArmIntegrationTest, AFailedOperationSurfacesArmsCodeAndIsNotRetried) {
  StartSim();
  FaultSpec f;
  f.kind = FaultSpec::Kind::kFailOperation;
  f.route = "failover";
  f.count = 1;
  sim_->AddFault(f);
  FailoverRequest req;
  req.target = On("sql-west");
  auto r = client().Failover(req);
  EXPECT_THAT(
      r, StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("PlannedFailoverTimedOut")));
  EXPECT_EQ(ArmErrorCode(r.status()), "PlannedFailoverTimedOut");
  EXPECT_EQ(sim_->AcceptedFailovers(kGroup), 1);
  EXPECT_EQ(RoleOf("sql-west"), ReplicationRole::kSecondary);
}

TEST_F(ArmIntegrationTest, ClientSideThrottleKeepsABurstUnderArmsLimit) {
  ArmSimOptions o;
  o.throttling = true;
  o.read_bucket = 5;
  o.read_refill_per_second = 100;
  StartSim(o);
  // Our bucket is as big but refills a little slower, and follows ARM's remaining headers.
  options_.throttle.reads = {5, 80};
  for (int i = 0; i < 30; ++i) ASSERT_THAT(client().Get(On("sql-east")), IsOk());
  int throttled = 0;
  for (const auto& rec : sim_->RequestLog()) {
    if (rec.status == 429) ++throttled;
  }
  EXPECT_EQ(throttled, 0);
}

TEST_F(ArmIntegrationTest, RegionOutageAllowsOnlyForcedOrFallbackFailover) {
  StartSim();
  sim_->SetRegionDown("eastus", {});
  EXPECT_THAT(client().Get(On("sql-east")), StatusIs(absl::StatusCode::kUnavailable));
  FailoverRequest req;
  req.target = On("sql-west");
  req.kind = FailoverKind::kPlanned;
  auto planned = client().Failover(req);
  EXPECT_THAT(planned, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("PlannedFailoverTimedOut")));
  req.kind = FailoverKind::kTryPlannedBeforeForced;
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, FailoverOutcome::kPosted);
  EXPECT_EQ(sim_->AcceptedFailovers(kGroup), 2);
  sim_->SetRegionUp("eastus");
  EXPECT_EQ(RoleOf("sql-east"), ReplicationRole::kSecondary);
}

TEST_F(ArmIntegrationTest, BlackholedRegionTimesOutAsUnavailable) {
  ArmSimOptions o;
  o.blackhole_timeout = absl::Seconds(5);
  StartSim(o);
  armsim::RegionOutage outage;
  outage.mode = armsim::OutageMode::kBlackhole;
  sim_->SetRegionDown("eastus", outage);
  options_.attempt_timeout = absl::Milliseconds(150);
  options_.read_deadline = absl::Milliseconds(400);
  auto g = client().Get(On("sql-east"));
  EXPECT_TRUE(g.status().code() == absl::StatusCode::kDeadlineExceeded ||
              g.status().code() == absl::StatusCode::kUnavailable)
      << g.status();
  sim_->SetRegionUp("eastus");
}

// ---- the idempotency rule, under several seeds ----

// The emulator's request log shows every POST that reached it; each must be one the client decided
// to send (posts_sent). libcurl re-sends a request whose reused keep-alive connection dies before
// any answer, so a failover POST must never ride a reused connection.
int PostsInLog(const ArmSimServer& sim) {
  int posts = 0;
  for (const auto& rec : sim.RequestLog()) {
    if (rec.method == "POST" && rec.route != "token") ++posts;
  }
  return posts;
}

TEST_F(ArmIntegrationTest, ADroppedAnswerOnAReusedConnectionIsNeverResentByTheTransport) {
  ArmSimOptions o;
  o.operation_duration = absl::Milliseconds(300);
  StartSim(o);
  // A read first, so a keep-alive connection to the emulator sits in the transport's pool.
  ASSERT_EQ(RoleOf("sql-west"), ReplicationRole::kSecondary);
  FaultSpec f;
  f.kind = FaultSpec::Kind::kResetAfter;
  f.route = "failover";
  f.count = 1;
  sim_->AddFault(f);
  FailoverRequest req;
  req.target = On("sql-west");
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->group.replication_role, ReplicationRole::kPrimary);
  EXPECT_EQ(PostsInLog(*sim_), r->posts_sent);
  EXPECT_EQ(sim_->AcceptedFailovers(kGroup), 1);
}

TEST_F(ArmIntegrationTest, A503AndADroppedAnswerOnTheRouteEndWithOneRoleChange) {
  ArmSimOptions o;
  o.operation_duration = absl::Milliseconds(200);
  StartSim(o);
  for (auto kind : {FaultSpec::Kind::kHttp503, FaultSpec::Kind::kResetAfter}) {
    FaultSpec f;
    f.kind = kind;
    f.route = "forceFailoverAllowDataLoss";
    f.count = 1;
    sim_->AddFault(f);
  }
  FailoverRequest req;
  req.target = On("sql-west");
  req.kind = FailoverKind::kForcedAllowDataLoss;
  auto r = client().Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->group.replication_role, ReplicationRole::kPrimary);
  EXPECT_EQ(PostsInLog(*sim_), r->posts_sent);
  EXPECT_EQ(sim_->AcceptedFailovers(kGroup), 1);
  int role_changes = 0;
  const nlohmann::json state = sim_->State();
  for (const auto& op : state["operations"]) {
    if (op.value("status", "") == "Succeeded" && op.contains("outcome")) ++role_changes;
  }
  EXPECT_EQ(role_changes, 1);
  for (const auto& rec : sim_->RequestLog()) {
    if (rec.method == "POST" && rec.route != "token") {
      EXPECT_EQ(rec.server, "sql-west");
    }
  }
  EXPECT_EQ(RoleOf("sql-east"), ReplicationRole::kSecondary);
}

TEST_F(ArmIntegrationTest, ResetAfterApplyEndsWithOneRoleChangeAndOneAcceptedPost) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(seed);
    ArmSimOptions o;
    // Operations shorter and longer than the client's backoff before a second POST (5-50 ms).
    o.operation_duration = absl::Milliseconds(10 + 25 * static_cast<int>(seed));
    StartSim(o);
    client_.reset();
    credential_.reset();
    FaultSpec f;
    f.kind = FaultSpec::Kind::kResetAfter;
    f.route = seed % 2 == 0 ? "forceFailoverAllowDataLoss" : "failover";
    f.count = 1;
    f.seed = seed;
    sim_->AddFault(f);
    FailoverRequest req;
    req.target = On("sql-west");
    req.kind = seed % 2 == 0 ? FailoverKind::kForcedAllowDataLoss : FailoverKind::kPlanned;
    auto r = client().Failover(req);
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->group.replication_role, ReplicationRole::kPrimary);
    // Our only accepted POST got no answer, so the client learned the result by re-reading.
    EXPECT_EQ(r->outcome, FailoverOutcome::kCompletedAfterReread);
    EXPECT_EQ(r->posts_accepted, 0);
    EXPECT_EQ(sim_->AcceptedFailovers(kGroup), 1);
    int accepted_in_log = 0;
    int dropped_posts = 0;
    for (const auto& rec : sim_->RequestLog()) {
      if (rec.method != "POST") continue;
      if (rec.accepted_operation) ++accepted_in_log;
      if (rec.status == 0) ++dropped_posts;
    }
    EXPECT_EQ(accepted_in_log, 1);
    EXPECT_EQ(dropped_posts, 1);
    EXPECT_EQ(PostsInLog(*sim_), r->posts_sent);
    EXPECT_EQ(RoleOf("sql-east"), ReplicationRole::kSecondary);
    // Close our keep-alive connections before the emulator shuts down.
    client_.reset();
    credential_.reset();
    transport_.reset();
    sim_.reset();
  }
}

// ---- credentials and tokens ----

TEST_F(ArmIntegrationTest, StrictModeRefreshesAnExpiredTokenOnce) {
  common::FakeClock sim_clock(absl::Now());
  ArmSimOptions o;
  o.strict_auth = true;
  o.token_lifetime = absl::Minutes(60);
  o.clock = &sim_clock;
  StartSim(o);
  ASSERT_THAT(client().Get(On("sql-east")), IsOk());
  // The emulator's clock jumps past the token's expiry; our cache still thinks it is valid.
  sim_clock.Advance(absl::Hours(2));
  ASSERT_THAT(client().Get(On("sql-east")), IsOk());
  int unauthorized = 0;
  for (const auto& rec : sim_->RequestLog()) {
    if (rec.status == 401) ++unauthorized;
  }
  EXPECT_EQ(unauthorized, 1);
}

TEST_F(ArmIntegrationTest, StrictModeRejectsAStaleStaticTokenWithoutLeakingIt) {
  common::FakeClock sim_clock(absl::Now());
  ArmSimOptions o;
  o.strict_auth = true;
  o.clock = &sim_clock;
  StartSim(o);
  const std::string token = sim_->IssueToken();
  std::string file = tmp_.Write("token", token);
  StaticTokenCredential::Options so;
  so.token_file = file;
  credential_ = std::make_unique<StaticTokenCredential>(clock_, so, redactor_);
  ASSERT_THAT(client().Get(On("sql-east")), IsOk());
  sim_clock.Advance(absl::Hours(2));
  auto g = client().Get(On("sql-east"));
  EXPECT_THAT(g, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(g.status().message()), Not(HasSubstr(token)));
  EXPECT_THAT(sink_->text(), Not(HasSubstr(token)));
  // A rotated token file is picked up after the 401.
  tmp_.Write("token", sim_->IssueToken());
  EXPECT_THAT(client().Get(On("sql-east")), IsOk());
}

TEST_F(ArmIntegrationTest, WrongClientSecretIsUnauthenticatedAndNeverPrinted) {
  ArmSimOptions o;
  o.strict_auth = true;
  StartSim(o);
  const std::string wrong = "definitely-wrong-secret-value";
  UseClientSecret(wrong);
  auto g = client().Get(On("sql-east"));
  EXPECT_THAT(g, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("invalid_client")));
  EXPECT_THAT(std::string(g.status().message()), Not(HasSubstr(wrong)));
  EXPECT_THAT(sink_->text(), Not(HasSubstr(wrong)));
}

TEST_F(ArmIntegrationTest, DefaultChainFindsManagedIdentityThroughImdsEndpoint) {
  ArmSimOptions o;
  o.strict_auth = true;
  StartSim(o);
  CredentialOptions c;
  c.resource = ResourceForEndpoint(sim_->base_url());
  std::map<std::string, std::string> env = {{"IMDS_ENDPOINT", sim_->base_url()}};
  auto cred = MakeDefaultCredential(
      [&](const std::string& k) -> std::optional<std::string> {
        auto it = env.find(k);
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      *transport_, clock_, c);
  ASSERT_THAT(cred, IsOk());
  EXPECT_EQ((*cred)->name(), "managed-identity");
  credential_ = *std::move(cred);
  EXPECT_THAT(client().Get(On("sql-east")), IsOk());
}

TEST_F(ArmIntegrationTest, DefaultChainUsesWorkloadIdentityAssertion) {
  ArmSimOptions o;
  o.strict_auth = true;
  StartSim(o);
  std::string assertion = tmp_.Write("federated", "eyJhbGciOiJSUzI1NiJ9.e30.sig");
  std::map<std::string, std::string> env = {{"AZURE_TENANT_ID", kTenant},
                                            {"AZURE_CLIENT_ID", "foghorn"},
                                            {"AZURE_FEDERATED_TOKEN_FILE", assertion},
                                            {"AZURE_AUTHORITY_HOST", sim_->base_url()}};
  CredentialOptions c;
  c.scope = ScopeForEndpoint(sim_->base_url());
  auto cred = MakeDefaultCredential(
      [&](const std::string& k) -> std::optional<std::string> {
        auto it = env.find(k);
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      *transport_, clock_, c);
  ASSERT_THAT(cred, IsOk());
  EXPECT_EQ((*cred)->name(), "workload-identity");
  credential_ = *std::move(cred);
  EXPECT_THAT(client().Get(On("sql-east")), IsOk());
}

// ---- transport ----

TEST_F(ArmIntegrationTest, TransportRefusesAServerItsCaStoreDoesNotTrust) {
  StartSim();
  http::HttpRequest req;
  req.url = sim_->base_url() + "/admin/state";
  http::CurlHttpTransport untrusting;  // system CA store only: the emulator's CA is not in it
  auto r = untrusting.Send(req);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(http::RequestMaybeSent(r.status()));
}

TEST_F(ArmIntegrationTest, ConnectionRefusedIsUnavailableAndSurelyNotSent) {
  StartSim();
  const std::string url = sim_->base_url() + "/x";
  sim_->Shutdown();
  http::HttpRequest req;
  req.url = url;
  auto r = transport_->Send(req);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(http::RequestMaybeSent(r.status()));
}

// ---- Azure's own signals (AzureSignals over the same client) ----

class AzureSignalsIntegrationTest : public ArmIntegrationTest {
 protected:
  void StartSignals() {
    ArmSimOptions o;
    o.clock = &sim_clock_;
    o.signals.metrics_ingestion_delay = absl::ZeroDuration();
    o.signals.health_down_delay = absl::Seconds(60);
    StartSim(o);
    signals_ = std::make_unique<AzureSignals>(client());
  }
  static DatabaseId Db(const std::string& server) { return {kSub, kRg, server, "orders"}; }
  common::FakeClock sim_clock_{absl::FromUnixSeconds(1767225600)};
  std::unique_ptr<AzureSignals> signals_;
};

TEST_F(AzureSignalsIntegrationTest, ReadsReplicationLagFromAzureMonitor) {
  StartSignals();
  ASSERT_THAT(sim_->SetReplicationLag(kGroup, absl::Seconds(30)), IsOk());
  // Lag is the age of the oldest unreplicated write: keep writing, 5 s apart, for 4 minutes.
  for (int i = 0; i < 48; ++i) {
    ASSERT_THAT(sim_->RecordWrites(kGroup, 1), IsOk());
    sim_clock_.Advance(absl::Seconds(5));
  }
  MetricsQuery q;
  q.metric_names = {"replication_lag_seconds"};
  q.start = sim_clock_.Now() - absl::Minutes(4);
  q.end = sim_clock_.Now();
  auto m = signals_->GetMetrics(Db("sql-east"), q);
  ASSERT_THAT(m, IsOk());
  const Metric* lag = m->Find("replication_lag_seconds");
  ASSERT_NE(lag, nullptr);
  auto newest = NewestPoint(*lag, MetricAggregation::kMaximum);
  ASSERT_TRUE(newest.has_value());
  EXPECT_GE(*newest->maximum, 20.0);
  EXPECT_LE(*newest->maximum, 30.0);
  EXPECT_LT(newest->time, sim_clock_.Now());
  // The secondary's database has no lag values.
  auto west = signals_->GetMetrics(Db("sql-west"), q);
  ASSERT_THAT(west, IsOk());
  ASSERT_NE(west->Find("replication_lag_seconds"), nullptr);
  EXPECT_FALSE(NewestPoint(*west->Find("replication_lag_seconds"), MetricAggregation::kMaximum));
  // An unknown metric is the monitor's 400 with its code.
  q.metric_names = {"no_such_metric"};
  auto bad = signals_->GetMetrics(Db("sql-east"), q);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(ArmErrorCode(bad.status()), "BadRequest");
}

TEST_F(AzureSignalsIntegrationTest, ResourceHealthTurnsUnavailableAfterTheDelay) {
  StartSignals();
  auto before = signals_->GetServerHealth({kSub, kRg, "sql-east"});
  ASSERT_THAT(before, IsOk());
  EXPECT_EQ(before->state, AvailabilityState::kAvailable);
  sim_->SetRegionDown("eastus", {});
  sim_clock_.Advance(absl::Seconds(90));
  auto after = signals_->GetDatabaseHealth(Db("sql-east"));
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->state, AvailabilityState::kUnavailable);
  EXPECT_EQ(after->reason_type, "Unplanned");
  ASSERT_TRUE(after->occurred_time.has_value());
  EXPECT_EQ(after->root_cause_attribution_time, sim_clock_.Now() - absl::Seconds(90));
  EXPECT_THAT(signals_->GetDatabaseHealth(Db("sql-nowhere")),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AzureSignalsIntegrationTest, ReplicationLinksShowCatchUpThenSuspendedInAnOutage) {
  StartSignals();
  auto links = signals_->ListReplicationLinks(Db("sql-west"));
  ASSERT_THAT(links, IsOk());
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].role, ReplicationRole::kSecondary);
  EXPECT_EQ((*links)[0].partner_role, ReplicationRole::kPrimary);
  EXPECT_EQ((*links)[0].replication_state, "CATCH_UP");
  EXPECT_EQ((*links)[0].link_type, "GEO");
  // The primary's region loses its data plane only: the secondary's link is SUSPENDED.
  armsim::RegionOutage data_only;
  data_only.control_plane = false;
  sim_->SetRegionDown("eastus", data_only);
  links = signals_->ListReplicationLinks(Db("sql-west"));
  ASSERT_THAT(links, IsOk());
  ASSERT_EQ(links->size(), 1u);
  EXPECT_EQ((*links)[0].replication_state, "SUSPENDED");
}

TEST_F(AzureSignalsIntegrationTest, ActivityLogNamesTheCallerOfAMicrosoftInitiatedFailover) {
  StartSignals();
  const absl::Time from = sim_clock_.Now() - absl::Minutes(1);
  auto op = sim_->MicrosoftFailover(kGroup);
  ASSERT_THAT(op, IsOk());
  sim_clock_.Advance(absl::Minutes(1));
  ActivityLogQuery q;
  q.subscription = kSub;
  q.from = from;
  q.resource_uri = On("sql-west").Path();
  auto events = signals_->ListActivityLog(q);
  ASSERT_THAT(events, IsOk());
  ASSERT_FALSE(events->empty());
  bool found = false;
  for (const ActivityLogEvent& e : *events) {
    EXPECT_THAT(e.operation_name, HasSubstr("Microsoft.Sql/servers/failoverGroups/"));
    if (e.caller == "Microsoft.Sql" && absl::StrContains(e.operation_name, "failover")) {
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(AzureSignalsIntegrationTest, SignalReadsRideThroughInjectedFaults) {
  StartSignals();
  for (const char* route : {"metrics", "resourceHealth", "replicationLinks", "activityLog"}) {
    FaultSpec f;
    f.kind = FaultSpec::Kind::kHttp503;
    f.route = route;
    f.count = 1;
    sim_->AddFault(f);
  }
  MetricsQuery q;
  q.metric_names = {"availability"};
  q.aggregations = {MetricAggregation::kAverage};
  q.start = sim_clock_.Now() - absl::Minutes(5);
  q.end = sim_clock_.Now();
  EXPECT_THAT(signals_->GetMetrics(Db("sql-east"), q), IsOk());
  EXPECT_THAT(signals_->GetServerHealth({kSub, kRg, "sql-east"}), IsOk());
  EXPECT_THAT(signals_->ListReplicationLinks(Db("sql-east")), IsOk());
  ActivityLogQuery a;
  a.subscription = kSub;
  a.from = sim_clock_.Now() - absl::Hours(1);
  EXPECT_THAT(signals_->ListActivityLog(a), IsOk());
}

}  // namespace
}  // namespace foghorn::arm
