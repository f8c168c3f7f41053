#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/coord/session.h"

namespace foghorn::coord {
namespace {

TEST(LeaseValidityTest, InvalidBeforeTheFirstConfirmation) {
  common::FakeClock clock;
  LeaseValidity v(absl::Seconds(2));
  EXPECT_FALSE(v.Valid(clock.Now()));
}

TEST(LeaseValidityTest, ValidUntilSendTimePlusTtlMinusMargin) {
  common::FakeClock clock;
  LeaseValidity v(absl::Seconds(2));
  absl::Time sent = clock.Now();
  clock.Advance(absl::Milliseconds(300));  // the reply arrives later; the send time counts
  v.Confirmed(sent, absl::Seconds(10));
  EXPECT_EQ(v.valid_until(), sent + absl::Seconds(8));
  clock.Advance(absl::Milliseconds(7600));
  EXPECT_TRUE(v.Valid(clock.Now()));
  clock.Advance(absl::Milliseconds(100));  // now == sent + 8 s
  EXPECT_FALSE(v.Valid(clock.Now()));
}

TEST(LeaseValidityTest, AProcessPausedPastItsTtlWakesUpInvalid) {
  common::FakeClock clock;
  LeaseValidity v(absl::Seconds(2));
  v.Confirmed(clock.Now(), absl::Seconds(10));
  EXPECT_TRUE(v.Valid(clock.Now()));
  clock.Advance(absl::Seconds(30));  // SIGSTOP ... SIGCONT
  EXPECT_FALSE(v.Valid(clock.Now()));
  // A new confirmation (a keep-alive sent after waking up) makes it valid again.
  v.Confirmed(clock.Now(), absl::Seconds(10));
  EXPECT_TRUE(v.Valid(clock.Now()));
}

TEST(LeaseValidityTest, AnOlderConfirmationDoesNotShortenOrExtend) {
  common::FakeClock clock;
  LeaseValidity v(absl::Seconds(1));
  absl::Time early = clock.Now();
  clock.Advance(absl::Seconds(3));
  absl::Time late = clock.Now();
  v.Confirmed(late, absl::Seconds(10));
  v.Confirmed(early, absl::Seconds(10));  // a slow reply to an earlier keep-alive
  EXPECT_EQ(v.valid_until(), late + absl::Seconds(9));
}

TEST(LeaseValidityTest, LostIsForever) {
  common::FakeClock clock;
  LeaseValidity v(absl::Seconds(1));
  v.Confirmed(clock.Now(), absl::Seconds(10));
  v.MarkLost();
  EXPECT_FALSE(v.Valid(clock.Now()));
  v.Confirmed(clock.Now(), absl::Seconds(10));
  EXPECT_FALSE(v.Valid(clock.Now()));
  EXPECT_TRUE(v.lost());
}

}  // namespace
}  // namespace foghorn::coord
