#include "orchestrator/common/durations.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::common {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;

google::protobuf::Duration Proto(std::int64_t seconds, std::int32_t nanos) {
  google::protobuf::Duration d;
  d.set_seconds(seconds);
  d.set_nanos(nanos);
  return d;
}

TEST(ParseDurationTextTest, ParsesEveryUnitAndCombinations) {
  EXPECT_EQ(ParseDurationText("30s"), absl::Seconds(30));
  EXPECT_EQ(ParseDurationText("5m"), absl::Minutes(5));
  EXPECT_EQ(ParseDurationText("1h"), absl::Hours(1));
  EXPECT_EQ(ParseDurationText("1h30m"), absl::Minutes(90));
  EXPECT_EQ(ParseDurationText("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(ParseDurationText("1.5s"), absl::Milliseconds(1500));
  EXPECT_EQ(ParseDurationText("2d"), absl::Hours(48));
  EXPECT_EQ(ParseDurationText("1.5d"), absl::Hours(36));
  EXPECT_EQ(ParseDurationText("1d12h"), absl::Hours(36));
  EXPECT_EQ(ParseDurationText("365d"), absl::Hours(24 * 365));
  EXPECT_EQ(ParseDurationText("0"), absl::ZeroDuration());
  EXPECT_EQ(ParseDurationText("0s"), absl::ZeroDuration());
  EXPECT_EQ(ParseDurationText("0.000000001s"), absl::Nanoseconds(1));
  EXPECT_EQ(ParseDurationText("999999999999ms"), absl::Milliseconds(999999999999));
}

TEST(ParseDurationTextTest, RejectsMissingUnitsSignsInfinityAndProse) {
  for (const char* bad :
       {"",     "30",   "-5s", "+5s", "5 minutes",     "5min",           "1h 30m", " 1h",
        "1h ",  "s",    ".5s", "1.s", "1.0000000001s", "9999999999999s", "inf",    "-inf",
        "10ns", "10us", "1w",  "1y",  "0x10s",         "1e3s",           "1h30"}) {
    EXPECT_EQ(ParseDurationText(bad), std::nullopt) << bad;
  }
}

TEST(FormatDurationTextTest, FormatsTheShortestSpellingThatParsesBack) {
  EXPECT_EQ(FormatDurationText(absl::Minutes(90)), "1h30m");
  EXPECT_EQ(FormatDurationText(absl::Milliseconds(1500)), "1s500ms");
  EXPECT_EQ(FormatDurationText(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatDurationText(absl::Hours(48)), "48h");
  EXPECT_EQ(FormatDurationText(-absl::Seconds(3)), "-3s");
  for (absl::Duration d : {absl::Minutes(90), absl::Milliseconds(1500), absl::Hours(48)}) {
    EXPECT_EQ(ParseDurationText(FormatDurationText(d)), d);
  }
}

TEST(ProtoDurationTest, RoundTrips) {
  google::protobuf::Duration proto;
  ToProtoDuration(absl::Milliseconds(2500), &proto);
  EXPECT_EQ(proto.seconds(), 2);
  EXPECT_EQ(proto.nanos(), 500000000);
  EXPECT_EQ(FromProtoDuration(proto), absl::Milliseconds(2500));
  EXPECT_EQ(FromProtoDuration(ToProtoDuration(absl::Nanoseconds(1))), absl::Nanoseconds(1));
  EXPECT_EQ(FromProtoDuration(google::protobuf::Duration()), absl::ZeroDuration());
}

TEST(ProtoDurationTest, NegativeValuesKeepOneSign) {
  google::protobuf::Duration proto = ToProtoDuration(-absl::Milliseconds(1500));
  EXPECT_EQ(proto.seconds(), -1);
  EXPECT_EQ(proto.nanos(), -500000000);
  EXPECT_THAT(ValidateProtoDuration(proto), IsOk());
  EXPECT_EQ(FromProtoDuration(proto), -absl::Milliseconds(1500));
}

TEST(ProtoDurationTest, InfinityLeavesTheFieldAloneAndHugeValuesClamp) {
  google::protobuf::Duration proto = Proto(7, 0);
  ToProtoDuration(absl::InfiniteDuration(), &proto);
  EXPECT_EQ(proto.seconds(), 7);
  ToProtoDuration(-absl::InfiniteDuration(), &proto);
  EXPECT_EQ(proto.seconds(), 7);
  proto = ToProtoDuration(absl::Hours(24) * 365 * 20000);
  EXPECT_EQ(proto.seconds(), kMaxProtoDurationSeconds);
  EXPECT_EQ(proto.nanos(), 0);
  EXPECT_THAT(ValidateProtoDuration(proto), IsOk());
}

TEST(ProtoDurationTest, CheckedConversionRefusesMalformedProtos) {
  EXPECT_THAT(FromProtoDurationChecked(Proto(90, 5)), IsOk());
  EXPECT_THAT(FromProtoDurationChecked(Proto(-kMaxProtoDurationSeconds, 0)), IsOk());
  for (const google::protobuf::Duration& bad :
       {Proto(kMaxProtoDurationSeconds + 1, 0), Proto(-kMaxProtoDurationSeconds - 1, 0),
        Proto(0, 1000000000), Proto(0, -1000000000), Proto(1, -1), Proto(-1, 1)}) {
    EXPECT_THAT(FromProtoDurationChecked(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad.ShortDebugString();
  }
}

}  // namespace
}  // namespace foghorn::common
