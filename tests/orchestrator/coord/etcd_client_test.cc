// The coordination library against a real etcd cluster on loopback (tests/testing/etcd_cluster.h).
// Each test starts its own cluster (about a second) and is bounded by deadlines of a few seconds.
#include "orchestrator/coord/etcd_client.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "etcd/etcdserverpb/rpc.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/coord/control_store.h"
#include "orchestrator/coord/leader_keys.h"
#include "orchestrator/coord/session.h"
#include "tests/testing/etcd_cluster.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::coord {
namespace {

using ::foghorn::testing::EtcdCluster;
using ::foghorn::testing::Eventually;
using ::foghorn::testing::IsOk;
using ::foghorn::testing::IsOkAndHolds;
using ::foghorn::testing::StatusIs;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Ne;
using ::testing::Optional;

class EtcdTest : public ::testing::Test {
 protected:
  void StartCluster(int members = 3) {
    EtcdCluster::Options o;
    o.members = members;
    cluster_ = std::make_unique<EtcdCluster>(o);
    absl::Status s = cluster_->Start();
    ASSERT_TRUE(s.ok()) << s;
  }

  EtcdOptions Options(const std::string& prefix = "/foghorn/test") const {
    EtcdOptions o;
    o.endpoints = cluster_->Endpoints();
    o.key_prefix = prefix;
    o.dial_timeout = absl::Milliseconds(500);
    o.request_timeout = absl::Seconds(2);
    o.session_ttl = absl::Seconds(2);
    return o;
  }

  std::unique_ptr<EtcdClient> Client(const EtcdOptions& o) {
    auto c = EtcdClient::Create(o);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  std::unique_ptr<Session> NewSession(EtcdClient& client, const common::Clock& clock,
                                      bool thread = true, absl::Duration ttl = absl::Seconds(2)) {
    Session::Options so;
    so.ttl = ttl;
    so.start_thread = thread;
    auto s = Session::Create(client, clock, so);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  common::RealClock clock_;
  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_F(EtcdTest, ClusterOfThreeBecomesHealthy) {
  SKIP_WITHOUT_ETCD();
  absl::Time start = absl::Now();
  StartCluster();
  // Reported, not asserted (a test never asserts a wall-clock time).
  RecordProperty("cluster_start_ms",
                 static_cast<int>(absl::ToInt64Milliseconds(absl::Now() - start)));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(cluster_->Healthy(i)) << i;
}

TEST_F(EtcdTest, KvAndTxnRoundTrip) {
  SKIP_WITHOUT_ETCD();
  StartCluster();
  auto c = Client(Options());
  ASSERT_NE(c, nullptr);

  ASSERT_THAT(c->Put("a/1", "one"), IsOkAndHolds(Ne(0)));
  ASSERT_THAT(c->Put("a/2", "two"), IsOk());
  ASSERT_THAT(c->Put("b", "bee"), IsOk());
  auto one = c->Get("a/1");
  ASSERT_THAT(one, IsOk());
  ASSERT_EQ(one->kvs.size(), 1u);
  EXPECT_EQ(one->kvs[0].key, "a/1");  // the prefix is stripped
  EXPECT_EQ(one->kvs[0].value, "one");
  auto under_a = c->Get("a/", /*prefix=*/true);
  ASSERT_THAT(under_a, IsOk());
  EXPECT_EQ(under_a->kvs.size(), 2u);

  // Another prefix sees none of it.
  auto other = Client(Options("/foghorn/other"));
  auto all_other = other->Get("", /*prefix=*/true);
  ASSERT_THAT(all_other, IsOk());
  EXPECT_TRUE(all_other->kvs.empty());

  // Compare on create_revision == 0: only creates.
  auto create = c->Txn({Compare::CreateRevision("k", Compare::Op::kEqual, 0)},
                       {TxnOp::Put("k", "v1")}, {TxnOp::Get("k")});
  ASSERT_THAT(create, IsOk());
  EXPECT_TRUE(create->succeeded);
  const int64_t rev = create->revision;
  auto again = c->Txn({Compare::CreateRevision("k", Compare::Op::kEqual, 0)},
                      {TxnOp::Put("k", "v2")}, {TxnOp::Get("k")});
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->succeeded);
  ASSERT_EQ(again->results.size(), 1u);
  ASSERT_EQ(again->results[0].kvs.size(), 1u);
  EXPECT_EQ(again->results[0].kvs[0].value, "v1");
  EXPECT_EQ(again->results[0].kvs[0].create_revision, rev);

  // mod_revision and value compares.
  auto cas = c->Txn({Compare::ModRevision("k", Compare::Op::kEqual, rev),
                     Compare::Value("k", Compare::Op::kEqual, "v1")},
                    {TxnOp::Put("k", "v3")}, {});
  ASSERT_THAT(cas, IsOk());
  EXPECT_TRUE(cas->succeeded);
  auto stale =
      c->Txn({Compare::ModRevision("k", Compare::Op::kEqual, rev)}, {TxnOp::Put("k", "v4")}, {});
  ASSERT_THAT(stale, IsOk());
  EXPECT_FALSE(stale->succeeded);

  // Lease compare and lease-bound keys.
  auto lease = c->GrantLease(absl::Seconds(5));
  ASSERT_THAT(lease, IsOk());
  ASSERT_THAT(c->Put("leased", "x", lease->id), IsOk());
  auto lease_cmp = c->Txn({Compare::Lease("leased", Compare::Op::kEqual, lease->id)},
                          {TxnOp::Delete("a/", /*prefix=*/true)}, {});
  ASSERT_THAT(lease_cmp, IsOk());
  EXPECT_TRUE(lease_cmp->succeeded);
  EXPECT_EQ(lease_cmp->results[0].deleted, 2);
  auto ttl = c->TimeToLive(lease->id, /*with_keys=*/true);
  ASSERT_THAT(ttl, IsOk());
  EXPECT_TRUE(ttl->exists);
  EXPECT_THAT(ttl->keys, ::testing::ElementsAre("leased"));
  ASSERT_THAT(c->RevokeLease(lease->id), IsOk());
  EXPECT_THAT(c->Get("leased"), IsOk());
  EXPECT_TRUE(c->Get("leased")->kvs.empty());
  EXPECT_THAT(c->KeepAliveOnce(lease->id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(c->Delete("b"), IsOkAndHolds(1));
  EXPECT_THAT(c->Put("", "x"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(EtcdTest, LeaseExpiryRemovesTheLeaderKeyAndAnotherAgentWins) {
  SKIP_WITHOUT_ETCD();
  StartCluster();
  auto c = Client(Options());
  // Agent a never keeps its lease alive (as if it were SIGSTOPped).
  auto sa = NewSession(*c, clock_, /*thread=*/false);
  auto sb = NewSession(*c, clock_);
  ASSERT_TRUE(sa && sb);
  LeaderKeys a(*c, *sa, clock_, "agent-a");
  LeaderKeys b(*c, *sb, clock_, "agent-b");

  auto won = a.Campaign("fog-1");
  ASSERT_THAT(won, IsOk());
  EXPECT_TRUE(won->won);
  auto lost = b.Campaign("fog-1");
  ASSERT_THAT(lost, IsOk());
  EXPECT_FALSE(lost->won);
  EXPECT_EQ(lost->leader.holder, "agent-a");
  EXPECT_EQ(lost->leader.create_revision, won->leader.create_revision);
  // A retried campaign by the holder recognises its own key.
  auto retried = a.Campaign("fog-1");
  ASSERT_THAT(retried, IsOk());
  EXPECT_TRUE(retried->won);

  ASSERT_TRUE(Eventually([&] {
    auto l = b.Leader("fog-1");
    return l.ok() && !l->has_value();
  })) << "a's leader key outlived its lease";
  EXPECT_FALSE(sa->Valid(clock_.Now()));
  auto now_b = b.Campaign("fog-1");
  ASSERT_THAT(now_b, IsOk());
  EXPECT_TRUE(now_b->won);
  EXPECT_GT(now_b->leader.create_revision, won->leader.create_revision);
  // a wakes up: its session re-check finds the lease gone, so it cannot campaign or write.
  EXPECT_THAT(a.Campaign("fog-1"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(sa->lost());
}

TEST_F(EtcdTest, KeepAliveKeepsTheLeaderKey) {
  SKIP_WITHOUT_ETCD();
  StartCluster();
  auto c = Client(Options());
  auto s = NewSession(*c, clock_);
  ASSERT_NE(s, nullptr);
  LeaderKeys a(*c, *s, clock_, "agent-a");
  auto won = a.Campaign("fog-1");
  ASSERT_THAT(won, IsOk());
  ASSERT_TRUE(won->won);
  // Sample the key until well past the original TTL (2 s): it must be there every time.
  const absl::Time until = absl::Now() + s->ttl() + absl::Seconds(1);
  while (absl::Now() < until) {
    auto l = a.Leader("fog-1");
    ASSERT_THAT(l, IsOk());
    ASSERT_TRUE(l->has_value());
    EXPECT_EQ((*l)->create_revision, won->leader.create_revision);
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(s->Valid(clock_.Now()));
  EXPECT_FALSE(s->lost());
  // Close revokes: the key goes at once.
  ASSERT_THAT(s->Close(), IsOk());
  auto l = a.Leader("fog-1");
  ASSERT_THAT(l, IsOk());
  EXPECT_FALSE(l->has_value());
}

TEST_F(EtcdTest, AStaleSessionReChecksBeforeActingAndReportsLoss) {
  SKIP_WITHOUT_ETCD();
  StartCluster();
  auto c = Client(Options());
  common::FakeClock fake;
  std::atomic<int> lost_calls{0};
  Session::Options so;
  so.ttl = absl::Seconds(5);
  so.start_thread = false;
  so.on_lost = [&](const absl::Status&) { ++lost_calls; };
  auto s = Session::Create(*c, fake, so);
  ASSERT_THAT(s, IsOk());
  LeaderKeys a(*c, **s, fake, "agent-a");
  EXPECT_TRUE((*s)->Valid(fake.Now()));

  // Paused past the TTL (by its own clock) while etcd still has the lease: invalid, but the
  // re-check (one keep-alive) confirms it and the campaign goes ahead.
  fake.Advance(absl::Seconds(60));
  EXPECT_FALSE((*s)->Valid(fake.Now()));
  auto won = a.Campaign("fog-1");
  ASSERT_THAT(won, IsOk());
  EXPECT_TRUE(won->won);
  EXPECT_TRUE((*s)->Valid(fake.Now()));

  // The lease is gone in etcd (expired while paused): the re-check fails, the loss is reported
  // once, and the fence refuses.
  ASSERT_THAT(c->RevokeLease((*s)->lease_id()), IsOk());
  fake.Advance(absl::Seconds(60));
  EXPECT_THAT(a.WriteIntentIfLeader("fog-1", won->leader.create_revision, "intent/fog-1", "{}"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not confirmed alive")));
  EXPECT_TRUE((*s)->lost());
  EXPECT_EQ(lost_calls.load(), 1);
  EXPECT_THAT((*s)->KeepAliveNow(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(lost_calls.load(), 1);
}

TEST_F(EtcdTest, FencingTxnFailsAfterLeadershipMoved) {
  SKIP_WITHOUT_ETCD();
  StartCluster();
  auto c = Client(Options());
  auto s1 = NewSession(*c, clock_);
  auto sb = NewSession(*c, clock_);
  ASSERT_TRUE(s1 && sb);
  LeaderKeys a1(*c, *s1, clock_, "agent-a");
  LeaderKeys b(*c, *sb, clock_, "agent-b");
  auto term1 = a1.Campaign("fog-1");
  ASSERT_THAT(term1, IsOk());
  ASSERT_TRUE(term1->won);
  ASSERT_THAT(a1.WriteIntentIfLeader("fog-1", term1->leader.create_revision, "intent/fog-1",
                                     R"({"op":"1"})"),
              IsOk());

  // a's term ends (its lease revoked, as on expiry); b takes the group.
  ASSERT_THAT(c->RevokeLease(s1->lease_id()), IsOk());
  auto term_b = b.Campaign("fog-1");
  ASSERT_THAT(term_b, IsOk());
  ASSERT_TRUE(term_b->won);

  // a comes back with a new session under the same name: its old term's fence still fails.
  auto s2 = NewSession(*c, clock_);
  LeaderKeys a2(*c, *s2, clock_, "agent-a");
  EXPECT_THAT(
      a2.WriteIntentIfLeader("fog-1", term1->leader.create_revision, "intent/fog-1",
                             R"({"op":"stale"})"),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("no longer leader of group fog-1"), HasSubstr("held by agent-b"))));
  auto intent = c->Get("intent/fog-1");
  ASSERT_THAT(intent, IsOk());
  ASSERT_EQ(intent->kvs.size(), 1u);
  EXPECT_EQ(intent->kvs[0].value, R"({"op":"1"})");  // the intent survives its writer's lease
  // The new leader's fence passes.
  EXPECT_THAT(b.WriteIntentIfLeader("fog-1", term_b->leader.create_revision, "intent/fog-1",
                                    R"({"op":"1","leader":"b"})"),
              IsOk());
  // Resign with a stale term does nothing; with the current one frees the group.
  ASSERT_THAT(b.Resign("fog-1", term1->leader.create_revision), IsOk());
  EXPECT_THAT(b.Leader("fog-1"), IsOkAndHolds(Optional(::testing::_)));
  ASSERT_THAT(b.Resign("fog-1", term_b->leader.create_revision), IsOk());
  EXPECT_THAT(b.Leader("fog-1"), IsOkAndHolds(::testing::Eq(std::nullopt)));
}

TEST_F(EtcdTest, FailsOverWhenAMemberIsKilled) {
  SKIP_WITHOUT_ETCD();
  StartCluster();
  auto c = Client(Options());
  ASSERT_THAT(c->Put("k", "v0"), IsOk());
  const std::string first = c->CurrentEndpoint();
  EXPECT_EQ(first, cluster_->Endpoint(0));
  cluster_->Kill(0);
  // The cluster keeps its quorum (and elects a new leader if m0 led): calls go to another member
  // within the request timeout.
  EXPECT_THAT(c->Put("k", "v1"), IsOk());
  EXPECT_NE(c->CurrentEndpoint(), first);
  auto got = c->Get("k");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->kvs[0].value, "v1");
}

TEST_F(EtcdTest, QuorumLossFailsCallsWithinTheRequestTimeoutAndRecovers) {
  SKIP_WITHOUT_ETCD();
  StartCluster();
  EtcdOptions o = Options();
  o.request_timeout = absl::Seconds(1);
  auto c = Client(o);
  ASSERT_THAT(c->Put("k", "v0"), IsOk());
  cluster_->Kill(1);
  cluster_->Kill(2);

  for (int i = 0; i < 2; ++i) {
    absl::Time start = absl::Now();
    absl::Status put = c->Put("k", "lost").status();
    absl::Duration took = absl::Now() - start;
    EXPECT_THAT(put, AnyOf(StatusIs(absl::StatusCode::kUnavailable),
                           StatusIs(absl::StatusCode::kDeadlineExceeded)));
    // Bounded by the request timeout (slack for a loaded 2-core machine).
    EXPECT_LT(took, o.request_timeout + absl::Seconds(2));
    absl::Status get = c->Get("k").status();
    EXPECT_THAT(get, AnyOf(StatusIs(absl::StatusCode::kUnavailable),
                           StatusIs(absl::StatusCode::kDeadlineExceeded)));
  }

  ASSERT_THAT(cluster_->Restart(1), IsOk());
  ASSERT_THAT(cluster_->Restart(2), IsOk());
  ASSERT_THAT(cluster_->WaitHealthy(0, absl::Seconds(10)), IsOk());
  EXPECT_TRUE(Eventually([&] { return c->Put("k", "back").ok(); }));
  auto got = c->Get("k");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->kvs[0].value, "back");
}

struct Collected {
  absl::Mutex mu;
  std::vector<ControlEntry> entries ABSL_GUARDED_BY(mu);
  bool WaitFor(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return entries.size() >= n; };
    return mu.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
};

TEST_F(EtcdTest, ControlStateWatchSeesChangesAcrossAMemberLoss) {
  SKIP_WITHOUT_ETCD();
  StartCluster();
  auto writer_client = Client(Options());
  EtcdOptions watch_options = Options();
  auto watcher_client = Client(watch_options);
  ControlStore writer(*writer_client);
  ControlStore watcher(*watcher_client);

  ASSERT_THAT(writer.Put("pause", R"({"paused":false})"), IsOk());
  auto snap = watcher.List();
  ASSERT_THAT(snap, IsOk());
  ASSERT_EQ(snap->entries.size(), 1u);
  Collected got;
  auto handle =
      watcher.Watch(snap->revision + 1, [&](const std::vector<ControlEntry>& changes, bool) {
        absl::MutexLock lock(&got.mu);
        for (const ControlEntry& e : changes) got.entries.push_back(e);
      });
  ASSERT_THAT(writer.Put("pause", R"({"paused":true})"), IsOk());
  ASSERT_THAT(writer.Put("approval/fog-1", R"({"by":"alice"})"), IsOk());
  ASSERT_TRUE(got.WaitFor(2, absl::Seconds(5)));

  // The watch's member goes away; changes made meanwhile still arrive, once each, in order.
  cluster_->Kill(0);
  ASSERT_THAT(writer.Delete("pause"), IsOk());
  ASSERT_THAT(writer.Put("approval/fog-1", R"({"by":"bob"})"), IsOk());
  ASSERT_TRUE(got.WaitFor(4, absl::Seconds(10)));
  handle->Cancel();

  absl::MutexLock lock(&got.mu);
  ASSERT_EQ(got.entries.size(), 4u);
  EXPECT_EQ(got.entries[0].key, "pause");
  EXPECT_EQ(got.entries[0].json, R"({"paused":true})");
  EXPECT_EQ(got.entries[1].key, "approval/fog-1");
  EXPECT_TRUE(got.entries[2].deleted);
  EXPECT_EQ(got.entries[3].json, R"({"by":"bob"})");
  for (size_t i = 1; i < got.entries.size(); ++i) {
    EXPECT_GT(got.entries[i].mod_revision, got.entries[i - 1].mod_revision);
  }
}

TEST_F(EtcdTest, ControlStateCompareAndSetAndJsonChecks) {
  SKIP_WITHOUT_ETCD();
  StartCluster(1);
  auto c = Client(Options());
  ControlStore store(*c);
  auto first = store.PutIfUnchanged("cooldown/fog-1", R"({"until":"x"})", 0);
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(store.PutIfUnchanged("cooldown/fog-1", R"({"until":"y"})", 0),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(store.PutIfUnchanged("cooldown/fog-1", R"({"until":"y"})", *first), IsOk());
  EXPECT_THAT(store.Put("pause", "{not json"), StatusIs(absl::StatusCode::kInvalidArgument));
  // A blob someone else wrote that is not JSON is an error on read, not a crash.
  ASSERT_THAT(c->Put("control/broken", "\xff\xfe"), IsOk());
  EXPECT_THAT(store.Get("broken"), StatusIs(absl::StatusCode::kInternal));
  auto got = store.Get("cooldown/fog-1");
  ASSERT_THAT(got, IsOk());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->json, R"({"until":"y"})");
  EXPECT_THAT(store.Get("absent"), IsOkAndHolds(::testing::Eq(std::nullopt)));
}

// Turns auth on through etcd's Auth API: root user, root role, enable.
absl::Status EnableAuth(const std::string& endpoint, const std::string& password) {
  auto channel = grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials());
  auto auth = etcdserverpb::Auth::NewStub(channel);
  auto call = [&](auto method, const auto& req, auto* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::Status s = ((*auth).*method)(&ctx, req, resp);
    return s.ok() ? absl::OkStatus() : absl::InternalError(s.error_message());
  };
  etcdserverpb::AuthUserAddRequest add;
  add.set_name("root");
  add.set_password(password);
  etcdserverpb::AuthUserAddResponse add_resp;
  if (auto s = call(&etcdserverpb::Auth::Stub::UserAdd, add, &add_resp); !s.ok()) return s;
  etcdserverpb::AuthUserGrantRoleRequest grant;
  grant.set_user("root");
  grant.set_role("root");
  etcdserverpb::AuthUserGrantRoleResponse grant_resp;
  if (auto s = call(&etcdserverpb::Auth::Stub::UserGrantRole, grant, &grant_resp); !s.ok()) {
    return s;
  }
  etcdserverpb::AuthEnableRequest enable;
  etcdserverpb::AuthEnableResponse enable_resp;
  return call(&etcdserverpb::Auth::Stub::AuthEnable, enable, &enable_resp);
}

TEST_F(EtcdTest, AuthenticatesAndReauthenticatesAfterTheTokenIsLost) {
  SKIP_WITHOUT_ETCD();
  StartCluster(1);
  ASSERT_THAT(EnableAuth(cluster_->Endpoint(0), "s3cret"), IsOk());

  auto anonymous = Client(Options());
  EXPECT_FALSE(anonymous->Put("k", "v").ok());

  EtcdOptions wrong = Options();
  wrong.username = "root";
  wrong.password = "nope";
  auto bad = Client(wrong);
  absl::Status bad_status = bad->Put("k", "v").status();
  EXPECT_FALSE(bad_status.ok());
  EXPECT_THAT(std::string(bad_status.message()), ::testing::Not(HasSubstr("nope")));

  ::foghorn::testing::TempDir dir;
  EtcdOptions right = Options();
  right.username = "root";
  right.password_file = dir.Write("etcd-password", "s3cret\n");
  auto c = Client(right);
  ASSERT_THAT(c->Put("k", "v1"), IsOk());

  // Simple tokens live in the member's memory: a restart invalidates them, and the client
  // authenticates again on its own.
  cluster_->Stop(0);
  ASSERT_THAT(cluster_->Restart(0), IsOk());
  ASSERT_THAT(cluster_->WaitHealthy(0, absl::Seconds(10)), IsOk());
  EXPECT_TRUE(Eventually([&] { return c->Put("k", "v2").ok(); }));
  auto got = c->Get("k");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->kvs[0].value, "v2");
}

TEST(EtcdOptionsTest, RejectsBadConfig) {
  EtcdOptions o;
  EXPECT_THAT(ValidateEtcdOptions(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("etcd.endpoints")));
  o.endpoints = {"127.0.0.1"};
  EXPECT_THAT(ValidateEtcdOptions(o), StatusIs(absl::StatusCode::kInvalidArgument));
  o.endpoints = {"http://127.0.0.1:2379", "10.0.0.2:2379"};
  EXPECT_THAT(ValidateEtcdOptions(o), IsOk());
  o.tls.cert_file = "c.pem";
  EXPECT_THAT(ValidateEtcdOptions(o),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("etcd.tls")));
  o.tls = {};
  o.session_ttl = absl::Seconds(1);
  EXPECT_THAT(ValidateEtcdOptions(o), StatusIs(absl::StatusCode::kInvalidArgument));
  o.session_ttl = absl::Seconds(10);
  o.username = "root";
  o.password_env = "FOGHORN_TEST_SURELY_UNSET_VAR";
  EXPECT_THAT(EtcdClient::Create(o).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("password_env")));
}

TEST(PrefixRangeEndTest, IsTheNextKeyAfterThePrefix) {
  EXPECT_EQ(PrefixRangeEnd("/a/"), "/a0");
  EXPECT_EQ(PrefixRangeEnd("a\xff"), "b");
  EXPECT_EQ(PrefixRangeEnd(""), std::string(1, '\0'));
}

}  // namespace
}  // namespace foghorn::coord
