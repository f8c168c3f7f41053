#include "probes/health_tracker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "orchestrator/common/status_macros.h"
#include "probes/probe_config.h"

namespace foghorn::probes {
namespace {

const char* ModeName(v1::QuorumMode mode) {
  switch (mode) {
    case v1::QUORUM_MODE_ANY:
      return "any";
    case v1::QUORUM_MODE_K_OF_N:
      return "k-of-n";
    default:
      return "all";
  }
}

bool HasOpinion(v1::Verdict v) { return v == v1::VERDICT_HEALTHY || v == v1::VERDICT_UNHEALTHY; }

}  // namespace

HealthTracker::HealthTracker(const common::Clock& clock, VerdictSink* sink, Options options)
    : clock_(clock), sink_(sink), options_(options) {}

std::string HealthTracker::TargetKey(const std::string& group, v1::ProbeTarget target) {
  return absl::StrCat(group, "#", static_cast<int>(target));
}

absl::Status HealthTracker::AddRule(const std::string& group, const v1::HealthRule& rule) {
  RETURN_IF_ERROR(ValidateHealthRule(rule));
  auto t = std::make_unique<Target>();
  t->health.group = group;
  t->health.target = rule.target();
  t->mode = rule.quorum() == v1::QUORUM_MODE_UNSPECIFIED ? v1::QUORUM_MODE_ALL : rule.quorum();
  t->k = rule.k();
  for (const std::string& name : rule.probes())
    t->probe_ids.push_back(absl::StrCat(group, "/", name));

  std::vector<VerdictEvent> events;
  {
    absl::MutexLock lock(&mu_);
    std::string key = TargetKey(group, rule.target());
    if (targets_.contains(key)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "health rule for ", group, " ", v1::ProbeTarget_Name(rule.target()), " already exists"));
    }
    Target* raw = t.get();
    targets_[key] = std::move(t);
    for (const std::string& id : raw->probe_ids) by_probe_[id].push_back(raw);
    raw->health.since = clock_.Now();
    Recompute(*raw);
    Settle({raw}, &events);
  }
  if (sink_ != nullptr) {
    for (const VerdictEvent& e : events) sink_->OnVerdictChange(e);
  }
  return absl::OkStatus();
}

void HealthTracker::RemoveGroup(const std::string& group) {
  absl::MutexLock lock(&mu_);
  std::string prefix = absl::StrCat(group, "/");
  for (auto it = by_probe_.begin(); it != by_probe_.end();) {
    if (it->first.rfind(prefix, 0) == 0) {
      by_probe_.erase(it++);
    } else {
      ++it;
    }
  }
  for (auto it = probes_.begin(); it != probes_.end();) {
    if (it->first.rfind(prefix, 0) == 0) {
      probes_.erase(it++);
    } else {
      ++it;
    }
  }
  for (auto it = targets_.begin(); it != targets_.end();) {
    if (it->second->health.group == group) {
      if (HasOpinion(it->second->health.raw_verdict)) --with_opinion_;
      if (it->second->health.raw_verdict == v1::VERDICT_UNHEALTHY) --raw_unhealthy_;
      targets_.erase(it++);
    } else {
      ++it;
    }
  }
  lag_.erase(group);
  impaired_ = ComputeImpaired();
}

void HealthTracker::OnProbeEvent(const ProbeEvent& event) {
  std::vector<VerdictEvent> events;
  {
    absl::MutexLock lock(&mu_);
    if (event.metric_kind == v1::METRIC_KIND_REPLICATION_LAG_SECONDS &&
        event.result.metric.has_value() && event.result.outcome != ProbeOutcome::kUnknown) {
      LagSample& s = lag_[event.group];
      if (event.result.started >= s.sampled_at) {
        s = LagSample{*event.result.metric, event.result.started, event.probe_id};
      }
    }
    ProbeView& view = probes_[event.probe_id];
    bool changed =
        view.state != event.state || view.failure_streak_start != event.failure_streak_start;
    view.state = event.state;
    view.failure_streak_start = event.failure_streak_start;
    if (!changed) return;
    auto it = by_probe_.find(event.probe_id);
    if (it == by_probe_.end()) return;
    for (Target* t : it->second) Recompute(*t);
    Settle(it->second, &events);
  }
  if (sink_ != nullptr) {
    for (const VerdictEvent& e : events) sink_->OnVerdictChange(e);
  }
}

void HealthTracker::Recompute(Target& t) {
  TargetHealth& h = t.health;
  std::vector<absl::Time> streaks;
  int voting = 0;
  int abstaining = 0;
  for (const std::string& id : t.probe_ids) {
    auto it = probes_.find(id);
    ProbeState s = it == probes_.end() ? ProbeState::kUnknown : it->second.state;
    if (s == ProbeState::kUnknown) {
      ++abstaining;
      continue;
    }
    ++voting;
    if (s == ProbeState::kUnhealthy) streaks.push_back(it->second.failure_streak_start);
  }
  int unhealthy = static_cast<int>(streaks.size());
  int needed = 0;
  switch (t.mode) {
    case v1::QUORUM_MODE_ANY:
      needed = 1;
      break;
    case v1::QUORUM_MODE_K_OF_N:
      needed = std::max(1, t.k);
      break;
    default:
      needed = voting;
      break;
  }
  v1::Verdict raw = v1::VERDICT_HEALTHY;
  if (voting == 0) {
    raw = v1::VERDICT_UNKNOWN;
  } else if (unhealthy >= needed && needed >= 1) {
    raw = v1::VERDICT_UNHEALTHY;
  }
  if (HasOpinion(h.raw_verdict)) --with_opinion_;
  if (h.raw_verdict == v1::VERDICT_UNHEALTHY) --raw_unhealthy_;
  if (HasOpinion(raw)) ++with_opinion_;
  if (raw == v1::VERDICT_UNHEALTHY) ++raw_unhealthy_;
  h.raw_verdict = raw;
  h.voting = voting;
  h.unhealthy = unhealthy;
  h.abstaining = abstaining;
  if (raw == v1::VERDICT_UNHEALTHY) {
    std::sort(streaks.begin(), streaks.end());
    h.failure_streak_start = streaks[needed - 1];
  } else {
    h.failure_streak_start = absl::InfinitePast();
  }
}

bool HealthTracker::ComputeImpaired() const {
  if (with_opinion_ < options_.impairment_min_targets || with_opinion_ == 0) return false;
  return static_cast<double>(raw_unhealthy_) >=
         options_.impairment_fraction * static_cast<double>(with_opinion_);
}

void HealthTracker::Publish(Target& t, absl::Time now, std::vector<VerdictEvent>* out) {
  TargetHealth& h = t.health;
  v1::Verdict effective = h.raw_verdict;
  if (effective == v1::VERDICT_UNHEALTHY && impaired_) effective = v1::VERDICT_IMPAIRED;
  if (effective == h.verdict) return;
  VerdictEvent e;
  e.group = h.group;
  e.target = h.target;
  e.previous = h.verdict;
  e.verdict = effective;
  e.at = now;
  e.failure_streak_start = h.failure_streak_start;
  e.reason = absl::StrCat(h.unhealthy, " of ", h.voting, " voting probes unhealthy, ", h.abstaining,
                          " abstaining (mode ", ModeName(t.mode), ")");
  if (effective == v1::VERDICT_IMPAIRED) {
    absl::StrAppend(&e.reason, "; ", raw_unhealthy_, " of ", with_opinion_,
                    " watched targets unhealthy: vantage impaired");
  }
  h.verdict = effective;
  h.since = now;
  out->push_back(std::move(e));
}

void HealthTracker::Settle(const std::vector<Target*>& changed, std::vector<VerdictEvent>* out) {
  absl::Time now = clock_.Now();
  bool impaired = ComputeImpaired();
  if (impaired != impaired_) {
    impaired_ = impaired;
    for (auto& [key, t] : targets_) Publish(*t, now, out);
    return;
  }
  for (Target* t : changed) Publish(*t, now, out);
}

std::optional<ProbeState> HealthTracker::ProbeStateOf(const std::string& probe_id) const {
  absl::MutexLock lock(&mu_);
  auto it = probes_.find(probe_id);
  if (it == probes_.end()) return std::nullopt;
  return it->second.state;
}

std::optional<TargetHealth> HealthTracker::Get(const std::string& group,
                                               v1::ProbeTarget target) const {
  absl::MutexLock lock(&mu_);
  auto it = targets_.find(TargetKey(group, target));
  if (it == targets_.end()) return std::nullopt;
  return it->second->health;
}

std::optional<LagSample> HealthTracker::ReplicationLag(const std::string& group) const {
  absl::MutexLock lock(&mu_);
  auto it = lag_.find(group);
  if (it == lag_.end()) return std::nullopt;
  return it->second;
}

bool HealthTracker::impaired() const {
  absl::MutexLock lock(&mu_);
  return impaired_;
}

}  // namespace foghorn::probes
