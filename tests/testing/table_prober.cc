#include "tests/testing/table_prober.h"

#include <utility>

namespace foghorn::testing {

void TableProber::Start(const v1::ProbeSpec& spec, const probes::ProbeContext&, absl::Duration,
                        Callback done) {
  probes::ProbeResult r;
  {
    absl::MutexLock lock(&mu_);
    auto it = outcomes_.find(spec.name());
    r.outcome = it == outcomes_.end() ? probes::ProbeOutcome::kSuccess : it->second;
    if (auto m = metrics_.find(spec.name()); m != metrics_.end()) r.metric = m->second;
  }
  std::move(done)(std::move(r));
}

void TableProber::Set(const std::string& name, probes::ProbeOutcome o) {
  absl::MutexLock lock(&mu_);
  outcomes_[name] = o;
}

void TableProber::SetMetric(const std::string& name, double v) {
  absl::MutexLock lock(&mu_);
  metrics_[name] = v;
}

}  // namespace foghorn::testing
