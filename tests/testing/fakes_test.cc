// The shared fakes keep the promises their headers make, including the ones only some suites use
// (several groups, holding a failover, a closed sleeper).
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/testing/fake_arm.h"
#include "tests/testing/fake_sleeper.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

arm::FailoverRequest To(const std::string& group, const std::string& server,
                        arm::FailoverKind kind = arm::FailoverKind::kPlanned) {
  arm::FailoverRequest r;
  r.target = {"sub", "rg", server, group};
  r.kind = kind;
  return r;
}

TEST(FakeArmTest, AnAcceptedFailoverSwapsTheRolesAndReportsTheOperation) {
  FakeArm arm;
  arm::FailoverRequest req = To("fog", "srv-b");
  arm::OperationRef seen;
  req.on_accepted = [&](const arm::OperationRef& ref) { seen = ref; };
  absl::StatusOr<arm::FailoverResult> r = arm.Failover(req);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, arm::FailoverOutcome::kPosted);
  EXPECT_EQ(r->group.replication_role, arm::ReplicationRole::kPrimary);
  EXPECT_EQ(seen.async_operation_url, "https://arm/op/1");
  EXPECT_EQ(arm.Primary("fog"), "srv-b");
  absl::StatusOr<arm::FailoverGroup> a = arm.Get({"sub", "rg", "srv-a", "fog"});
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->replication_role, arm::ReplicationRole::kSecondary);
  ASSERT_EQ(a->partner_servers.size(), 1u);
  EXPECT_EQ(a->partner_servers[0].id,
            "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Sql/servers/srv-b");
  EXPECT_THAT(arm.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
}

TEST(FakeArmTest, AFailoverToThePrimaryIsAlreadyDoneOrResumed) {
  FakeArm arm;
  EXPECT_EQ(arm.Failover(To("fog", "srv-a"))->outcome, arm::FailoverOutcome::kAlreadyPrimary);
  arm::FailoverRequest resume = To("fog", "srv-a");
  resume.resume_operation = arm::OperationRef{"https://arm/op/9", ""};
  EXPECT_EQ(arm.Failover(resume)->outcome, arm::FailoverOutcome::kResumed);
  EXPECT_THAT(arm.Accepted(), IsEmpty());
  EXPECT_EQ(arm.FailoverCalls(), 2);
}

TEST(FakeArmTest, ARegionDownRefusesPlannedButNotForcedAndHidesThePrimary) {
  FakeArm arm;
  arm.SetRegionDown(true);
  EXPECT_THAT(arm.Failover(To("fog", "srv-b")), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(arm.Get({"sub", "rg", "srv-a", "fog"}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(arm.Failover(To("fog", "srv-b", arm::FailoverKind::kForcedAllowDataLoss)), IsOk());
  EXPECT_EQ(arm.Refused(arm::FailoverKind::kPlanned), 1);
  EXPECT_EQ(arm.Refused(arm::FailoverKind::kForcedAllowDataLoss), 0);
}

TEST(FakeArmTest, AQueuedErrorAppliedAnywaySwitchesTheRoles) {
  FakeArm arm;
  arm.QueueFailoverError(absl::UnavailableError("connection reset"), true);
  EXPECT_THAT(arm.Failover(To("fog", "srv-b")), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(arm.Primary("fog"), "srv-b");
  EXPECT_THAT(arm.Accepted(), IsEmpty());
}

TEST(FakeArmTest, GroupsAreKeptApartAndUnknownOnesAreNotFound) {
  FakeArm arm;
  arm.AddGroup("fog-1", "srv-a-1", "srv-b-1");
  EXPECT_THAT(arm.Failover(To("fog-1", "srv-b-1")), IsOk());
  EXPECT_EQ(arm.Primary("fog-1"), "srv-b-1");
  EXPECT_EQ(arm.Primary("fog"), "srv-a");
  EXPECT_EQ(arm.Accepted("fog-1"), 1);
  EXPECT_EQ(arm.Accepted("fog"), 0);
  EXPECT_EQ(arm.AcceptedTotal(), 1);
  EXPECT_THAT(arm.Failover(To("fog-2", "srv-b")), StatusIs(absl::StatusCode::kNotFound));
  arm.DeleteGroup("fog");
  EXPECT_THAT(arm.Get({"sub", "rg", "srv-a", "fog"}), StatusIs(absl::StatusCode::kNotFound));
}

TEST(FakeArmTest, AHeldFailoverWaitsUntilReleased) {
  FakeArm arm;
  arm.Hold();
  std::thread t([&] { EXPECT_THAT(arm.Failover(To("fog", "srv-b")), IsOk()); });
  ASSERT_TRUE(arm.AwaitHeld(absl::Seconds(30)));
  EXPECT_EQ(arm.Primary("fog"), "srv-a");
  arm.Release();
  t.join();
  EXPECT_EQ(arm.Primary("fog"), "srv-b");
}

TEST(FakeArmTest, AFailoverTakesTheConfiguredTimeOnTheClock) {
  common::FakeClock clock;
  FakeArm::Options o;
  o.clock = &clock;
  o.failover_duration = absl::Seconds(30);
  FakeArm arm(o);
  const absl::Time start = clock.Now();
  ASSERT_THAT(arm.Failover(To("fog", "srv-b")), IsOk());
  EXPECT_EQ(clock.Now() - start, absl::Seconds(30));
}

TEST(FakeArmTest, AnInFlightFailoverSwitchesWhenItsTimeComes) {
  common::FakeClock clock;
  FakeArm::Options o;
  o.clock = &clock;
  FakeArm arm(o);
  arm.InFlightFailover("fog", absl::Seconds(20));
  EXPECT_EQ(arm.AcceptedTotal(), 1);  // ARM accepted it already
  EXPECT_EQ(arm.Primary("fog"), "srv-a");
  clock.Advance(absl::Seconds(20));
  EXPECT_EQ(arm.Primary("fog"), "srv-b");
  auto g = arm.Get({"sub", "rg", "srv-b", "fog"});
  ASSERT_THAT(g, IsOk());
  EXPECT_EQ(g->replication_role, arm::ReplicationRole::kPrimary);
}

TEST(FakeArmTest, AFailoverWhileOneIsInFlightWaitsForItAndIsNotAccepted) {
  common::FakeClock clock;
  FakeArm::Options o;
  o.clock = &clock;
  FakeArm arm(o);
  arm.InFlightFailover("fog", absl::Seconds(20));
  const absl::Time start = clock.Now();
  auto r = arm.Failover(To("fog", "srv-b"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome, arm::FailoverOutcome::kCompletedAfterReread);
  EXPECT_EQ(r->posts_accepted, 0);
  EXPECT_EQ(clock.Now() - start, absl::Seconds(20));
  EXPECT_EQ(arm.Primary("fog"), "srv-b");
  EXPECT_EQ(arm.AcceptedTotal(), 1);
  // Over: the next failover is an ordinary one.
  EXPECT_THAT(arm.Failover(To("fog", "srv-a")), IsOk());
  EXPECT_EQ(arm.AcceptedTotal(), 2);
}

TEST(FakeSleeperTest, RecordsEveryWaitAndAdvancesItsClock) {
  common::FakeClock clock;
  FakeSleeper sleeper(clock);
  const absl::Time start = clock.Now();
  sleeper.SleepFor(absl::Seconds(2));
  sleeper.SleepFor(absl::ZeroDuration());
  sleeper.SleepFor(absl::Seconds(3));
  EXPECT_THAT(sleeper.sleeps(),
              ElementsAre(absl::Seconds(2), absl::ZeroDuration(), absl::Seconds(3)));
  EXPECT_EQ(sleeper.total(), absl::Seconds(5));
  EXPECT_EQ(clock.Now() - start, absl::Seconds(5));
}

TEST(FakeSleeperTest, AClosedSleeperBlocksWaitsUntilOpened) {
  FakeSleeper sleeper;
  sleeper.Close();
  sleeper.SleepFor(absl::ZeroDuration());  // nothing to wait for: returns at once
  std::thread t([&] { sleeper.SleepFor(absl::Minutes(10)); });
  ASSERT_TRUE(sleeper.AwaitSleeping(absl::Seconds(30)));
  sleeper.Open();
  t.join();
  EXPECT_EQ(sleeper.total(), absl::Minutes(10));
}

}  // namespace
}  // namespace foghorn::testing
