// foghorn's MetricsRegistry against prometheus-cpp 1.0.1 (Debian's prometheus-cpp-dev) for what
// the agent does with metrics: bump a labelled counter, set a labelled gauge, observe a histogram,
// and render /metrics. Two prometheus-cpp shapes are measured:
//   *_PromAdd     family.Add(labels) on every call: the same call shape as ours (labels by
//                 value at each call site), so it is what a drop-in replacement would cost;
//   *_PromHandle  a Counter&/Gauge& looked up once and kept: what call sites restructured around
//                 prometheus-cpp's handles would cost.
// Labels are built at each call in every variant, as foghorn's call sites do. Run:
//   build/bench/metrics_bench --benchmark_counters_tabular=true
#include <sstream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "orchestrator/common/metrics.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace foghorn::common {
namespace {

// Series per metric in the hot-path benchmarks: one per failover group.
constexpr int kGroups = 100;

std::vector<std::string> GroupIds(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back("sql-orders-weu/fog-" + std::to_string(i));
  return ids;
}

// --- counter: foghorn_probe_results_total{group,probe,outcome} += 1 ---

// With Threads(2) both threads share one registry: thread 0 builds it before the loop and
// deletes it after (the library's barriers keep the other thread inside those bounds).
void BM_IncrementCounter_Foghorn(benchmark::State& state) {
  static MetricsRegistry* m = nullptr;
  if (state.thread_index() == 0) m = new MetricsRegistry();
  const std::vector<std::string> groups = GroupIds(kGroups);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& g = groups[i++ % groups.size()];
    m->IncrementCounter("foghorn_probe_results_total",
                        {{"group", g}, {"probe", "tcp-primary"}, {"outcome", "success"}});
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) delete m;
}
BENCHMARK(BM_IncrementCounter_Foghorn)->Threads(1)->Threads(2);

void BM_IncrementCounter_PromAdd(benchmark::State& state) {
  static prometheus::Registry* registry = nullptr;
  static prometheus::Family<prometheus::Counter>* family = nullptr;
  if (state.thread_index() == 0) {
    registry = new prometheus::Registry();
    family = &prometheus::BuildCounter().Name("foghorn_probe_results_total").Register(*registry);
  }
  const std::vector<std::string> groups = GroupIds(kGroups);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& g = groups[i++ % groups.size()];
    family->Add({{"group", g}, {"probe", "tcp-primary"}, {"outcome", "success"}}).Increment();
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) delete registry;
}
BENCHMARK(BM_IncrementCounter_PromAdd)->Threads(1)->Threads(2);

void BM_IncrementCounter_PromHandle(benchmark::State& state) {
  prometheus::Registry registry;
  auto& family = prometheus::BuildCounter().Name("foghorn_probe_results_total").Register(registry);
  std::vector<prometheus::Counter*> counters;
  for (const std::string& g : GroupIds(kGroups)) {
    counters.push_back(
        &family.Add({{"group", g}, {"probe", "tcp-primary"}, {"outcome", "success"}}));
  }
  size_t i = 0;
  for (auto _ : state) counters[i++ % counters.size()]->Increment();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IncrementCounter_PromHandle);

// --- gauge: foghorn_probe_metric{group,probe} = value ---

void BM_SetGauge_Foghorn(benchmark::State& state) {
  MetricsRegistry m;
  const std::vector<std::string> groups = GroupIds(kGroups);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& g = groups[i % groups.size()];
    m.SetGauge("foghorn_probe_metric", {{"group", g}, {"probe", "lag"}}, static_cast<double>(i));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SetGauge_Foghorn);

void BM_SetGauge_PromAdd(benchmark::State& state) {
  prometheus::Registry registry;
  auto& family = prometheus::BuildGauge().Name("foghorn_probe_metric").Register(registry);
  const std::vector<std::string> groups = GroupIds(kGroups);
  size_t i = 0;
  for (auto _ : state) {
    const std::string& g = groups[i % groups.size()];
    family.Add({{"group", g}, {"probe", "lag"}}).Set(static_cast<double>(i));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SetGauge_PromAdd);

void BM_SetGauge_PromHandle(benchmark::State& state) {
  prometheus::Registry registry;
  auto& family = prometheus::BuildGauge().Name("foghorn_probe_metric").Register(registry);
  std::vector<prometheus::Gauge*> gauges;
  for (const std::string& g : GroupIds(kGroups)) {
    gauges.push_back(&family.Add({{"group", g}, {"probe", "lag"}}));
  }
  size_t i = 0;
  for (auto _ : state) {
    gauges[i % gauges.size()]->Set(static_cast<double>(i));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SetGauge_PromHandle);

// --- histogram: foghorn_http_request_seconds{target} observe ---

void BM_Observe_Foghorn(benchmark::State& state) {
  MetricsRegistry m;
  size_t i = 0;
  for (auto _ : state) {
    m.Observe("foghorn_http_request_seconds", {{"target", "arm"}},
              0.001 * static_cast<double>(i++ % 2000));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Observe_Foghorn);

void BM_Observe_PromAdd(benchmark::State& state) {
  prometheus::Registry registry;
  auto& family =
      prometheus::BuildHistogram().Name("foghorn_http_request_seconds").Register(registry);
  const prometheus::Histogram::BucketBoundaries buckets(MetricsRegistry::DefaultBuckets().begin(),
                                                        MetricsRegistry::DefaultBuckets().end());
  size_t i = 0;
  for (auto _ : state) {
    family.Add({{"target", "arm"}}, buckets).Observe(0.001 * static_cast<double>(i++ % 2000));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Observe_PromAdd);

// --- /metrics: render every series as exposition text ---
// Per group: 4 counters (one with 3 outcome series), 2 gauges; plus 1 histogram over 4 targets.
// range(0) groups: 10 is a small deployment, 1000 a large one (~9,000 series).

void FillFoghorn(MetricsRegistry& m, int groups) {
  for (const std::string& g : GroupIds(groups)) {
    for (const char* outcome : {"success", "failure", "unknown"}) {
      m.IncrementCounter("foghorn_probe_results_total",
                         {{"group", g}, {"probe", "tcp-primary"}, {"outcome", outcome}}, 7);
    }
    m.IncrementCounter("foghorn_evaluations_total", {{"group", g}}, 1234);
    m.IncrementCounter("foghorn_decisions_total", {{"group", g}, {"action", "hold"}}, 17);
    m.IncrementCounter("foghorn_verdict_changes_total", {{"group", g}, {"target", "primary"}}, 2);
    m.SetGauge("foghorn_probe_metric", {{"group", g}, {"probe", "lag"}}, 3.25);
    m.SetGauge("foghorn_probe_metric", {{"group", g}, {"probe", "tcp-primary"}}, 0.0125);
  }
  for (const char* target : {"arm", "token", "webhook", "probe"}) {
    for (int i = 0; i < 100; ++i) {
      m.Observe("foghorn_http_request_seconds", {{"target", target}}, 0.002 * i);
    }
  }
}

void FillProm(prometheus::Registry& r, int groups) {
  auto& results = prometheus::BuildCounter().Name("foghorn_probe_results_total").Register(r);
  auto& evaluations = prometheus::BuildCounter().Name("foghorn_evaluations_total").Register(r);
  auto& decisions = prometheus::BuildCounter().Name("foghorn_decisions_total").Register(r);
  auto& verdicts = prometheus::BuildCounter().Name("foghorn_verdict_changes_total").Register(r);
  auto& probe_metric = prometheus::BuildGauge().Name("foghorn_probe_metric").Register(r);
  auto& http = prometheus::BuildHistogram().Name("foghorn_http_request_seconds").Register(r);
  for (const std::string& g : GroupIds(groups)) {
    for (const char* outcome : {"success", "failure", "unknown"}) {
      results.Add({{"group", g}, {"probe", "tcp-primary"}, {"outcome", outcome}}).Increment(7);
    }
    evaluations.Add({{"group", g}}).Increment(1234);
    decisions.Add({{"group", g}, {"action", "hold"}}).Increment(17);
    verdicts.Add({{"group", g}, {"target", "primary"}}).Increment(2);
    probe_metric.Add({{"group", g}, {"probe", "lag"}}).Set(3.25);
    probe_metric.Add({{"group", g}, {"probe", "tcp-primary"}}).Set(0.0125);
  }
  const prometheus::Histogram::BucketBoundaries buckets(MetricsRegistry::DefaultBuckets().begin(),
                                                        MetricsRegistry::DefaultBuckets().end());
  for (const char* target : {"arm", "token", "webhook", "probe"}) {
    auto& h = http.Add({{"target", target}}, buckets);
    for (int i = 0; i < 100; ++i) h.Observe(0.002 * i);
  }
}

void BM_Render_Foghorn(benchmark::State& state) {
  MetricsRegistry m;
  FillFoghorn(m, static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = m.Render();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Render_Foghorn)->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond);

// What prometheus-cpp's pull::Exposer does per scrape: Collect(), then the text serializer.
void BM_Render_Prom(benchmark::State& state) {
  prometheus::Registry registry;
  FillProm(registry, static_cast<int>(state.range(0)));
  const prometheus::TextSerializer serializer;
  size_t bytes = 0;
  for (auto _ : state) {
    std::ostringstream out;
    serializer.Serialize(out, registry.Collect());
    std::string text = out.str();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Render_Prom)->Arg(10)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace foghorn::common

BENCHMARK_MAIN();
