#include "tools/armsim/request_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/armsim/emulator.h"

namespace foghorn::armsim {

using nlohmann::json;

json RequestRecord::ToJson() const {
  json j = {{"ts", FormatArmTime(time)},
            {"tsUnixMs", absl::ToUnixMillis(time)},
            {"method", method},
            {"path", path},
            {"route", route},
            {"status", status},
            {"requestId", request_id}};
  if (!server.empty()) j["server"] = server;
  if (!failover_group.empty()) j["failoverGroup"] = failover_group;
  if (!vantage.empty()) j["vantage"] = vantage;
  if (accepted_operation) {
    j["acceptedOperation"] = true;
    j["operationId"] = operation_id;
  }
  if (!fault.empty()) j["fault"] = fault;
  if (!client_request_id.empty()) j["clientRequestId"] = client_request_id;
  return j;
}

RequestRecorder::RequestRecorder(size_t memory_limit) : memory_limit_(memory_limit) {}

absl::Status RequestRecorder::AppendToFile(const std::string& path) {
  absl::MutexLock lock(&mu_);
  file_.open(path, std::ios::app);
  if (!file_) {
    return absl::InvalidArgumentError(absl::StrCat("cannot open request log '", path, "'"));
  }
  return absl::OkStatus();
}

void RequestRecorder::Record(RequestRecord record) {
  absl::MutexLock lock(&mu_);
  if (record.accepted_operation &&
      (record.route == "failover" || record.route == "forceFailoverAllowDataLoss" ||
       record.route == "tryPlannedBeforeForcedFailover")) {
    ++accepted_failovers_;
    ++accepted_by_group_[record.failover_group];
  }
  if (file_.is_open()) {
    file_ << record.ToJson().dump() << "\n";
    file_.flush();
  }
  records_.push_back(std::move(record));
  while (records_.size() > memory_limit_) records_.pop_front();
}

std::vector<RequestRecord> RequestRecorder::Records() const {
  absl::MutexLock lock(&mu_);
  return {records_.begin(), records_.end()};
}

json RequestRecorder::RecordsJson(const std::string& route) const {
  absl::MutexLock lock(&mu_);
  json out = json::array();
  for (const auto& r : records_) {
    if (route.empty() || r.route == route) out.push_back(r.ToJson());
  }
  return out;
}

json RequestRecorder::CountersJson() const {
  absl::MutexLock lock(&mu_);
  return {{"acceptedFailovers", accepted_failovers_},
          {"acceptedFailoversByGroup", accepted_by_group_},
          {"requestsLogged", records_.size()}};
}

int64_t RequestRecorder::AcceptedFailovers() const {
  absl::MutexLock lock(&mu_);
  return accepted_failovers_;
}

int64_t RequestRecorder::AcceptedFailovers(const std::string& failover_group) const {
  absl::MutexLock lock(&mu_);
  auto it = accepted_by_group_.find(failover_group);
  return it == accepted_by_group_.end() ? 0 : it->second;
}

}  // namespace foghorn::armsim
