// A Prober for agent-level tests: answers every attempt at once from a table keyed by probe name
// (success unless the test set otherwise), with an optional metric per probe.
#ifndef FOGHORN_TESTS_TESTING_TABLE_PROBER_H_
#define FOGHORN_TESTS_TESTING_TABLE_PROBER_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "probes/prober.h"

namespace foghorn::testing {

// Thread-safe.
class TableProber final : public probes::Prober {
 public:
  void Start(const v1::ProbeSpec& spec, const probes::ProbeContext&, absl::Duration,
             Callback done) override;
  void Set(const std::string& name, probes::ProbeOutcome o);
  void SetMetric(const std::string& name, double v);

 private:
  absl::Mutex mu_;
  std::map<std::string, probes::ProbeOutcome> outcomes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, double> metrics_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::testing

#endif  // FOGHORN_TESTS_TESTING_TABLE_PROBER_H_
