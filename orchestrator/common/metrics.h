// Prometheus-style metrics: counters, gauges and histograms with labels, rendered in the text
// exposition format (version 0.0.4) for the agent's /metrics endpoint. Every stage of the flow
// records into one MetricsRegistry passed in through its constructor.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_METRICS_H_
#define FOGHORN_ORCHESTRATOR_COMMON_METRICS_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace foghorn::common {

// Label name -> value, ordered so series render deterministically.
using Labels = std::map<std::string, std::string>;

// Thread-safe. A metric's kind is fixed by its first use; using the same name as another kind
// aborts (a programming error, not an input error).
class MetricsRegistry {
 public:
  // Default histogram buckets, in seconds: 100us .. 60s.
  static const std::vector<double>& DefaultBuckets();

  // Declares help text (optional; rendered as # HELP).
  void Describe(const std::string& name, const std::string& help);

  void IncrementCounter(const std::string& name, const Labels& labels = {}, double delta = 1);
  void SetGauge(const std::string& name, const Labels& labels, double value);
  // Records one observation. `buckets` is used when the histogram is first seen.
  void Observe(const std::string& name, const Labels& labels, double value,
               const std::vector<double>& buckets = DefaultBuckets());

  // Current value of a counter or gauge series (0 when absent); for tests and status views.
  double Value(const std::string& name, const Labels& labels = {}) const;
  // Number of observations of a histogram series.
  std::uint64_t Count(const std::string& name, const Labels& labels = {}) const;

  // The whole registry in Prometheus text format.
  std::string Render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Histogram {
    std::vector<double> bounds;
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative
    double sum = 0;
    std::uint64_t count = 0;
  };
  struct Family {
    Kind kind;
    std::map<Labels, double> values;
    std::map<Labels, Histogram> histograms;
  };
  Family& FamilyLocked(const std::string& name, Kind kind) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> help_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_METRICS_H_
