// A ProbeEventSink between the probe scheduler and the health tracker that counts every probe
// result in the metrics registry (foghorn_probe_results_total{group, probe, outcome}) and keeps
// the latest metric value (foghorn_probe_metric{group, probe}), then forwards the event.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_PROBE_METRICS_H_
#define FOGHORN_ORCHESTRATOR_AGENT_PROBE_METRICS_H_

#include "orchestrator/common/metrics.h"
#include "probes/probe_result.h"

namespace foghorn::agent {

class ProbeMetricsSink final : public probes::ProbeEventSink {
 public:
  // Both must outlive the sink.
  ProbeMetricsSink(probes::ProbeEventSink& next, common::MetricsRegistry& metrics)
      : next_(next), metrics_(metrics) {}

  void OnProbeEvent(const probes::ProbeEvent& e) override {
    common::Labels labels{{"group", e.group}, {"probe", e.probe_id}};
    common::Labels with_outcome = labels;
    with_outcome["outcome"] = std::string(probes::ProbeOutcomeName(e.result.outcome));
    metrics_.IncrementCounter("foghorn_probe_results_total", with_outcome);
    if (e.result.metric) metrics_.SetGauge("foghorn_probe_metric", labels, *e.result.metric);
    next_.OnProbeEvent(e);
  }

 private:
  probes::ProbeEventSink& next_;
  common::MetricsRegistry& metrics_;
};

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_PROBE_METRICS_H_
