// StepGates on its own: a waiter on its own thread, time moved by hand through a FakeClock and a
// ManualExecutor; the test waits for the waiter to be registered, never sleeps.
#include "orchestrator/agent/step_gates.h"

#include <atomic>
#include <optional>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/common/manual_executor.h"
#include "tests/testing/status_matchers.h"

namespace foghorn::agent {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::HasSubstr;

class StepGatesTest : public ::testing::Test {
 protected:
  // Starts AwaitApproval for group "g" on a thread; the result lands in result_.
  void StartApproval(absl::Duration timeout, std::function<bool()> cancelled = nullptr) {
    waiter_ = std::thread([this, timeout, cancelled] {
      result_ = gates_.AwaitApproval({"g", "op-1", "confirm", "are you sure?"}, timeout, cancelled);
    });
    ASSERT_TRUE(gates_.AwaitPending("g", absl::Seconds(30)));
  }
  absl::Status Join() {
    waiter_.join();
    return *result_;
  }
  void TearDown() override {
    gates_.Shutdown();
    if (waiter_.joinable()) waiter_.join();
  }

  common::FakeClock clock_;
  common::ManualExecutor loop_{clock_};
  StepGates gates_{loop_};
  std::thread waiter_;
  std::optional<absl::Status> result_;
};

TEST_F(StepGatesTest, AnApprovedStepReturnsOk) {
  StartApproval(absl::Hours(1));
  auto pending = gates_.Pending("g");
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->operation_id, "op-1");
  EXPECT_EQ(pending->deadline, clock_.Now() + absl::Hours(1));
  ASSERT_THAT(gates_.Answer("g", true, "alice", "go"), IsOk());
  EXPECT_THAT(Join(), IsOk());
  EXPECT_FALSE(gates_.Pending("g").has_value());
}

TEST_F(StepGatesTest, ARejectedStepNamesWhoAndWhy) {
  StartApproval(absl::Hours(1));
  ASSERT_THAT(gates_.Answer("g", false, "bob", "batch running"), IsOk());
  absl::Status s = Join();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(s.message(), HasSubstr("rejected by bob: batch running"));
}

TEST_F(StepGatesTest, AStepNobodyAnswersTimesOutOnTheInjectedClock) {
  StartApproval(absl::Minutes(10));
  loop_.Advance(absl::Minutes(9));
  EXPECT_TRUE(gates_.Pending("g").has_value());
  loop_.Advance(absl::Minutes(1));
  EXPECT_THAT(Join(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(gates_.Answer("g", true, "alice", "late"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(StepGatesTest, ACancelEndsTheWaitAtTheNextLook) {
  std::atomic<bool> cancelled{false};
  StartApproval(absl::Hours(1), [&cancelled] { return cancelled.load(); });
  cancelled = true;
  loop_.Advance(absl::Seconds(1));
  absl::Status s = Join();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(s.message(), HasSubstr("operation cancelled"));
}

TEST_F(StepGatesTest, ShutdownEndsEveryWaitAndRefusesNewOnes) {
  StartApproval(absl::Hours(1));
  gates_.Shutdown();
  absl::Status s = Join();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(s.message(), HasSubstr("agent stopping"));
  EXPECT_THAT(gates_.AwaitApproval({"g"}, absl::Hours(1), nullptr),
              StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(gates_.AwaitCondition([] { return true; }, clock_.Now(), nullptr),
              StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(StepGatesTest, OneApprovalStepPerGroupAndNoAnswerWithoutOne) {
  EXPECT_THAT(gates_.Answer("g", true, "alice", "?"), StatusIs(absl::StatusCode::kNotFound));
  StartApproval(absl::Hours(1));
  EXPECT_THAT(gates_.AwaitApproval({"g", "op-2"}, absl::Hours(1), nullptr),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(gates_.Answer("other", true, "alice", "?"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(gates_.Answer("g", true, "alice", "go"), IsOk());
  EXPECT_THAT(Join(), IsOk());
}

TEST_F(StepGatesTest, AConditionIsLookedAtUntilItHoldsOrTheDeadlinePasses) {
  EXPECT_THAT(gates_.AwaitCondition([] { return true; }, clock_.Now() + absl::Minutes(1), nullptr),
              IsOk());
  std::atomic<bool> ready{false};
  waiter_ = std::thread([&] {
    result_ = gates_.AwaitCondition([&ready] { return ready.load(); },
                                    clock_.Now() + absl::Minutes(1), nullptr);
  });
  ASSERT_TRUE(gates_.AwaitWaiting(1, absl::Seconds(30)));
  loop_.Advance(absl::Seconds(10));
  ready = true;
  loop_.Advance(absl::Seconds(1));
  EXPECT_THAT(Join(), IsOk());

  ready = false;
  waiter_ = std::thread([&] {
    result_ = gates_.AwaitCondition([&ready] { return ready.load(); },
                                    clock_.Now() + absl::Minutes(1), nullptr);
  });
  ASSERT_TRUE(gates_.AwaitWaiting(1, absl::Seconds(30)));
  loop_.Advance(absl::Minutes(1));
  EXPECT_THAT(Join(), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

}  // namespace
}  // namespace foghorn::agent
