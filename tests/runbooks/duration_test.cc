#include "runbooks/duration.h"

#include "gtest/gtest.h"

namespace foghorn::runbooks {
namespace {

TEST(RunbookDurationTest, ParsesEveryUnitAndCombinations) {
  EXPECT_EQ(ParseRunbookDuration("30s"), absl::Seconds(30));
  EXPECT_EQ(ParseRunbookDuration("5m"), absl::Minutes(5));
  EXPECT_EQ(ParseRunbookDuration("1h"), absl::Hours(1));
  EXPECT_EQ(ParseRunbookDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(ParseRunbookDuration("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(ParseRunbookDuration("1.5s"), absl::Milliseconds(1500));
  EXPECT_EQ(ParseRunbookDuration("2d"), absl::Hours(48));
  EXPECT_EQ(ParseRunbookDuration("0"), absl::ZeroDuration());
}

TEST(RunbookDurationTest, RejectsMissingUnitsNegativesAndProse) {
  for (const char* bad : {"", "30", "-5s", "5 minutes", "5min", "1h 30m", "s", ".5s", "1.s",
                          "9999999999999s", "inf"}) {
    EXPECT_EQ(ParseRunbookDuration(bad), std::nullopt) << bad;
  }
}

TEST(RunbookDurationTest, FormatsTheShortestSpelling) {
  EXPECT_EQ(FormatRunbookDuration(absl::Minutes(90)), "1h30m");
  EXPECT_EQ(FormatRunbookDuration(absl::Milliseconds(1500)), "1s500ms");
  EXPECT_EQ(FormatRunbookDuration(absl::ZeroDuration()), "0s");
}

TEST(RunbookDurationTest, RoundTripsThroughTheProto) {
  google::protobuf::Duration proto;
  ToProto(absl::Milliseconds(2500), &proto);
  EXPECT_EQ(proto.seconds(), 2);
  EXPECT_EQ(proto.nanos(), 500000000);
  EXPECT_EQ(FromProto(proto), absl::Milliseconds(2500));
}

}  // namespace
}  // namespace foghorn::runbooks
