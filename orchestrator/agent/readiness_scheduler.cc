#include "orchestrator/agent/readiness_scheduler.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "orchestrator/agent/agent.h"

namespace foghorn::agent {

std::string ReadinessStateName(ReadinessState s) {
  switch (s) {
    case ReadinessState::kOk:
      return "ok";
    case ReadinessState::kWarn:
      return "warn";
    case ReadinessState::kFailing:
      return "failing";
    case ReadinessState::kUnknown:
      break;
  }
  return "unknown";
}

ReadinessScheduler::ReadinessScheduler(Deps deps, Options options)
    : deps_(std::move(deps)), options_(options) {}

ReadinessScheduler::~ReadinessScheduler() { Stop(); }

void ReadinessScheduler::SetRunbooks(const std::vector<v1::Runbook>& runbooks) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  std::map<std::string, Entry> next;
  for (const v1::Runbook& rb : runbooks) {
    Entry& e = next[GroupId(rb.group())];
    e.runbook = rb;
  }
  for (auto& [id, old] : entries_) {
    if (old.timer != 0) deps_.loop.Cancel(old.timer);
    auto it = next.find(id);
    if (it == next.end()) continue;
    it->second.last = std::move(old.last);
    it->second.running = old.running;
  }
  entries_ = std::move(next);
  // Spread the groups evenly over the interval, so n groups cost n/interval runs at a steady
  // pace rather than n at once.
  const int n = static_cast<int>(entries_.size());
  int i = 0;
  std::weak_ptr<bool> alive = alive_;
  for (auto& [id, e] : entries_) {
    const absl::Duration offset = options_.initial_delay + options_.interval * i / std::max(n, 1);
    ++i;
    std::string group_id = id;
    e.timer = deps_.loop.ScheduleAfter(offset, [this, alive, group_id] {
      if (alive.expired()) return;
      Fire(group_id);
    });
  }
}

void ReadinessScheduler::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  for (auto& [id, e] : entries_) {
    if (e.timer != 0) deps_.loop.Cancel(e.timer);
    e.timer = 0;
  }
}

void ReadinessScheduler::Fire(const std::string& group_id) {
  v1::Runbook runbook;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(group_id);
    if (stopped_ || it == entries_.end()) return;
    Entry& e = it->second;
    std::weak_ptr<bool> alive = alive_;
    // Fixed rate: the next run is due one interval after this one was.
    e.timer = deps_.loop.ScheduleAfter(options_.interval, [this, alive, group_id] {
      if (alive.expired()) return;
      Fire(group_id);
    });
    if (e.running) return;  // the previous run is still going: skip this slot
    e.running = true;
    runbook = e.runbook;
  }
  std::weak_ptr<bool> alive = alive_;
  const bool submitted =
      deps_.workers.Submit([this, alive, group_id, runbook = std::move(runbook)] {
        if (alive.expired()) return;
        RunChecks(group_id, runbook);
      });
  if (!submitted) {
    absl::MutexLock lock(&mu_);
    if (auto it = entries_.find(group_id); it != entries_.end()) it->second.running = false;
  }
}

void ReadinessScheduler::RunAllNow() {
  std::vector<std::pair<std::string, v1::Runbook>> groups;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, e] : entries_) {
      if (e.running) continue;
      e.running = true;
      groups.emplace_back(id, e.runbook);
    }
  }
  for (const auto& [id, rb] : groups) RunChecks(id, rb);
}

void ReadinessScheduler::RunChecks(const std::string& group_id, const v1::Runbook& runbook) {
  GroupReadiness result;
  for (ReadinessSource* source : deps_.sources) {
    std::vector<ReadinessCheck> checks = source->Check(runbook);
    for (ReadinessCheck& c : checks) result.checks.push_back(std::move(c));
  }
  result.checked_at = deps_.clock.Now();
  Record(group_id, std::move(result));
}

void ReadinessScheduler::Record(const std::string& group_id, GroupReadiness result) {
  std::vector<std::pair<ReadinessCheck, ReadinessState>> regressed;  // check, previous state
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(group_id);
    if (it == entries_.end()) return;  // the group went away meanwhile
    Entry& e = it->second;
    e.running = false;
    if (e.last) {
      for (const ReadinessCheck& c : result.checks) {
        if (c.state != ReadinessState::kFailing) continue;
        for (const ReadinessCheck& before : e.last->checks) {
          if (before.name == c.name &&
              (before.state == ReadinessState::kOk || before.state == ReadinessState::kWarn)) {
            regressed.emplace_back(c, before.state);
          }
        }
      }
    }
    e.last = result;
  }
  std::vector<std::string> failing;
  for (const ReadinessCheck& c : result.checks) {
    deps_.metrics.SetGauge("foghorn_readiness", {{"group", group_id}, {"check", c.name}},
                           c.state == ReadinessState::kFailing ? 0 : 1);
    if (c.state == ReadinessState::kFailing) failing.push_back(c.name);
  }
  deps_.metrics.IncrementCounter("foghorn_readiness_runs_total", {{"group", group_id}});
  if (!failing.empty()) {
    deps_.logger.Warn("readiness checks failing",
                      {{"group", group_id}, {"checks", absl::StrJoin(failing, ",")}});
  }
  for (const auto& [c, previous] : regressed) {
    executor::Notification n;
    n.event = "readiness_regressed";
    n.group_id = group_id;
    n.summary = absl::StrCat("readiness of ", group_id, " regressed: ", c.name, " was ",
                             ReadinessStateName(previous), ", now failing: ", c.detail);
    n.details_json = nlohmann::json{
        {"check", c.name},
        {"previous", ReadinessStateName(previous)},
        {"state", ReadinessStateName(c.state)},
        {"detail",
         c.detail}}.dump();
    n.at = deps_.clock.ToWall(result.checked_at);
    n.dedup_key = absl::StrCat(group_id, "/readiness/", c.name, "/",
                               absl::ToUnixSeconds(deps_.clock.ToWall(result.checked_at)));
    deps_.logger.Warn("readiness regressed",
                      {{"group", group_id}, {"check", c.name}, {"detail", c.detail}});
    deps_.notifier.Notify(std::move(n));
  }
}

std::optional<GroupReadiness> ReadinessScheduler::Get(const std::string& group_id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(group_id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.last;
}

}  // namespace foghorn::agent
