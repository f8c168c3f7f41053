// Azure's own signals as the probes see them: a read-only interface over Azure Monitor metrics,
// Resource Health and the Microsoft.Sql replicationLinks of a database, which the daemon adapts
// its ARM client to (orchestrator/daemon/azure_signal_adapter.h), so probes never depend on
// orchestrator/arm. Also here: a caching, coalescing decorator (many probes and groups on one
// resource share one ARM read per interval) and a fake for tests.
#ifndef FOGHORN_PROBES_AZURE_SIGNAL_READER_H_
#define FOGHORN_PROBES_AZURE_SIGNAL_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "foghorn/v1/common.pb.h"
#include "orchestrator/common/clock.h"

namespace foghorn::probes {

// A server (database empty) or one of its databases, by ARM name parts.
struct AzureResourceRef {
  std::string subscription;
  std::string resource_group;
  std::string server;
  std::string database;

  // "sub/rg/server[/database]", for logs and cache keys.
  std::string Key() const;
};

struct MetricRequest {
  AzureResourceRef database;
  std::string metric;       // e.g. "replication_lag_seconds"
  std::string aggregation;  // "Maximum", ...
  std::string filter;       // optional $filter
  // How far back to look for the newest value (the timespan is [now - lookback, now]).
  absl::Duration lookback = absl::Minutes(10);

  std::string Key() const;
};

// The newest value of a metric in the lookback.
struct MetricSample {
  absl::Time time;  // the start of its minute
  double value = 0;
};

// Resource Health availabilityStatuses/current.
struct HealthStatus {
  std::string state;  // Available | Degraded | Unavailable | Unknown (as sent)
  std::string reason_type;
  std::string summary;
  std::optional<absl::Time> occurred_time;
};

// One replicationLinks entry, as seen from the database that was read.
struct LinkStatus {
  v1::Role role = v1::ROLE_UNSPECIFIED;
  v1::Role partner_role = v1::ROLE_UNSPECIFIED;
  std::string partner_server;
  std::string partner_database;
  std::string replication_state;  // SEEDING, CATCH_UP, SUSPENDED, ...
  std::optional<int> percent_complete;
  std::string link_type;  // GEO, STANDBY, ...
};

// Implementations must not block the caller: they start the read and call `done` exactly once,
// from any thread, no later than about `deadline`. Status codes as for FailoverGroupStateReader:
// kNotFound for an unknown resource, kUnavailable / kDeadlineExceeded when ARM could not be
// reached, kUnauthenticated / kPermissionDenied for credential problems, kInvalidArgument for a
// bad query or a malformed answer. ReadMetric gives nullopt when the metric has no value in the
// lookback (no data yet, or a secondary database, which has no lag).
class AzureSignalReader {
 public:
  template <typename T>
  using Callback = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;
  virtual ~AzureSignalReader() = default;
  virtual void ReadMetric(const MetricRequest& request, absl::Time deadline,
                          Callback<std::optional<MetricSample>> done) = 0;
  virtual void ReadHealth(const AzureResourceRef& resource, absl::Time deadline,
                          Callback<HealthStatus> done) = 0;
  virtual void ReadLinks(const AzureResourceRef& database, absl::Time deadline,
                         Callback<std::vector<LinkStatus>> done) = 0;
};

// Shares reads: an answer (success or failure) is reused for `ttl` by every request with the same
// key (metric request, resource, database), and requests that arrive while a read of the same key
// is running wait for it instead of starting another. So N groups, vantage probes or targets on one
// database cost one ARM read per key and ttl, whatever their number; set ttl to the shortest
// probe interval on these kinds (the daemon uses 30 s; Azure Monitor's grain is a minute and
// Resource Health moves in minutes). Entries older than 10 ttl are dropped on the next read.
// Thread-safe; `inner` and `clock` must outlive it. Callbacks run on the inner reader's thread
// (or the caller's, for a cached answer).
class CachingAzureSignalReader final : public AzureSignalReader {
 public:
  CachingAzureSignalReader(AzureSignalReader& inner, const common::Clock& clock,
                           absl::Duration ttl);
  ~CachingAzureSignalReader() override;

  void ReadMetric(const MetricRequest& request, absl::Time deadline,
                  Callback<std::optional<MetricSample>> done) override;
  void ReadHealth(const AzureResourceRef& resource, absl::Time deadline,
                  Callback<HealthStatus> done) override;
  void ReadLinks(const AzureResourceRef& database, absl::Time deadline,
                 Callback<std::vector<LinkStatus>> done) override;

  // Reads sent to the inner reader so far (for tests and the figure in docs/probes.md).
  std::int64_t inner_reads() const;

 private:
  template <typename T>
  struct Table;
  template <typename T>
  void Read(Table<T>& table, const std::string& key, absl::AnyInvocable<void(Callback<T>) &&> start,
            Callback<T> done);

  AzureSignalReader& inner_;
  const common::Clock& clock_;
  const absl::Duration ttl_;
  std::unique_ptr<Table<std::optional<MetricSample>>> metrics_;
  std::unique_ptr<Table<HealthStatus>> health_;
  std::unique_ptr<Table<std::vector<LinkStatus>>> links_;
  mutable absl::Mutex mu_;
  std::int64_t inner_reads_ ABSL_GUARDED_BY(mu_) = 0;
};

// In-memory reader for tests: answers synchronously from tables set by the test; unknown keys get
// kNotFound. Counts reads. Thread-safe.
class FakeAzureSignalReader final : public AzureSignalReader {
 public:
  void SetMetric(const MetricRequest& request, absl::StatusOr<std::optional<MetricSample>> answer);
  void SetHealth(const AzureResourceRef& resource, absl::StatusOr<HealthStatus> answer);
  void SetLinks(const AzureResourceRef& database, absl::StatusOr<std::vector<LinkStatus>> answer);

  void ReadMetric(const MetricRequest& request, absl::Time deadline,
                  Callback<std::optional<MetricSample>> done) override;
  void ReadHealth(const AzureResourceRef& resource, absl::Time deadline,
                  Callback<HealthStatus> done) override;
  void ReadLinks(const AzureResourceRef& database, absl::Time deadline,
                 Callback<std::vector<LinkStatus>> done) override;

  int reads() const;

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::StatusOr<std::optional<MetricSample>>> metrics_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::StatusOr<HealthStatus>> health_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::StatusOr<std::vector<LinkStatus>>> links_
      ABSL_GUARDED_BY(mu_);
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_AZURE_SIGNAL_READER_H_
