#include "tests/testing/fake_arm.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace foghorn::testing {

FakeArm::FakeArm(Options options) : options_(std::move(options)) {
  absl::MutexLock lock(&mu_);
  groups_[options_.group] = Group{options_.primary, options_.secondary};
  databases_ = options_.databases;
}

absl::StatusOr<arm::FailoverResult> FakeArm::Failover(const arm::FailoverRequest& request) {
  std::function<void()> hook;
  {
    absl::MutexLock lock(&mu_);
    targets_.push_back(request.target.server);
    if (hold_) {
      ++held_;
      mu_.Await(absl::Condition(
          +[](bool* hold) { return !*hold; }, &hold_));
      --held_;
    }
    hook = on_failover_;
  }
  // The hook and the clock run unlocked: either may call back into code that uses this fake.
  if (hook) hook();
  if (options_.clock != nullptr && options_.failover_duration > absl::ZeroDuration()) {
    options_.clock->Advance(options_.failover_duration);
  }
  // A failover to the server an in-flight one is switching to: the client's POST is refused as
  // busy and it re-reads until the switch, so the clock moves to it (unlocked, as above).
  std::optional<absl::Duration> in_flight_wait;
  {
    absl::MutexLock lock(&mu_);
    SettleLocked();
    auto it = in_flight_.find(request.target.name);
    Group* g = FindLocked(request.target.name);
    if (it != in_flight_.end() && g != nullptr && g->secondary == request.target.server) {
      in_flight_wait = options_.clock == nullptr
                           ? absl::ZeroDuration()
                           : std::max(absl::ZeroDuration(), it->second - options_.clock->Now());
    }
  }
  if (in_flight_wait.has_value()) {
    if (*in_flight_wait > absl::ZeroDuration()) options_.clock->Advance(*in_flight_wait);
    absl::MutexLock lock(&mu_);
    SettleLocked();
    Group* g = FindLocked(request.target.name);
    if (g == nullptr) {
      return absl::NotFoundError("failover group " + request.target.name + " not found");
    }
    if (in_flight_.erase(request.target.name) > 0 && g->secondary == request.target.server) {
      std::swap(g->primary, g->secondary);  // without a clock the switch lands now
    }
    arm::FailoverResult r;
    r.outcome = arm::FailoverOutcome::kCompletedAfterReread;
    r.posts_sent = 1;
    r.posts_accepted = 0;
    r.client_request_id = request.client_request_id;
    r.group = DocumentLocked(request.target.name, *g, request.target.server);
    return r;
  }
  arm::OperationRef accepted;
  absl::StatusOr<arm::FailoverResult> answer;
  {
    absl::MutexLock lock(&mu_);
    answer = AnswerLocked(request, accepted);
    if (!answer.ok()) ++refused_[request.kind];
  }
  // Like the real client: the caller journals the operation before the answer comes back.
  if (!accepted.empty() && request.on_accepted) request.on_accepted(accepted);
  return answer;
}

absl::StatusOr<arm::FailoverResult> FakeArm::AnswerLocked(const arm::FailoverRequest& request,
                                                          arm::OperationRef& accepted) {
  const std::string& name = request.target.name;
  const std::string& server = request.target.server;
  Group* g = FindLocked(name);
  if (g == nullptr || (server != g->primary && server != g->secondary)) {
    return absl::NotFoundError("failover group " + name + " not found on server " + server);
  }
  if (!queued_errors_.empty()) {
    auto [status, applied] = queued_errors_.front();
    queued_errors_.pop_front();
    if (applied && server == g->secondary) std::swap(g->primary, g->secondary);
    if (!status.ok()) return status;
  }
  arm::FailoverResult r;
  if (server == g->primary) {
    r.outcome = request.resume_operation.has_value() ? arm::FailoverOutcome::kResumed
                                                     : arm::FailoverOutcome::kAlreadyPrimary;
    r.group = DocumentLocked(name, *g, server);
    return r;
  }
  if (request.kind == arm::FailoverKind::kPlanned && region_down_) {
    return absl::FailedPreconditionError("PlannedFailoverTimedOut: the primary is unreachable");
  }
  if (!fail_status_.ok() && (!fail_kind_.has_value() || *fail_kind_ == request.kind)) {
    return fail_status_;
  }
  accepted_.emplace_back(name, request.kind);
  const std::string n = std::to_string(accepted_.size());
  accepted = {"https://arm/op/" + n, "https://arm/loc/" + n};
  std::swap(g->primary, g->secondary);
  r.outcome = arm::FailoverOutcome::kPosted;
  r.operation = accepted;
  r.posts_sent = 1;
  r.posts_accepted = 1;
  r.client_request_id = request.client_request_id;
  r.group = DocumentLocked(name, *g, server);
  return r;
}

absl::StatusOr<arm::FailoverGroup> FakeArm::Get(const arm::FailoverGroupId& id) {
  absl::MutexLock lock(&mu_);
  SettleLocked();
  if (auto it = get_errors_.find(id.server); it != get_errors_.end()) return it->second;
  Group* g = FindLocked(id.name);
  if (g == nullptr || (id.server != g->primary && id.server != g->secondary)) {
    return absl::NotFoundError("failover group " + id.name + " not found on server " + id.server);
  }
  if (region_down_ && id.server == g->primary) return absl::UnavailableError("region down");
  return DocumentLocked(id.name, *g, id.server);
}

arm::FailoverGroup FakeArm::DocumentLocked(const std::string& name, const Group& group,
                                           const std::string& server) const {
  const std::string servers = "/subscriptions/" + options_.subscription_id + "/resourceGroups/" +
                              options_.resource_group + "/providers/Microsoft.Sql/servers/";
  arm::FailoverGroup d;
  d.id = servers + server + "/failoverGroups/" + name;
  d.name = name;
  d.replication_role = both_primary_ || server == group.primary ? arm::ReplicationRole::kPrimary
                                                                : arm::ReplicationRole::kSecondary;
  d.replication_state = replication_state_;
  d.read_write_endpoint = arm::ReadWriteEndpoint{policy_, std::nullopt};
  d.databases = databases_;
  std::vector<std::string> partners = {server == group.primary ? group.secondary : group.primary};
  if (auto it = partners_.find(server); it != partners_.end()) partners = it->second;
  for (const std::string& p : partners) {
    arm::PartnerInfo info;
    info.id = servers + p;
    d.partner_servers.push_back(std::move(info));
  }
  return d;
}

FakeArm::Group* FakeArm::FindLocked(const std::string& name) {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : &it->second;
}

void FakeArm::SettleLocked() {
  if (options_.clock == nullptr) return;
  const absl::Time now = options_.clock->Now();
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    if (Group* g = FindLocked(it->first)) std::swap(g->primary, g->secondary);
    it = in_flight_.erase(it);
  }
}

FakeArm::Group* FakeArm::GroupOfServerLocked(const std::string& server) {
  for (auto& [name, g] : groups_) {
    if (g.primary == server || g.secondary == server) return &g;
  }
  return nullptr;
}

void FakeArm::AddGroup(const std::string& name, const std::string& primary,
                       const std::string& secondary) {
  absl::MutexLock lock(&mu_);
  groups_[name] = Group{primary, secondary};
}

void FakeArm::DeleteGroup(const std::string& name) {
  absl::MutexLock lock(&mu_);
  groups_.erase(name);
}

void FakeArm::SetPrimary(const std::string& server) {
  absl::MutexLock lock(&mu_);
  Group* g = GroupOfServerLocked(server);
  if (g == nullptr) {
    ADD_FAILURE() << "FakeArm::SetPrimary: no group has server " << server;
    return;
  }
  if (g->secondary == server) std::swap(g->primary, g->secondary);
}

void FakeArm::ExternalFailover(const std::string& group) {
  absl::MutexLock lock(&mu_);
  Group* g = FindLocked(group);
  if (g == nullptr) {
    ADD_FAILURE() << "FakeArm::ExternalFailover: no group " << group;
    return;
  }
  std::swap(g->primary, g->secondary);
}

void FakeArm::InFlightFailover(const std::string& group, absl::Duration remaining) {
  absl::MutexLock lock(&mu_);
  if (FindLocked(group) == nullptr) {
    ADD_FAILURE() << "FakeArm::InFlightFailover: no group " << group;
    return;
  }
  accepted_.emplace_back(group, arm::FailoverKind::kPlanned);
  in_flight_[group] =
      options_.clock == nullptr ? absl::InfiniteFuture() : options_.clock->Now() + remaining;
}

void FakeArm::SetRegionDown(bool down) {
  absl::MutexLock lock(&mu_);
  region_down_ = down;
}

void FakeArm::FailFailovers(absl::Status status, std::optional<arm::FailoverKind> kind) {
  absl::MutexLock lock(&mu_);
  fail_status_ = std::move(status);
  fail_kind_ = kind;
}

void FakeArm::QueueFailoverError(absl::Status status, bool applied) {
  absl::MutexLock lock(&mu_);
  queued_errors_.emplace_back(std::move(status), applied);
}

void FakeArm::SetGetError(const std::string& server, absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    get_errors_.erase(server);
  } else {
    get_errors_[server] = std::move(status);
  }
}

void FakeArm::OnFailover(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  on_failover_ = std::move(hook);
}

void FakeArm::Hold() {
  absl::MutexLock lock(&mu_);
  hold_ = true;
}

void FakeArm::Release() {
  absl::MutexLock lock(&mu_);
  hold_ = false;
}

bool FakeArm::AwaitHeld(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(
                                  +[](int* held) { return *held > 0; }, &held_),
                              timeout);
}

void FakeArm::SetReplicationState(const std::string& state) {
  absl::MutexLock lock(&mu_);
  replication_state_ = state;
}

void FakeArm::SetFailoverPolicy(const std::string& policy) {
  absl::MutexLock lock(&mu_);
  policy_ = policy;
}

void FakeArm::SetDatabases(std::vector<std::string> database_ids) {
  absl::MutexLock lock(&mu_);
  databases_ = std::move(database_ids);
}

void FakeArm::SetPartners(const std::string& server, std::vector<std::string> partner_names) {
  absl::MutexLock lock(&mu_);
  partners_[server] = std::move(partner_names);
}

void FakeArm::SetBothPrimary(bool both) {
  absl::MutexLock lock(&mu_);
  both_primary_ = both;
}

std::string FakeArm::Primary(const std::string& group) {
  absl::MutexLock lock(&mu_);
  SettleLocked();
  Group* g = FindLocked(group);
  return g == nullptr ? "" : g->primary;
}

std::vector<std::string> FakeArm::FailoverTargets() {
  absl::MutexLock lock(&mu_);
  return targets_;
}

int FakeArm::FailoverCalls() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(targets_.size());
}

std::vector<arm::FailoverKind> FakeArm::Accepted() {
  absl::MutexLock lock(&mu_);
  std::vector<arm::FailoverKind> kinds;
  for (const auto& [name, kind] : accepted_) kinds.push_back(kind);
  return kinds;
}

int FakeArm::Accepted(const std::string& group) {
  absl::MutexLock lock(&mu_);
  int n = 0;
  for (const auto& [name, kind] : accepted_) n += name == group ? 1 : 0;
  return n;
}

int FakeArm::AcceptedTotal() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(accepted_.size());
}

int FakeArm::Refused(arm::FailoverKind kind) {
  absl::MutexLock lock(&mu_);
  auto it = refused_.find(kind);
  return it == refused_.end() ? 0 : it->second;
}

}  // namespace foghorn::testing
