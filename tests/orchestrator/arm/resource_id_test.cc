#include "orchestrator/arm/resource_id.h"

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::arm {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;

constexpr char kId[] =
    "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/Default/providers/"
    "Microsoft.Sql/servers/failover-group-primary-server/failoverGroups/failover-group-test-3";

TEST(FailoverGroupIdTest, ParsesAndRebuildsACanonicalId) {
  auto id = FailoverGroupId::Parse(kId);
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->subscription, "00000000-1111-2222-3333-444444444444");
  EXPECT_EQ(id->resource_group, "Default");
  EXPECT_EQ(id->server, "failover-group-primary-server");
  EXPECT_EQ(id->name, "failover-group-test-3");
  EXPECT_EQ(id->Path(), kId);
}

TEST(FailoverGroupIdTest, MatchesFixedSegmentsCaseInsensitively) {
  auto id = FailoverGroupId::Parse(
      "/SUBSCRIPTIONS/s/resourcegroups/rg/PROVIDERS/microsoft.sql/Servers/a/FailoverGroups/fg");
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(
      id->Path(),
      "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/a/failoverGroups/fg");
}

TEST(FailoverGroupIdTest, SeesTheSameGroupFromThePartnerServer) {
  auto id = FailoverGroupId::Parse(kId);
  ASSERT_THAT(id, IsOk());
  auto partner = ServerId::Parse(
      "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/Default/providers/"
      "Microsoft.Sql/servers/failover-group-secondary-server");
  ASSERT_THAT(partner, IsOk());
  FailoverGroupId other = id->OnServer(*partner);
  EXPECT_EQ(other.server, "failover-group-secondary-server");
  EXPECT_EQ(other.name, id->name);
}

class MalformedIdTest : public ::testing::TestWithParam<const char*> {};

TEST_P(MalformedIdTest, IsRejectedAsInvalidArgument) {
  EXPECT_THAT(FailoverGroupId::Parse(GetParam()), StatusIs(absl::StatusCode::kInvalidArgument));
}

INSTANTIATE_TEST_SUITE_P(
    Ids, MalformedIdTest,
    ::testing::Values(
        "", "subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/a/failoverGroups/f",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/a",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/servers/a/failoverGroups/f",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/a/databases/f",
        "/subscriptions//resourceGroups/rg/providers/Microsoft.Sql/servers/a/failoverGroups/f",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/a/failoverGroups/f?x=1",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/a b/failoverGroups/f",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/../failoverGroups/f",
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/a/failoverGroups/f/x"));

TEST(FailoverGroupIdTest, ValidateRejectsAHandBuiltIdWithASlashInAName) {
  FailoverGroupId id{"s", "rg", "a/b", "fg"};
  EXPECT_THAT(id.Validate(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT((FailoverGroupId{"s", "rg", "a", "fg"}).Validate(), IsOk());
}

}  // namespace
}  // namespace foghorn::arm
