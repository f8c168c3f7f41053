// The agent's drill schedule as pure functions of the config and a fake clock's time.
#include "orchestrator/drill/drill_schedule.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::drill {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << error;
  return t;
}

v1::DrillSchedule* AddDrill(v1::AgentConfig& c, const char* group, int interval_s) {
  v1::DrillSchedule* d = c.add_drills();
  d->set_group(group);
  d->mutable_interval()->set_seconds(interval_s);
  return d;
}

TEST(DrillScheduleTest, FirstDrillIsAtFirstAtThenEveryIntervalAfterIt) {
  common::FakeClock clock(At("2026-03-01T08:00:00Z"));
  v1::AgentConfig config;
  AddDrill(config, "fog-orders", 7 * 24 * 3600)->set_first_at("2026-03-02T09:00:00Z");
  auto s = ParseDrillSchedules(config, clock.Now());
  ASSERT_THAT(s, IsOk());
  ASSERT_EQ(s->size(), 1u);
  const ScheduledDrill& d = s->front();
  absl::Time next = NextDrillTime(d, clock.Now());
  EXPECT_EQ(next, At("2026-03-02T09:00:00Z"));
  clock.SetTime(next);  // the timer fires at the slot: the next one is a week later
  EXPECT_EQ(NextDrillTime(d, clock.Now()), At("2026-03-09T09:00:00Z"));
}

TEST(DrillScheduleTest, SlotsMissedWhileTheAgentWasDownAreSkippedNotMadeUp) {
  common::FakeClock clock(At("2026-03-20T12:00:00Z"));
  v1::AgentConfig config;
  AddDrill(config, "fog-orders", 24 * 3600)->set_first_at("2026-03-01T09:00:00Z");
  auto s = ParseDrillSchedules(config, clock.Now());
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(NextDrillTime(s->front(), clock.Now()), At("2026-03-21T09:00:00Z"));
  clock.Advance(absl::Hours(21));  // exactly on a slot: the next is strictly after it
  EXPECT_EQ(NextDrillTime(s->front(), clock.Now()), At("2026-03-22T09:00:00Z"));
}

TEST(DrillScheduleTest, WithoutFirstAtTheFirstDrillIsOneIntervalAfterStartUp) {
  common::FakeClock clock(At("2026-03-01T08:00:00Z"));
  v1::AgentConfig config;
  v1::DrillSchedule* d = AddDrill(config, "sub/rg/fog", 3600);
  d->mutable_hold()->set_seconds(30);
  d->set_dry_run(true);
  auto s = ParseDrillSchedules(config, clock.Now());
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(NextDrillTime(s->front(), clock.Now()), At("2026-03-01T09:00:00Z"));
  EXPECT_EQ(s->front().hold, absl::Seconds(30));
  EXPECT_TRUE(s->front().dry_run);
  EXPECT_EQ(s->front().reason, "scheduled drill");
}

TEST(DrillScheduleTest, BadEntriesAreRejectedNamingTheField) {
  common::FakeClock clock(At("2026-03-01T08:00:00Z"));
  v1::AgentConfig config;
  AddDrill(config, "", 3600);
  AddDrill(config, "fog", 10);
  AddDrill(config, "fog", 3600)->set_first_at("tomorrow");
  AddDrill(config, "fog", 3600)->mutable_hold()->set_seconds(-5);
  EXPECT_THAT(ParseDrillSchedules(config, clock.Now()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("drills[0].group"), HasSubstr("drills[1].interval"),
                             HasSubstr("drills[2].first_at"), HasSubstr("drills[3].hold"))));
}

}  // namespace
}  // namespace foghorn::drill
