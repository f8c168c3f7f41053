#include "orchestrator/api/refusal_audit.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orchestrator/api/request_limits.h"

namespace foghorn::api {
namespace {

constexpr char kUnauthenticated[] = "unauthenticated";
// Distinct addresses a summary names.
constexpr std::size_t kMaxAddresses = 8;

}  // namespace

RefusalAuditor::RefusalAuditor(journal::Journal& journal, const common::Clock& clock,
                               common::Logger logger, common::MetricsRegistry& metrics,
                               Options options)
    : journal_(journal),
      clock_(clock),
      logger_(std::move(logger)),
      metrics_(metrics),
      options_(options) {
  writer_ = std::thread([this] { Run(); });
}

RefusalAuditor::~RefusalAuditor() { Shutdown(); }

absl::Status RefusalAuditor::Refused(const Caller& caller, const std::string& method,
                                     const std::string& target, const absl::Status& refusal) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::OkStatus();
  const Key key{caller.authenticated ? caller.name : std::string(kUnauthenticated), method};
  Window& w = windows_[key];
  if (w.start == absl::InfinitePast() || now - w.start >= options_.window || now < w.start) {
    // The previous window's count goes out first; if the queue cannot take it, it stays and this
    // refusal joins it.
    if (w.suppressed == 0 || EmitSummaryLocked(key, w, now)) {
      w.start = now;
      w.count = 0;
      w.addresses.clear();
    }
  }
  if (global_start_ == absl::InfinitePast() || now - global_start_ >= options_.window ||
      now < global_start_) {
    global_start_ = now;
    global_rows_ = 0;
  }
  ++w.count;
  w.last_outcome = refusal.ToString();
  if (!caller.authenticated && w.addresses.size() < kMaxAddresses) w.addresses.insert(caller.name);
  const bool row = w.count <= options_.burst && global_rows_ < options_.max_rows_per_window &&
                   static_cast<int>(queue_.size()) < options_.queue_capacity;
  if (!row) {
    if (w.suppressed == 0) w.first_suppressed = now;
    ++w.suppressed;
    if (static_cast<int>(queue_.size()) >= options_.queue_capacity) {
      metrics_.IncrementCounter("foghorn_api_refusals_shed_total", {{"method", method}});
      return absl::ResourceExhaustedError(
          "too many refused calls are waiting to be audited; retry later");
    }
    metrics_.IncrementCounter("foghorn_api_refusals_aggregated_total", {{"method", method}});
    return absl::OkStatus();
  }
  ++global_rows_;
  journal::AuditRecord r;
  r.at = clock_.WallNow();
  r.actor = caller.authenticated ? caller.name : absl::StrCat(kUnauthenticated, "@", caller.name);
  r.action = method;
  r.target = EchoForMessage(target);
  r.detail = "refused";
  r.outcome = refusal.ToString();
  r.refusal = true;
  queue_.push_back(std::move(r));
  return absl::OkStatus();
}

bool RefusalAuditor::EmitSummaryLocked(const Key& key, Window& w, absl::Time now) {
  if (w.suppressed == 0) return true;
  if (static_cast<int>(queue_.size()) >= options_.queue_capacity) return false;
  journal::AuditRecord r;
  r.at = clock_.WallNow();
  r.actor = key.first;
  r.action = key.second;
  r.detail = absl::StrCat(
      "refused ", w.suppressed, " more time", w.suppressed == 1 ? "" : "s", " between ",
      absl::FormatTime(absl::RFC3339_sec, clock_.ToWall(w.first_suppressed), absl::UTCTimeZone()),
      " and ", absl::FormatTime(absl::RFC3339_sec, clock_.ToWall(now), absl::UTCTimeZone()),
      " (individual rows are limited to ", options_.burst, " per caller and ",
      options_.max_rows_per_window, " in all per ", absl::FormatDuration(options_.window), ")");
  if (!w.addresses.empty()) {
    absl::StrAppend(&r.detail, "; from ", absl::StrJoin(w.addresses, ", "),
                    w.addresses.size() >= kMaxAddresses ? " and others" : "");
  }
  r.outcome = w.last_outcome;
  r.refusal = true;
  queue_.push_back(std::move(r));
  w.suppressed = 0;
  return true;
}

void RefusalAuditor::CloseEndedWindowsLocked(absl::Time now, bool all) {
  for (auto it = windows_.begin(); it != windows_.end();) {
    Window& w = it->second;
    const bool ended = all || now - w.start >= options_.window || now < w.start;
    if (!ended) {
      ++it;
      continue;
    }
    if (!EmitSummaryLocked(it->first, w, now)) break;  // the queue is full: try again later
    it = windows_.erase(it);
  }
}

void RefusalAuditor::Flush() {
  absl::MutexLock lock(&mu_);
  if (stopped_) return;
  CloseEndedWindowsLocked(clock_.Now(), /*all=*/false);
  flush_requested_ = true;
  mu_.Await(absl::Condition(
      +[](RefusalAuditor* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return self->stopped_ || (self->queue_.empty() && self->writing_ == 0);
      },
      this));
}

void RefusalAuditor::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      // Another caller is stopping the writer; wait for it.
      mu_.Await(absl::Condition(&stopped_));
      return;
    }
    // Queue what was counted; windows that cannot fit are logged here.
    CloseEndedWindowsLocked(clock_.Now(), /*all=*/true);
    for (const auto& [key, w] : windows_) {
      if (w.suppressed == 0) continue;
      logger_.Error("refused calls not audited at shutdown: the audit queue was full",
                    {{"actor", key.first},
                     {"action", key.second},
                     {"count", std::to_string(w.suppressed)},
                     {"outcome", w.last_outcome}});
    }
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

void RefusalAuditor::Run() {
  while (true) {
    std::vector<journal::AuditRecord> batch;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](RefusalAuditor* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 return self->stopping_ || self->flush_requested_ ||
                                        !self->queue_.empty();
                               },
                               this),
                           options_.flush_interval);
      flush_requested_ = false;
      CloseEndedWindowsLocked(clock_.Now(), /*all=*/false);
      if (queue_.empty() && stopping_) return;
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
      writing_ = static_cast<int>(batch.size());
    }
    for (journal::AuditRecord& r : batch) {
      absl::Status s = journal_.Audit(r);
      if (!s.ok()) {
        logger_.Error("cannot write the audit trail",
                      {{"action", r.action}, {"actor", r.actor}, {"error", s.ToString()}});
      }
    }
    absl::MutexLock lock(&mu_);
    writing_ = 0;
  }
}

}  // namespace foghorn::api
