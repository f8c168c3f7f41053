// Property tests: random timelines (seeded, deterministic) fed through Decide() with a simulated
// executor, checking the safety invariants of docs/decision-policy.md on every decision.
#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "orchestrator/decision/decide.h"

namespace foghorn::decision {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);

struct Sim {
  std::mt19937 rng;
  explicit Sim(uint32_t seed) : rng(seed) {}
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng); }
  v1::Verdict RandomVerdict() {
    static constexpr v1::Verdict kVerdicts[] = {v1::VERDICT_HEALTHY,   v1::VERDICT_HEALTHY,
                                                v1::VERDICT_UNHEALTHY, v1::VERDICT_UNHEALTHY,
                                                v1::VERDICT_UNKNOWN,   v1::VERDICT_IMPAIRED};
    return kVerdicts[Uniform(0, 5)];
  }
};

Policy RandomPolicy(Sim& sim) {
  static constexpr v1::ApprovalMode kModes[] = {
      v1::APPROVAL_MODE_AUTOMATIC, v1::APPROVAL_MODE_APPROVE_FORCED, v1::APPROVAL_MODE_APPROVE_ALL,
      v1::APPROVAL_MODE_OBSERVE_ONLY};
  Policy p;
  p.confirm_after = absl::Seconds(sim.Uniform(0, 60));
  p.planned_grace = absl::Seconds(sim.Uniform(0, 300));
  p.data_loss_grace = p.planned_grace + absl::Seconds(sim.Uniform(0, 900));
  p.data_loss_budget = absl::Seconds(sim.Uniform(0, 1800));
  p.approval_mode = kModes[sim.Uniform(0, 3)];
  p.cooldown = absl::Seconds(sim.Uniform(0, 3600));
  p.blast_radius_cap = sim.Uniform(0, 3);
  p.prefer_try_planned_before_forced = sim.Chance(0.3);
  p.reevaluate_interval = absl::Seconds(sim.Uniform(1, 60));
  if (sim.Chance(0.3)) {
    p.maintenance_windows.push_back({static_cast<uint8_t>(sim.Uniform(1, 127)),
                                     absl::Minutes(sim.Uniform(0, 1439)),
                                     absl::Minutes(sim.Uniform(1, 600))});
  }
  return p;
}

void SetVerdict(TargetHealth& h, v1::Verdict v, absl::Time now) {
  if (v == v1::VERDICT_UNHEALTHY && h.verdict != v1::VERDICT_UNHEALTHY) h.unhealthy_since = now;
  if (v != v1::VERDICT_UNHEALTHY) h.unhealthy_since = absl::InfinitePast();
  h.verdict = v;
}

// Runs one random timeline; returns an empty string or the first violated invariant.
std::string RunTimeline(uint32_t seed, int* actions) {
  Sim sim(seed);
  const Policy policy = RandomPolicy(sim);
  GroupView v;
  v.roles = {"srv-a", "srv-b"};
  v.primary.verdict = v1::VERDICT_HEALTHY;
  v.secondary.verdict = v1::VERDICT_HEALTHY;
  v.groups_failing = 1;
  absl::Time now = kT0 + absl::Minutes(sim.Uniform(0, 7 * 24 * 60));
  absl::Time op_finishes = absl::InfinitePast();
  absl::Time last_success = absl::InfinitePast();
  for (int step = 0; step < 200; ++step) {
    // Advance either to the engine's wake-up or by a random amount.
    now += absl::Seconds(sim.Uniform(1, 120));
    if (v.in_flight && now >= op_finishes) {
      const bool ok = sim.Chance(0.5);
      if (ok) {
        if (last_success != absl::InfinitePast() && now - last_success < policy.cooldown) {
          return absl::StrCat("two failovers within the cooldown at step ", step);
        }
        last_success = now;
        v.last_failover_at = now;
        std::swap(v.roles.primary_server, v.roles.secondary_server);
        std::swap(v.primary, v.secondary);
      }
      if (v.in_flight->kind == v1::FAILOVER_KIND_PLANNED) {
        v.last_planned_attempt =
            PlannedAttempt{now, ok ? AttemptOutcome::kSucceeded : AttemptOutcome::kFailed,
                           "PlannedFailoverTimedOut"};
      }
      v.in_flight.reset();
    }
    switch (sim.Uniform(0, 9)) {
      case 0:
      case 1:
      case 2:
        SetVerdict(v.primary, sim.RandomVerdict(), now);
        break;
      case 3:
        SetVerdict(v.secondary, sim.RandomVerdict(), now);
        break;
      case 4:
        v.last_lag = LagSample{absl::Seconds(sim.Uniform(0, 600)), now};
        break;
      case 5:
        v.paused_until =
            sim.Chance(0.5) ? absl::InfinitePast() : now + absl::Seconds(sim.Uniform(0, 1800));
        break;
      case 6:
        v.approval = Approval{static_cast<v1::FailoverKind>(sim.Uniform(1, 4)), now,
                              now + absl::Seconds(sim.Uniform(0, 3600)), sim.Chance(0.5)};
        break;
      case 7:
        v.groups_failing = sim.Uniform(0, 5);
        break;
      case 8:
        v.vantage_impaired = sim.Chance(0.2);
        break;
      default:
        break;
    }
    const Decision d = Decide(v, policy, now);
    if (d.next_evaluation <= now) return absl::StrCat("next_evaluation not in the future: ", step);
    if (d.action == v1::FAILOVER_KIND_UNSPECIFIED) continue;
    // The invariants for any action.
    if (v.secondary.verdict != v1::VERDICT_HEALTHY) {
      return absl::StrCat("failover to a secondary that is not healthy at step ", step);
    }
    if ((d.action == v1::FAILOVER_KIND_FORCED ||
         d.action == v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED) &&
        now < v.primary.unhealthy_since + policy.data_loss_grace) {
      return absl::StrCat("forced before the data-loss grace at step ", step);
    }
    if (now < v.paused_until) return absl::StrCat("action while paused at step ", step);
    if (policy.approval_mode == v1::APPROVAL_MODE_OBSERVE_ONLY) {
      return absl::StrCat("action in observe-only mode at step ", step);
    }
    if (v.in_flight) return absl::StrCat("second operation in flight at step ", step);
    if (v.primary.verdict != v1::VERDICT_UNHEALTHY) {
      return absl::StrCat("failover while the primary is not unhealthy at step ", step);
    }
    if (ActiveMaintenanceWindowEnd(policy.maintenance_windows, now)) {
      return absl::StrCat("action in a maintenance window at step ", step);
    }
    if (policy.blast_radius_cap > 0 && v.groups_failing > policy.blast_radius_cap) {
      return absl::StrCat("action above the blast-radius cap at step ", step);
    }
    ++*actions;
    v.in_flight = OperationInFlight{d.action, now};
    op_finishes = now + absl::Seconds(sim.Uniform(0, 600));
  }
  return "";
}

TEST(DecidePropertyTest, RandomTimelinesNeverViolateTheSafetyInvariants) {
  int actions = 0;
  for (uint32_t seed = 1; seed <= 4000; ++seed) {
    std::string violation = RunTimeline(seed, &actions);
    ASSERT_EQ(violation, "") << "seed " << seed;
  }
  // The timelines must act often enough for the invariants to mean something.
  EXPECT_GT(actions, 500);
}

// Guards the property test itself: random timelines must actually reach every acting stage, or
// the invariants above would hold vacuously.
TEST(DecidePropertyTest, RandomTimelinesReachEveryKindOfAction) {
  int planned = 0, forced = 0, tpbf = 0;
  for (uint32_t seed = 1; seed <= 4000; ++seed) {
    Sim sim(seed);
    const Policy policy = RandomPolicy(sim);
    GroupView v;
    v.roles = {"srv-a", "srv-b"};
    v.secondary.verdict = v1::VERDICT_HEALTHY;
    v.primary = {v1::VERDICT_UNHEALTHY, kT0};
    v.last_lag = LagSample{absl::Seconds(sim.Uniform(0, 60)), kT0};
    v.approval = Approval{v1::FAILOVER_KIND_AUTO, kT0, kT0 + absl::Hours(10), true};
    for (int minutes = 0; minutes < 30; ++minutes) {
      const Decision d = Decide(v, policy, kT0 + absl::Minutes(minutes));
      planned += d.action == v1::FAILOVER_KIND_PLANNED;
      forced += d.action == v1::FAILOVER_KIND_FORCED;
      tpbf += d.action == v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED;
    }
  }
  EXPECT_GT(planned, 100);
  EXPECT_GT(forced, 100);
  EXPECT_GT(tpbf, 100);
}

}  // namespace
}  // namespace foghorn::decision
