// foghorn-armsim's request log: one RequestRecord per served request, kept in memory (bounded)
// for ArmSimServer::RequestLog() and GET /admin/requests, appended as JSON lines to
// --request-log, and tallied into the accepted-failover counters that tests and drills assert on.
#ifndef FOGHORN_TOOLS_ARMSIM_REQUEST_LOG_H_
#define FOGHORN_TOOLS_ARMSIM_REQUEST_LOG_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace foghorn::armsim {

// One served request, as logged (one JSON line each).
struct RequestRecord {
  absl::Time time;
  std::string method;
  std::string path;
  // RouteName(), "token", "imds", "admin", "sql", "metrics", "resourceHealth", "activityLog",
  // "unknown"
  std::string route;
  std::string server;
  std::string failover_group;
  std::string vantage;  // the vantage a SQL health request came from, if any
  int status = 0;       // 0 = connection dropped without an answer
  bool accepted_operation = false;
  std::string operation_id;
  std::string fault;  // kind of the injected fault, if any
  std::string request_id;
  std::string client_request_id;
  nlohmann::json ToJson() const;
};

// Keeps the records and the counters. Thread-safe.
class RequestRecorder {
 public:
  // Keeps the last `memory_limit` records in memory.
  explicit RequestRecorder(size_t memory_limit);
  RequestRecorder(const RequestRecorder&) = delete;
  RequestRecorder& operator=(const RequestRecorder&) = delete;

  // Also appends every record to `path` from now on (flushed per line). kInvalidArgument if the
  // file cannot be opened for appending.
  absl::Status AppendToFile(const std::string& path);

  // Logs one request; a failover POST (failover, forceFailoverAllowDataLoss,
  // tryPlannedBeforeForcedFailover) that started an operation counts as an accepted failover,
  // also when its answer was dropped.
  void Record(RequestRecord record);

  std::vector<RequestRecord> Records() const;
  // The records as JSON, only those of `route` unless it is empty (GET /admin/requests).
  nlohmann::json RecordsJson(const std::string& route) const;
  // {"acceptedFailovers","acceptedFailoversByGroup","requestsLogged"} (GET /admin/counters).
  nlohmann::json CountersJson() const;

  int64_t AcceptedFailovers() const;
  int64_t AcceptedFailovers(const std::string& failover_group) const;

 private:
  const size_t memory_limit_;
  mutable absl::Mutex mu_;
  std::deque<RequestRecord> records_ ABSL_GUARDED_BY(mu_);
  std::ofstream file_ ABSL_GUARDED_BY(mu_);
  int64_t accepted_failovers_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int64_t> accepted_by_group_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_REQUEST_LOG_H_
