// Failovers people request obey the gates automation obeys: the table checks CheckManualRequest
// on its own (who may request which kind under which approval mode, which holds apply, what an
// approver's override lifts); the agent-level tests show the same through Agent::RequestFailover
// with a fake ARM.
#include "orchestrator/agent/manual_request.h"

#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/orchestrator/agent/gated_agent.h"

namespace foghorn::agent::testing {
namespace {

using ::foghorn::testing::IsOk;
using ::foghorn::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z, a Thursday

decision::GroupView HealthyView() {
  decision::GroupView v;
  v.primary.verdict = v1::VERDICT_HEALTHY;
  v.secondary.verdict = v1::VERDICT_HEALTHY;
  v.roles = {"srv-a", "srv-b"};
  v.last_lag = decision::LagSample{absl::Seconds(3), kT0};
  v.groups_failing = 1;
  return v;
}

decision::Approval ApprovalOf(v1::FailoverKind kind) {
  return decision::Approval{kind, kT0 - absl::Minutes(1), kT0 + absl::Hours(1), false};
}

struct Case {
  std::string name;
  v1::FailoverKind kind = v1::FAILOVER_KIND_PLANNED;
  v1::ApprovalMode mode = v1::APPROVAL_MODE_APPROVE_FORCED;
  Requester who{"carol"};
  std::function<void(decision::GroupView&, decision::Policy&, std::string&)> setup{};
  absl::StatusCode want = absl::StatusCode::kOk;
  std::string want_text{};
  std::vector<decision::ReasonCode> want_overridden{};
  std::string want_approved_by{};
};

Requester Operator() { return Requester{"carol"}; }
Requester Approver() { return Requester{"alice", true}; }
Requester Overriding(std::string why) { return Requester{"alice", true, true, std::move(why)}; }

const std::vector<Case>& Cases() {
  using RC = decision::ReasonCode;
  static const auto* cases = new std::vector<Case>{
      {"OperatorMayRequestPlanned", v1::FAILOVER_KIND_PLANNED, v1::APPROVAL_MODE_APPROVE_FORCED,
       Operator()},
      {"OperatorMayNotForceAHealthyPrimary", v1::FAILOVER_KIND_FORCED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Operator(), nullptr, absl::StatusCode::kPermissionDenied,
       "needs the approver role or an approval by another"},
      {"OperatorMayNotForceEvenInAutomaticMode", v1::FAILOVER_KIND_FORCED,
       v1::APPROVAL_MODE_AUTOMATIC, Operator(), nullptr, absl::StatusCode::kPermissionDenied},
      {"OperatorMayNotTryPlannedBeforeForced", v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Operator(), nullptr, absl::StatusCode::kPermissionDenied},
      {"ApproverMayForce", v1::FAILOVER_KIND_FORCED, v1::APPROVAL_MODE_APPROVE_FORCED, Approver()},
      {"ApproveAllGatesAnOperatorsPlannedRequest", v1::FAILOVER_KIND_PLANNED,
       v1::APPROVAL_MODE_APPROVE_ALL, Operator(), nullptr, absl::StatusCode::kPermissionDenied,
       "approve_all"},
      {"ApproveAllLetsAnApproverRequestPlanned", v1::FAILOVER_KIND_PLANNED,
       v1::APPROVAL_MODE_APPROVE_ALL, Approver()},
      {"AnotherIdentitysApprovalLetsAnOperatorForce",
       v1::FAILOVER_KIND_FORCED,
       v1::APPROVAL_MODE_APPROVE_FORCED,
       Operator(),
       [](decision::GroupView& v, decision::Policy&, std::string& by) {
         v.approval = ApprovalOf(v1::FAILOVER_KIND_FORCED);
         by = "bob";
       },
       absl::StatusCode::kOk,
       "",
       {},
       "bob"},
      {"AnApprovalOfForcedCoversTryPlannedBeforeForced",
       v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED,
       v1::APPROVAL_MODE_APPROVE_FORCED,
       Operator(),
       [](decision::GroupView& v, decision::Policy&, std::string& by) {
         v.approval = ApprovalOf(v1::FAILOVER_KIND_FORCED);
         by = "bob";
       },
       absl::StatusCode::kOk,
       "",
       {},
       "bob"},
      {"OnesOwnApprovalIsNotASecondPerson", v1::FAILOVER_KIND_FORCED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Operator(),
       [](decision::GroupView& v, decision::Policy&, std::string& by) {
         v.approval = ApprovalOf(v1::FAILOVER_KIND_FORCED);
         by = "carol";
       },
       absl::StatusCode::kPermissionDenied, "carol's own"},
      {"AnApprovalBySomeoneUnknownIsNotASecondPerson", v1::FAILOVER_KIND_FORCED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Operator(),
       [](decision::GroupView& v, decision::Policy&, std::string&) {
         v.approval = ApprovalOf(v1::FAILOVER_KIND_FORCED);
       },
       absl::StatusCode::kPermissionDenied, "unknown"},
      {"AnExpiredApprovalIsNoApproval", v1::FAILOVER_KIND_FORCED, v1::APPROVAL_MODE_APPROVE_FORCED,
       Operator(),
       [](decision::GroupView& v, decision::Policy&, std::string& by) {
         v.approval = ApprovalOf(v1::FAILOVER_KIND_FORCED);
         v.approval->expires_at = kT0;
         by = "bob";
       },
       absl::StatusCode::kPermissionDenied, "no unexpired approval"},
      {"AnApprovalOfPlannedDoesNotCoverForced", v1::FAILOVER_KIND_FORCED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Operator(),
       [](decision::GroupView& v, decision::Policy&, std::string& by) {
         v.approval = ApprovalOf(v1::FAILOVER_KIND_PLANNED);
         by = "bob";
       },
       absl::StatusCode::kPermissionDenied, "for a planned failover"},
      {"AnApprovalMustAllowDataLossOverTheBudget", v1::FAILOVER_KIND_FORCED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Operator(),
       [](decision::GroupView& v, decision::Policy&, std::string& by) {
         v.approval = ApprovalOf(v1::FAILOVER_KIND_FORCED);
         v.last_lag.reset();
         by = "bob";
       },
       absl::StatusCode::kPermissionDenied, "over the budget"},
      {"PauseHoldsAnOperatorsRequest", v1::FAILOVER_KIND_PLANNED, v1::APPROVAL_MODE_APPROVE_FORCED,
       Operator(),
       [](decision::GroupView& v, decision::Policy&, std::string&) {
         v.paused_until = absl::InfiniteFuture();
       },
       absl::StatusCode::kFailedPrecondition, "automation paused until resumed"},
      {"PauseHoldsAnApproverWhoDoesNotOverride", v1::FAILOVER_KIND_PLANNED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Approver(),
       [](decision::GroupView& v, decision::Policy&, std::string&) {
         v.paused_until = absl::InfiniteFuture();
       },
       absl::StatusCode::kFailedPrecondition, "an approver may override"},
      {"AnApproverOverridesAPauseWithAReason",
       v1::FAILOVER_KIND_PLANNED,
       v1::APPROVAL_MODE_APPROVE_FORCED,
       Overriding("CHG-42: move off the failing host"),
       [](decision::GroupView& v, decision::Policy&, std::string&) {
         v.paused_until = absl::InfiniteFuture();
       },
       absl::StatusCode::kOk,
       "",
       {RC::kPaused}},
      {"AnOperatorMayNotOverride", v1::FAILOVER_KIND_PLANNED, v1::APPROVAL_MODE_APPROVE_FORCED,
       Requester{"carol", false, true, "please"}, nullptr, absl::StatusCode::kPermissionDenied,
       "needs the approver role"},
      {"AnOverrideNeedsAReason", v1::FAILOVER_KIND_PLANNED, v1::APPROVAL_MODE_APPROVE_FORCED,
       Overriding(""), nullptr, absl::StatusCode::kInvalidArgument, "override_reason"},
      {"CooldownHoldsASecondForcedFailover", v1::FAILOVER_KIND_FORCED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Approver(),
       [](decision::GroupView& v, decision::Policy&, std::string&) {
         v.last_failover_at = kT0 - absl::Minutes(10);
       },
       absl::StatusCode::kFailedPrecondition, "cooldown"},
      {"AnOverrideLiftsCooldownWindowAndCapTogether",
       v1::FAILOVER_KIND_FORCED,
       v1::APPROVAL_MODE_APPROVE_FORCED,
       Overriding("region evacuation"),
       [](decision::GroupView& v, decision::Policy& p, std::string&) {
         v.last_failover_at = kT0 - absl::Minutes(10);
         p.maintenance_windows.push_back({0x7f, absl::ZeroDuration(), absl::Hours(24)});
         p.blast_radius_cap = 1;
         v.groups_failing = 3;
       },
       absl::StatusCode::kOk,
       "",
       {RC::kMaintenanceWindow, RC::kCooldown, RC::kBlastRadiusCap}},
      {"AMaintenanceWindowHoldsARequest", v1::FAILOVER_KIND_PLANNED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Operator(),
       [](decision::GroupView&, decision::Policy& p, std::string&) {
         p.maintenance_windows.push_back({0x7f, absl::ZeroDuration(), absl::Hours(24)});
       },
       absl::StatusCode::kFailedPrecondition, "maintenance window"},
      {"TheBlastRadiusCapHoldsARequest", v1::FAILOVER_KIND_PLANNED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Operator(),
       [](decision::GroupView& v, decision::Policy& p, std::string&) {
         p.blast_radius_cap = 2;
         v.groups_failing = 3;
       },
       absl::StatusCode::kFailedPrecondition, "3 groups failing at once, cap 2"},
      {"AnImpairedVantageHoldsUnlessOverridden", v1::FAILOVER_KIND_PLANNED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Operator(),
       [](decision::GroupView& v, decision::Policy&, std::string&) { v.vantage_impaired = true; },
       absl::StatusCode::kFailedPrecondition, "vantage impaired"},
      {"NoOverrideFailsOverToAnUnhealthySecondary", v1::FAILOVER_KIND_PLANNED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Overriding("trust me"),
       [](decision::GroupView& v, decision::Policy&, std::string&) {
         v.secondary.verdict = v1::VERDICT_UNHEALTHY;
       },
       absl::StatusCode::kFailedPrecondition, "srv-b of sub/rg/fog is not healthy"},
      {"NoOverrideActsOnAnObserveOnlyGroup", v1::FAILOVER_KIND_PLANNED,
       v1::APPROVAL_MODE_OBSERVE_ONLY, Overriding("trust me"), nullptr,
       absl::StatusCode::kFailedPrecondition, "observe-only"},
      {"NoOverrideActsWithoutRoles", v1::FAILOVER_KIND_PLANNED, v1::APPROVAL_MODE_APPROVE_FORCED,
       Overriding("trust me"),
       [](decision::GroupView& v, decision::Policy&, std::string&) { v.roles = {}; },
       absl::StatusCode::kFailedPrecondition, "roles not yet read"},
      {"AnOperatorsCancelHoldWaitsForJustSuchARequest", v1::FAILOVER_KIND_PLANNED,
       v1::APPROVAL_MODE_APPROVE_FORCED, Operator(),
       [](decision::GroupView& v, decision::Policy&, std::string&) {
         v.operator_hold = "dave cancelled the automatic planned failover";
       }},
  };
  return *cases;
}

class CheckManualRequestTest : public ::testing::TestWithParam<Case> {};

TEST_P(CheckManualRequestTest, Decides) {
  const Case& c = GetParam();
  decision::GroupView view = HealthyView();
  decision::Policy policy;
  policy.approval_mode = c.mode;
  std::string approval_by;
  if (c.setup) c.setup(view, policy, approval_by);
  absl::StatusOr<ManualClearance> got =
      CheckManualRequest("sub/rg/fog", c.kind, c.who, view, policy, kT0, approval_by);
  ASSERT_EQ(got.status().code(), c.want) << got.status();
  if (!got.ok()) {
    EXPECT_THAT(got.status().message(), HasSubstr(c.want_text));
    return;
  }
  std::vector<decision::ReasonCode> overridden;
  for (const auto& r : got->overridden) overridden.push_back(r.code);
  EXPECT_EQ(overridden, c.want_overridden);
  EXPECT_EQ(got->approved_by, c.want_approved_by);
}

INSTANTIATE_TEST_SUITE_P(Matrix, CheckManualRequestTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(ClearanceSummaryTest, NamesTheOverriddenHoldsTheReasonAndTheApprover) {
  ManualClearance c;
  c.overridden.push_back({decision::ReasonCode::kPaused, "automation paused until resumed"});
  c.approved_by = "bob";
  EXPECT_EQ(ClearanceSummary(c, Overriding("CHG-42")),
            "holds overridden by alice (PAUSED): CHG-42; approved by bob");
  EXPECT_EQ(ClearanceSummary({}, Operator()), "");
}

// --- through the agent ---

using ManualRequestTest = GatedAgentTest;

FailoverRequest Request(v1::FailoverKind kind, const std::string& who, bool approver,
                        const std::string& request_id) {
  FailoverRequest r;
  r.group_id = kGroup;
  r.kind = kind;
  r.requested_by = who;
  r.reason = "test";
  r.request_id = request_id;
  r.approver = approver;
  return r;
}

TEST_F(ManualRequestTest, AnOperatorCannotForceAFailoverOfAHealthyPrimary) {
  ASSERT_THAT(Load("approve_forced"), IsOk());
  for (bool dry_run : {true, false}) {
    FailoverRequest r = Request(v1::FAILOVER_KIND_FORCED, "carol", false, "f1");
    r.dry_run = dry_run;
    EXPECT_THAT(agent_->RequestFailover(r), StatusIs(absl::StatusCode::kPermissionDenied));
  }
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());
  EXPECT_THAT(Operations(), IsEmpty());
}

TEST_F(ManualRequestTest, AnApproverCanForceWhenPolicyAllows) {
  ASSERT_THAT(Load("approve_forced"), IsOk());
  auto r = agent_->RequestFailover(Request(v1::FAILOVER_KIND_FORCED, "alice", true, "f1"));
  ASSERT_THAT(r, IsOk());
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kForcedAllowDataLoss));
  EXPECT_EQ(journal_->GetOperation(r->operation.id)->requested_by, "alice");
}

TEST_F(ManualRequestTest, ASecondForcedRequestWithinTheCooldownIsRefused) {
  ASSERT_THAT(Load("automatic"), IsOk());
  ASSERT_THAT(agent_->RequestFailover(Request(v1::FAILOVER_KIND_FORCED, "alice", true, "f1")),
              IsOk());
  Run(absl::Seconds(5));
  ASSERT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kForcedAllowDataLoss));
  Run(absl::Minutes(10));  // both sides healthy again; the cooldown is 1h
  auto again = agent_->RequestFailover(Request(v1::FAILOVER_KIND_FORCED, "alice", true, "f2"));
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(again.status().message(), HasSubstr("cooldown"));
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kForcedAllowDataLoss));
}

TEST_F(ManualRequestTest, PauseBlocksAManualPlannedFailoverUnlessAnApproverOverridesIt) {
  ASSERT_THAT(Load("automatic"), IsOk());
  ASSERT_THAT(agent_->Pause(kGroup, absl::InfiniteFuture(), "change freeze", "bob"), IsOk());

  auto refused = agent_->RequestFailover(Request(v1::FAILOVER_KIND_PLANNED, "carol", false, "p1"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(refused.status().message(), HasSubstr("paused"));
  EXPECT_THAT(agent_->RequestFailover(Request(v1::FAILOVER_KIND_PLANNED, "alice", true, "p2")),
              StatusIs(absl::StatusCode::kFailedPrecondition));  // approver, no override
  FailoverRequest by_operator = Request(v1::FAILOVER_KIND_PLANNED, "carol", false, "p3");
  by_operator.override_holds = true;
  by_operator.override_reason = "please";
  EXPECT_THAT(agent_->RequestFailover(by_operator), StatusIs(absl::StatusCode::kPermissionDenied));
  FailoverRequest no_reason = Request(v1::FAILOVER_KIND_PLANNED, "alice", true, "p4");
  no_reason.override_holds = true;
  EXPECT_THAT(agent_->RequestFailover(no_reason), StatusIs(absl::StatusCode::kInvalidArgument));
  FailoverRequest with_auto = Request(v1::FAILOVER_KIND_AUTO, "alice", true, "p5");
  with_auto.override_holds = true;
  with_auto.override_reason = "CHG-42";
  EXPECT_THAT(agent_->RequestFailover(with_auto), StatusIs(absl::StatusCode::kInvalidArgument));
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), IsEmpty());

  FailoverRequest overridden = Request(v1::FAILOVER_KIND_PLANNED, "alice", true, "p6");
  overridden.override_holds = true;
  overridden.override_reason = "CHG-42: host maintenance cannot wait";
  auto started = agent_->RequestFailover(overridden);
  ASSERT_THAT(started, IsOk());
  Run(absl::Seconds(5));
  EXPECT_THAT(arm_.Accepted(), ElementsAre(arm::FailoverKind::kPlanned));
  EXPECT_THAT(Audit(),
              Contains(AllOf(Field(&journal::AuditRecord::action, "OverrideHolds"),
                             Field(&journal::AuditRecord::actor, "alice"),
                             Field(&journal::AuditRecord::target, kGroup),
                             Field(&journal::AuditRecord::detail,
                                   AllOf(HasSubstr("PAUSED"),
                                         HasSubstr("CHG-42: host maintenance cannot wait"))))));
  // The group stays paused: the override started one failover, it did not resume automation.
  EXPECT_TRUE(agent_->Group(kGroup)->view.paused_until > clock_.Now());
}

}  // namespace
}  // namespace foghorn::agent::testing
