// Decisions per second for 10,000 failover groups in a mix of states (healthy, suspect, confirmed
// down, holds, forced). Reports time per group; run:
//   build/bench/decision_bench --benchmark_counters_tabular=true
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "orchestrator/decision/decide.h"

namespace foghorn::decision {
namespace {

constexpr int kGroups = 10000;
const absl::Time kNow = absl::FromUnixSeconds(1767225600) + absl::Hours(1);

std::vector<GroupView> MakeGroups(double down_fraction) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<GroupView> groups(kGroups);
  for (GroupView& v : groups) {
    v.roles = {"sql-orders-weu", "sql-orders-neu"};
    v.secondary.verdict = v1::VERDICT_HEALTHY;
    v.primary.verdict = v1::VERDICT_HEALTHY;
    v.last_lag = LagSample{absl::Seconds(3), kNow - absl::Seconds(10)};
    v.groups_failing = 1;
    if (u(rng) < down_fraction) {
      v.primary = {v1::VERDICT_UNHEALTHY, kNow - absl::Seconds(u(rng) * 1800)};
      if (u(rng) < 0.2) v.secondary.verdict = v1::VERDICT_UNHEALTHY;
      if (u(rng) < 0.1) v.last_failover_at = kNow - absl::Minutes(20);
    }
  }
  return groups;
}

void BM_DecideAllGroups(benchmark::State& state) {
  const std::vector<GroupView> groups = MakeGroups(static_cast<double>(state.range(0)) / 100.0);
  Policy policy;
  policy.approval_mode = v1::APPROVAL_MODE_AUTOMATIC;
  int64_t acted = 0;
  for (auto _ : state) {
    for (const GroupView& v : groups) {
      Decision d = Decide(v, policy, kNow);
      acted += d.action != v1::FAILOVER_KIND_UNSPECIFIED;
      benchmark::DoNotOptimize(d);
    }
  }
  benchmark::DoNotOptimize(acted);
  state.SetItemsProcessed(state.iterations() * kGroups);
  // Rate-inverted over (groups / 1e6): elapsed seconds * 1e6 / groups = microseconds per group.
  state.counters["us_per_group"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kGroups / 1e6,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
// Argument: percentage of groups whose primary is down (a calm day, a bad region, everything).
BENCHMARK(BM_DecideAllGroups)->Arg(0)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace foghorn::decision

BENCHMARK_MAIN();
