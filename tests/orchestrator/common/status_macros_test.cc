#include "orchestrator/common/status_macros.h"

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::common {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::IsOkAndHolds;
using ::foghorn::testing::StatusIs;

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

absl::Status CheckBoth(absl::Status a, absl::Status b, int* reached) {
  RETURN_IF_ERROR(a);
  ++*reached;
  RETURN_IF_ERROR(b);
  ++*reached;
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnPassesValuesThrough) {
  EXPECT_THAT(Quarter(8), IsOkAndHolds(2));
}

TEST(StatusMacrosTest, AssignOrReturnReturnsTheFirstError) {
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument, "odd"));
}

TEST(StatusMacrosTest, ReturnIfErrorStopsAtTheFirstError) {
  int reached = 0;
  EXPECT_THAT(CheckBoth(absl::OkStatus(), absl::NotFoundError("x"), &reached),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(reached, 1);
  reached = 0;
  EXPECT_THAT(CheckBoth(absl::OkStatus(), absl::OkStatus(), &reached), IsOk());
  EXPECT_EQ(reached, 2);
}

TEST(StatusMacrosTest, ReturnIfErrorAcceptsStatusOr) {
  auto f = []() -> absl::Status {
    RETURN_IF_ERROR(Half(3));
    return absl::OkStatus();
  };
  EXPECT_THAT(f(), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace foghorn::common
