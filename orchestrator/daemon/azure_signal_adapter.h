// The probes' view of Azure's own signals (probes::AzureSignalReader) over the ARM client's
// signal reads (arm::AzureSignals): each read runs on the daemon's read workers, never on the
// probe I/O loop or the control loop, and goes through the ArmClient's credential, reads budget,
// retries and metered transport. main.cc wraps it in a probes::CachingAzureSignalReader so groups
// and probes on one resource share one ARM read per interval.
//
// Header-only: it joins two layers (probes, orchestrator/arm), which only the composition root
// may do.
#ifndef FOGHORN_ORCHESTRATOR_DAEMON_AZURE_SIGNAL_ADAPTER_H_
#define FOGHORN_ORCHESTRATOR_DAEMON_AZURE_SIGNAL_ADAPTER_H_

#include <optional>
#include <utility>
#include <vector>

#include "orchestrator/arm/azure_signals.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/worker_pool.h"
#include "probes/azure_signal_reader.h"

namespace foghorn::daemon {

class ArmAzureSignalReader final : public probes::AzureSignalReader {
 public:
  // `signals`, `workers` and `clock` must outlive the reader. A read the pool refuses (it is
  // shutting down) answers CANCELLED at once.
  ArmAzureSignalReader(arm::AzureSignals& signals, common::WorkerPool& workers,
                       const common::Clock& clock)
      : signals_(signals), workers_(workers), clock_(clock) {}

  void ReadMetric(const probes::MetricRequest& request, absl::Time /*deadline*/,
                  Callback<std::optional<probes::MetricSample>> done) override {
    Run(std::move(done), [this, request]() -> absl::StatusOr<std::optional<probes::MetricSample>> {
      const std::optional<arm::MetricAggregation> aggregation =
          arm::ParseMetricAggregation(request.aggregation);
      if (!aggregation) {
        return absl::InvalidArgumentError("unknown metric aggregation " + request.aggregation);
      }
      arm::MetricsQuery q;
      q.metric_names = {request.metric};
      q.aggregations = {*aggregation};
      q.end = clock_.Now();
      q.start = q.end - request.lookback;
      q.filter = request.filter;
      const probes::AzureResourceRef& d = request.database;
      absl::StatusOr<arm::MetricsResponse> r =
          signals_.GetMetrics({d.subscription, d.resource_group, d.server, d.database}, q);
      if (!r.ok()) return r.status();
      const arm::Metric* m = r->Find(request.metric);
      if (m == nullptr) return std::optional<probes::MetricSample>();
      std::optional<arm::MetricPoint> p = arm::NewestPoint(*m, *aggregation);
      if (!p) return std::optional<probes::MetricSample>();
      return std::optional<probes::MetricSample>(
          probes::MetricSample{p->time, *p->Get(*aggregation)});
    });
  }

  void ReadHealth(const probes::AzureResourceRef& resource, absl::Time /*deadline*/,
                  Callback<probes::HealthStatus> done) override {
    Run(std::move(done), [this, resource]() -> absl::StatusOr<probes::HealthStatus> {
      absl::StatusOr<arm::AvailabilityStatus> s =
          resource.database.empty()
              ? signals_.GetServerHealth(
                    {resource.subscription, resource.resource_group, resource.server})
              : signals_.GetDatabaseHealth({resource.subscription, resource.resource_group,
                                            resource.server, resource.database});
      if (!s.ok()) return s.status();
      return probes::HealthStatus{s->state_text, s->reason_type, s->summary, s->occurred_time};
    });
  }

  void ReadLinks(const probes::AzureResourceRef& database, absl::Time /*deadline*/,
                 Callback<std::vector<probes::LinkStatus>> done) override {
    Run(std::move(done), [this, database]() -> absl::StatusOr<std::vector<probes::LinkStatus>> {
      absl::StatusOr<std::vector<arm::ReplicationLink>> links = signals_.ListReplicationLinks(
          {database.subscription, database.resource_group, database.server, database.database});
      if (!links.ok()) return links.status();
      std::vector<probes::LinkStatus> out;
      for (const arm::ReplicationLink& l : *links) {
        probes::LinkStatus s;
        s.role = Role(l.role);
        s.partner_role = Role(l.partner_role);
        s.partner_server = l.partner_server;
        s.partner_database = l.partner_database;
        s.replication_state = l.replication_state;
        s.percent_complete = l.percent_complete;
        s.link_type = l.link_type;
        out.push_back(std::move(s));
      }
      return out;
    });
  }

 private:
  static v1::Role Role(arm::ReplicationRole r) {
    switch (r) {
      case arm::ReplicationRole::kPrimary:
        return v1::ROLE_PRIMARY;
      case arm::ReplicationRole::kSecondary:
        return v1::ROLE_SECONDARY;
      case arm::ReplicationRole::kUnknown:
        break;
    }
    return v1::ROLE_UNSPECIFIED;
  }

  template <typename T, typename Fn>
  void Run(Callback<T> done, Fn read) {
    auto shared = std::make_shared<Callback<T>>(std::move(done));
    const bool accepted = workers_.Submit(
        [shared, read = std::move(read)]() mutable { std::move (*shared)(read()); });
    if (!accepted) std::move (*shared)(absl::CancelledError("stopping: azure signal read not run"));
  }

  arm::AzureSignals& signals_;
  common::WorkerPool& workers_;
  const common::Clock& clock_;
};

}  // namespace foghorn::daemon

#endif  // FOGHORN_ORCHESTRATOR_DAEMON_AZURE_SIGNAL_ADAPTER_H_
