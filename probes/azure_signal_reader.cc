#include "probes/azure_signal_reader.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace foghorn::probes {

std::string AzureResourceRef::Key() const {
  std::string k = absl::StrCat(subscription, "/", resource_group, "/", server);
  if (!database.empty()) absl::StrAppend(&k, "/", database);
  return k;
}

std::string MetricRequest::Key() const {
  return absl::StrCat(database.Key(), "|", metric, "|", aggregation, "|", filter, "|",
                      absl::ToInt64Seconds(lookback));
}

// ---- CachingAzureSignalReader ----

template <typename T>
struct CachingAzureSignalReader::Table {
  struct Entry {
    std::optional<absl::StatusOr<T>> answer;
    absl::Time at = absl::InfinitePast();
    bool running = false;
    std::vector<Callback<T>> waiters;
  };
  absl::flat_hash_map<std::string, Entry> entries;
  absl::Time last_prune = absl::InfinitePast();
};

CachingAzureSignalReader::CachingAzureSignalReader(AzureSignalReader& inner,
                                                   const common::Clock& clock, absl::Duration ttl)
    : inner_(inner),
      clock_(clock),
      ttl_(ttl),
      metrics_(std::make_unique<Table<std::optional<MetricSample>>>()),
      health_(std::make_unique<Table<HealthStatus>>()),
      links_(std::make_unique<Table<std::vector<LinkStatus>>>()) {}

CachingAzureSignalReader::~CachingAzureSignalReader() = default;

template <typename T>
void CachingAzureSignalReader::Read(Table<T>& table, const std::string& key,
                                    absl::AnyInvocable<void(Callback<T>) &&> start,
                                    Callback<T> done) {
  const absl::Time now = clock_.Now();
  std::optional<absl::StatusOr<T>> cached;
  {
    absl::MutexLock lock(&mu_);
    if (now - table.last_prune > ttl_) {
      // Keys nobody asked for in a while (a removed runbook) do not accumulate.
      table.last_prune = now;
      absl::erase_if(table.entries, [&](const auto& kv) {
        return !kv.second.running && now - kv.second.at > 10 * ttl_;
      });
    }
    typename Table<T>::Entry& e = table.entries[key];
    if (e.answer && now - e.at < ttl_) {
      cached = *e.answer;
    } else if (e.running) {
      e.waiters.push_back(std::move(done));
      return;
    } else {
      e.running = true;
      ++inner_reads_;
    }
  }
  if (cached) {
    std::move(done)(*std::move(cached));
    return;
  }
  // The inner reader may answer synchronously: no lock is held here.
  std::move(start)([this, &table, key, done = std::move(done)](absl::StatusOr<T> answer) mutable {
    std::vector<Callback<T>> waiters;
    {
      absl::MutexLock lock(&mu_);
      typename Table<T>::Entry& e = table.entries[key];
      e.running = false;
      e.answer = answer;
      e.at = clock_.Now();
      waiters.swap(e.waiters);
    }
    for (Callback<T>& w : waiters) std::move(w)(answer);
    std::move(done)(std::move(answer));
  });
}

void CachingAzureSignalReader::ReadMetric(const MetricRequest& request, absl::Time deadline,
                                          Callback<std::optional<MetricSample>> done) {
  Read<std::optional<MetricSample>>(
      *metrics_, request.Key(),
      [this, request, deadline](Callback<std::optional<MetricSample>> cb) mutable {
        inner_.ReadMetric(request, deadline, std::move(cb));
      },
      std::move(done));
}

void CachingAzureSignalReader::ReadHealth(const AzureResourceRef& resource, absl::Time deadline,
                                          Callback<HealthStatus> done) {
  Read<HealthStatus>(
      *health_, resource.Key(),
      [this, resource, deadline](Callback<HealthStatus> cb) mutable {
        inner_.ReadHealth(resource, deadline, std::move(cb));
      },
      std::move(done));
}

void CachingAzureSignalReader::ReadLinks(const AzureResourceRef& database, absl::Time deadline,
                                         Callback<std::vector<LinkStatus>> done) {
  Read<std::vector<LinkStatus>>(
      *links_, database.Key(),
      [this, database, deadline](Callback<std::vector<LinkStatus>> cb) mutable {
        inner_.ReadLinks(database, deadline, std::move(cb));
      },
      std::move(done));
}

std::int64_t CachingAzureSignalReader::inner_reads() const {
  absl::MutexLock lock(&mu_);
  return inner_reads_;
}

// ---- FakeAzureSignalReader ----

namespace {

template <typename Map, typename T>
absl::StatusOr<T> Lookup(absl::Mutex& mu, const Map& map, const std::string& key, int& reads,
                         const char* what) {
  absl::MutexLock lock(&mu);
  ++reads;
  auto it = map.find(key);
  if (it == map.end()) return absl::NotFoundError(absl::StrCat(what, " ", key, " not found"));
  return it->second;
}

}  // namespace

void FakeAzureSignalReader::SetMetric(const MetricRequest& request,
                                      absl::StatusOr<std::optional<MetricSample>> answer) {
  absl::MutexLock lock(&mu_);
  metrics_.insert_or_assign(request.Key(), std::move(answer));
}

void FakeAzureSignalReader::SetHealth(const AzureResourceRef& resource,
                                      absl::StatusOr<HealthStatus> answer) {
  absl::MutexLock lock(&mu_);
  health_.insert_or_assign(resource.Key(), std::move(answer));
}

void FakeAzureSignalReader::SetLinks(const AzureResourceRef& database,
                                     absl::StatusOr<std::vector<LinkStatus>> answer) {
  absl::MutexLock lock(&mu_);
  links_.insert_or_assign(database.Key(), std::move(answer));
}

void FakeAzureSignalReader::ReadMetric(const MetricRequest& request, absl::Time,
                                       Callback<std::optional<MetricSample>> done) {
  std::move(done)(Lookup<decltype(metrics_), std::optional<MetricSample>>(
      mu_, metrics_, request.Key(), reads_, "metric"));
}

void FakeAzureSignalReader::ReadHealth(const AzureResourceRef& resource, absl::Time,
                                       Callback<HealthStatus> done) {
  std::move(done)(
      Lookup<decltype(health_), HealthStatus>(mu_, health_, resource.Key(), reads_, "resource"));
}

void FakeAzureSignalReader::ReadLinks(const AzureResourceRef& database, absl::Time,
                                      Callback<std::vector<LinkStatus>> done) {
  std::move(done)(Lookup<decltype(links_), std::vector<LinkStatus>>(mu_, links_, database.Key(),
                                                                    reads_, "database"));
}

int FakeAzureSignalReader::reads() const {
  absl::MutexLock lock(&mu_);
  return reads_;
}

}  // namespace foghorn::probes
