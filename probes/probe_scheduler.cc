#include "probes/probe_scheduler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::probes {

ProbeScheduler::ProbeScheduler(common::Executor& executor, Prober& prober, ProbeEventSink* sink,
                               Options options)
    : executor_(executor), prober_(prober), sink_(sink), options_(options), rng_(options.seed) {}

ProbeScheduler::~ProbeScheduler() {
  absl::MutexLock lock(&mu_);
  alive_.reset();
  for (auto& [key, p] : probes_) {
    if (p->next_timer != 0) executor_.Cancel(p->next_timer);
    if (p->timeout_timer != 0) executor_.Cancel(p->timeout_timer);
  }
}

std::string ProbeScheduler::ProbeId(const std::string& group, const std::string& name) {
  return absl::StrCat(group, "/", name);
}

absl::Duration ProbeScheduler::Jitter(absl::Duration max) {
  if (max <= absl::ZeroDuration()) return absl::ZeroDuration();
  std::uniform_int_distribution<int64_t> dist(0, absl::ToInt64Nanoseconds(max));
  return absl::Nanoseconds(dist(rng_));
}

absl::Status ProbeScheduler::AddProbe(const std::string& group, const v1::ProbeSpec& spec,
                                      ProbeContext context) {
  RETURN_IF_ERROR(ValidateProbeSpec(spec));
  ASSIGN_OR_RETURN(ProbeTiming timing, ResolveTiming(spec));
  auto config = std::make_shared<Config>();
  config->id = ProbeId(group, spec.name());
  config->group = group;
  config->spec = spec;
  config->context = std::move(context);
  config->timing = timing;

  absl::MutexLock lock(&mu_);
  if (keys_.contains(config->id)) {
    return absl::AlreadyExistsError(absl::StrCat("probe ", config->id, " already exists"));
  }
  std::uint64_t key = next_key_++;
  keys_[config->id] = key;
  auto probe = std::make_unique<Probe>(config, timing);
  Probe& p = *probe;
  probes_[key] = std::move(probe);
  ScheduleNext(key, p, executor_.clock().Now() + timing.initial_delay + Jitter(timing.jitter));
  return absl::OkStatus();
}

absl::Status ProbeScheduler::RemoveProbe(const std::string& probe_id) {
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(probe_id);
  if (it == keys_.end()) return absl::NotFoundError(absl::StrCat("probe ", probe_id, " not found"));
  auto pit = probes_.find(it->second);
  if (pit->second->next_timer != 0) executor_.Cancel(pit->second->next_timer);
  if (pit->second->timeout_timer != 0) executor_.Cancel(pit->second->timeout_timer);
  probes_.erase(pit);
  keys_.erase(it);
  return absl::OkStatus();
}

std::optional<ProbeStatus> ProbeScheduler::Status(const std::string& probe_id) const {
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(probe_id);
  if (it == keys_.end()) return std::nullopt;
  const Probe& p = *probes_.at(it->second);
  ProbeStatus s;
  s.probe_id = probe_id;
  s.state = p.machine.state();
  s.failure_streak_start = p.machine.failure_streak_start();
  s.history.assign(p.history.begin(), p.history.end());
  return s;
}

size_t ProbeScheduler::size() const {
  absl::MutexLock lock(&mu_);
  return probes_.size();
}

void ProbeScheduler::ScheduleNext(std::uint64_t key, Probe& p, absl::Time due) {
  p.next_due = due;
  std::weak_ptr<int> alive = alive_;
  p.next_timer = executor_.ScheduleAt(due, [this, alive, key]() {
    if (alive.expired()) return;
    RunAttempt(key);
  });
}

void ProbeScheduler::RunAttempt(std::uint64_t key) {
  std::shared_ptr<const Config> config;
  std::uint64_t attempt = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = probes_.find(key);
    if (it == probes_.end()) return;
    Probe& p = *it->second;
    const ProbeTiming& t = p.config->timing;
    absl::Time now = executor_.clock().Now();
    absl::Time due = p.next_due;
    absl::Time next = due + t.interval + Jitter(t.jitter);
    ScheduleNext(key, p, next < now ? now : next);
    if (p.in_flight) return;  // Skip this slot; the previous attempt is still running.
    p.in_flight = true;
    attempt = ++p.attempt;
    p.scheduled = due;
    p.started = now;
    std::weak_ptr<int> alive = alive_;
    p.timeout_timer = executor_.ScheduleAt(now + t.timeout, [this, alive, key, attempt]() {
      if (alive.expired()) return;
      ProbeResult r;
      r.outcome = ProbeOutcome::kFailure;
      Finish(key, attempt, std::move(r), /*from_timeout=*/true);
    });
    config = p.config;
  }
  std::weak_ptr<int> alive = alive_;
  prober_.Start(config->spec, config->context, config->timing.timeout,
                [this, alive, key, attempt](ProbeResult result) {
                  if (alive.expired()) return;
                  executor_.Post([this, alive, key, attempt, r = std::move(result)]() mutable {
                    if (alive.expired()) return;
                    Finish(key, attempt, std::move(r), /*from_timeout=*/false);
                  });
                });
}

void ProbeScheduler::Finish(std::uint64_t key, std::uint64_t attempt, ProbeResult result,
                            bool from_timeout) {
  ProbeEvent event;
  {
    absl::MutexLock lock(&mu_);
    auto it = probes_.find(key);
    if (it == probes_.end()) return;
    Probe& p = *it->second;
    if (!p.in_flight || p.attempt != attempt) return;  // Late result of an attempt timed out.
    p.in_flight = false;
    if (from_timeout) {
      p.timeout_timer = 0;
      result.detail =
          absl::StrCat("timeout after ", absl::FormatDuration(p.config->timing.timeout));
    } else if (p.timeout_timer != 0) {
      executor_.Cancel(p.timeout_timer);
      p.timeout_timer = 0;
    }
    result.scheduled = p.scheduled;
    result.started = p.started;
    result.finished = executor_.clock().Now();
    event.previous_state = p.machine.state();
    event.state = p.machine.Apply(result.outcome, result.started);
    event.failure_streak_start = p.machine.failure_streak_start();
    p.history.push_back(result);
    while (p.history.size() > options_.history_size) p.history.pop_front();
    event.probe_id = p.config->id;
    event.group = p.config->group;
    event.target = p.config->spec.target();
    event.metric_kind = p.config->spec.metric_kind();
    event.result = std::move(result);
  }
  if (sink_ != nullptr) sink_->OnProbeEvent(event);
}

}  // namespace foghorn::probes
