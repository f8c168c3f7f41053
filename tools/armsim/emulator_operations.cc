// The long-running operations of the emulator: starting one (202 with Azure-AsyncOperation and
// Location URLs), failover and delete requests, the two status URLs, completing operations when
// their due time passes (AdvanceLocked, lazily on every call), and failing one from the admin API.
#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/armsim/emulator.h"

namespace foghorn::armsim {

using nlohmann::json;

ArmResponse Emulator::StartOperation(const ArmRequest& r, const std::string& name, Group config,
                                     absl::Time now) {
  Operation op;
  op.id = NewUuid();
  op.name = name;
  op.route = r.route;
  op.subscription = r.subscription;
  op.region = servers_.at(r.server).spec.region;
  op.server = r.server;
  op.group = r.failover_group;
  op.start = now;
  op.due = now + operation_duration_;
  op.forced_failure = r.forced_failure;
  op.pending_config = std::move(config);
  op.caller = r.caller;
  op.correlation_id = r.correlation_id.empty() ? NewUuid() : r.correlation_id;
  op.resource_group =
      r.resource_group.empty() ? servers_.at(r.server).spec.resource_group : r.resource_group;
  RecordActivityLocked(op, "Started", now);
  std::string prefix = absl::StrCat(r.base_url, "/subscriptions/", r.subscription,
                                    "/providers/Microsoft.Sql/locations/", op.region);
  ArmResponse resp;
  resp.status = 202;
  resp.body = json{{"operation", name}, {"startTime", FormatArmTime(now)}};
  resp.headers.emplace_back("Azure-AsyncOperation",
                            absl::StrCat(prefix, "/failoverGroupAzureAsyncOperation/", op.id,
                                         "?api-version=", r.api_version));
  resp.headers.emplace_back("Location", absl::StrCat(prefix, "/failoverGroupOperationResults/",
                                                     op.id, "?api-version=", r.api_version));
  if (retry_after_) {
    resp.headers.emplace_back("Retry-After", absl::StrCat(absl::ToInt64Seconds(*retry_after_)));
  }
  resp.accepted_operation = true;
  resp.operation_id = op.id;
  groups_[r.failover_group].busy_operation = op.id;
  running_.insert(op.id);
  operations_[op.id] = std::move(op);
  return resp;
}

ArmResponse Emulator::Delete(const ArmRequest& r, absl::Time now) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  auto it = groups_.find(r.failover_group);
  if (it == groups_.end() || it->second.creating ||
      (it->second.primary != r.server && it->second.secondary != r.server)) {
    ArmResponse gone;
    gone.status = 204;
    return gone;
  }
  if (!it->second.busy_operation.empty()) return BusyLocked(it->second);
  if (it->second.secondary == r.server) return OnSecondary();
  return StartOperation(r, "DropFailoverGroup", it->second, now);
}

ArmResponse Emulator::Failover(const ArmRequest& r, absl::Time now) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  auto it = groups_.find(r.failover_group);
  if (it == groups_.end() || it->second.creating ||
      (it->second.primary != r.server && it->second.secondary != r.server)) {
    return GroupNotFound(r);
  }
  if (!it->second.busy_operation.empty()) return BusyLocked(it->second);
  if (it->second.primary == r.server) {
    return ArmError(400, "FailoverGroupFailoverRequestOnPrimary",
                    "The failover request should be initiated on the secondary server of failover "
                    "group.");
  }
  return StartOperation(r, "FailoverFailoverGroup", it->second, now);
}

ArmResponse Emulator::AsyncStatus(const ArmRequest& r) {
  auto it = operations_.find(r.operation_id);
  if (it == operations_.end() || it->second.subscription != r.subscription ||
      it->second.region != r.region) {
    return ArmError(404, "OperationIdNotFound",
                    absl::StrCat("The operation with Id '", r.operation_id, "' does not exist."));
  }
  const Operation& op = it->second;
  json body = {{"name", op.id}, {"status", op.status}, {"startTime", FormatArmTime(op.start)}};
  if (op.status == "Failed" || op.status == "Canceled") {
    body["error"] = {{"code", op.error_code}, {"message", op.error_message}};
  }
  ArmResponse resp;
  resp.body = body;
  if (op.status == "InProgress" && retry_after_) {
    resp.headers.emplace_back("Retry-After", absl::StrCat(absl::ToInt64Seconds(*retry_after_)));
  }
  return resp;
}

ArmResponse Emulator::OperationResult(const ArmRequest& r) {
  auto it = operations_.find(r.operation_id);
  if (it == operations_.end() || it->second.subscription != r.subscription ||
      it->second.region != r.region) {
    return ArmError(404, "OperationIdNotFound",
                    absl::StrCat("The operation with Id '", r.operation_id, "' does not exist."));
  }
  const Operation& op = it->second;
  ArmResponse resp;
  if (op.status == "InProgress") {
    resp.status = 202;
    resp.headers.emplace_back(
        "Location",
        absl::StrCat(r.base_url, "/subscriptions/", r.subscription,
                     "/providers/Microsoft.Sql/locations/", op.region,
                     "/failoverGroupOperationResults/", op.id, "?api-version=", r.api_version));
    if (retry_after_) {
      resp.headers.emplace_back("Retry-After", absl::StrCat(absl::ToInt64Seconds(*retry_after_)));
    }
    return resp;
  }
  if (op.status != "Succeeded") {
    // The failover-group codes keep their documented status (409 for OperationInterrupted ...).
    auto known = FailoverGroupError(op.error_code);
    int status = op.status == "Canceled" ? 409 : known ? known->status : 400;
    return ArmError(status, op.error_code, op.error_message);
  }
  if (!op.result) {
    resp.status = 204;
    return resp;
  }
  resp.body = *op.result;
  return resp;
}

bool Emulator::AdvanceLocked(absl::Time now) {
  for (auto& [name, g] : groups_) PumpLocked(g, now);
  if (running_.empty()) return false;
  std::vector<Operation*> due;
  for (const auto& id : running_) {
    Operation& op = operations_.at(id);
    if (op.due <= now) due.push_back(&op);
  }
  std::sort(due.begin(), due.end(),
            [](const Operation* a, const Operation* b) { return a->due < b->due; });
  for (Operation* op : due) {
    CompleteLocked(*op, op->due);
    RecordActivityLocked(*op, op->status, op->end);
  }
  return !due.empty();
}

void Emulator::CompleteLocked(Operation& op, absl::Time now) {
  running_.erase(op.id);
  op.end = now;
  auto git = groups_.find(op.group);
  auto fail = [&](const std::string& code, const std::string& message) {
    op.status = code == "OperationCancelled" ? "Canceled" : "Failed";
    op.error_code = code;
    op.error_message = message;
    if (git != groups_.end()) {
      git->second.busy_operation.clear();
      if (git->second.creating) groups_.erase(git);
    }
  };
  if (git == groups_.end()) {
    fail("ResourceNotFound", "The failover group no longer exists.");
    return;
  }
  Group& g = git->second;
  if (op.forced_failure) {
    fail(op.forced_failure->first, op.forced_failure->second);
    return;
  }
  switch (op.route) {
    case ArmRoute::kPut:
    case ArmRoute::kPatch: {
      Group config = op.pending_config;
      const bool created = g.creating;
      config.creating = false;
      config.busy_operation.clear();
      config.pending = g.pending;
      config.writes_total = g.writes_total;
      config.writes_replicated = g.writes_replicated;
      config.writes_lost = g.writes_lost;
      config.created = created ? now : g.created;
      config.primaries = g.primaries;
      config.oldest_pending = g.oldest_pending;
      // Databases new to the group start seeding now; removed ones are forgotten.
      for (const auto& db : config.databases) {
        servers_[config.secondary].databases.insert(db);
        bool had =
            !created && std::find(g.databases.begin(), g.databases.end(), db) != g.databases.end();
        if (had) {
          if (auto s = g.seeding_since.find(db); s != g.seeding_since.end()) {
            config.seeding_since[db] = s->second;
          }
        } else {
          config.seeding_since[db] = now;
        }
      }
      g = std::move(config);
      if (created) RecordPrimaryLocked(g, now);
      op.result = GroupJson(g, op.server);
      break;
    }
    case ArmRoute::kDelete:
      groups_.erase(git);
      break;
    default: {
      bool primary_up = RegionFullyUpLocked(g.primary);
      bool planned = op.route == ArmRoute::kFailover ||
                     (op.route == ArmRoute::kTryPlannedBeforeForcedFailover && primary_up);
      if (planned && !primary_up) {
        fail("PlannedFailoverTimedOut",
             "User invoked planned failover, and it timed out while trying to contact the partner "
             "management service.");
        return;
      }
      if (!DataUpLocked(op.server)) {
        fail("OperationTimedOut",
             "The operation timed out and automatically rolled back. Please retry the operation.");
        return;
      }
      PumpLocked(g, now);
      if (planned) {
        g.writes_replicated += static_cast<int64_t>(g.pending.size());
      } else {
        op.lost_writes = static_cast<int64_t>(g.pending.size());
        g.writes_lost += op.lost_writes;
      }
      g.pending.clear();
      RecordLagLocked(g, now);
      op.outcome = planned ? "planned" : "forced";
      std::swap(g.primary, g.secondary);
      RecordPrimaryLocked(g, now);
      g.busy_operation.clear();
      op.result = GroupJson(g, op.server);
      break;
    }
  }
  if (groups_.count(op.group)) groups_[op.group].busy_operation.clear();
  op.status = "Succeeded";
}

absl::Status Emulator::FailOperation(const std::string& id, const std::string& code,
                                     const std::string& message, bool canceled) {
  bool changed;
  {
    absl::MutexLock lock(&mu_);
    changed = AdvanceLocked(Now());
    auto it = operations_.find(id);
    if (it == operations_.end()) {
      return absl::NotFoundError(absl::StrCat("operation '", id, "' not found"));
    }
    Operation& op = it->second;
    if (op.status != "InProgress") {
      return absl::FailedPreconditionError(
          absl::StrCat("operation '", id, "' already ended ", op.status));
    }
    running_.erase(id);
    op.status = canceled ? "Canceled" : "Failed";
    op.error_code = code;
    op.error_message = message;
    op.end = Now();
    RecordActivityLocked(op, op.status, op.end);
    auto g = groups_.find(op.group);
    if (g != groups_.end()) {
      g->second.busy_operation.clear();
      if (g->second.creating) groups_.erase(g);
    }
  }
  if (changed) NotifyChange();
  return absl::OkStatus();
}

}  // namespace foghorn::armsim
