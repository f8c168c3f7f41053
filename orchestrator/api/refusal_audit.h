// The audit trail of refused calls. Every call to a mutating method that authentication,
// authorization or request validation refuses is audited, but no caller may turn refusals into an
// unbounded stream of fsync'd rows that competes with the journal writes an operation needs, or
// that pushes real actions out of the trail. So:
// - refusals are written by one background thread from a bounded queue;
// - each key gets a few individual rows per window, and all keys together at most
//   `max_rows_per_window`; beyond that refusals are counted and written as one summary row per
//   key ("refused N more times") when the window ends;
// - keys are (caller, method) for callers with a token (a bounded set: the configured names) and
//   (unauthenticated, method) for everyone without one, whatever their address, so no number of
//   addresses or connections adds keys (the address is kept in the individual rows);
// - a refusal that finds the queue full is still counted, and the call is answered
//   RESOURCE_EXHAUSTED;
// - rows are marked journal::AuditRecord::refusal, which the journal's retention counts apart.
//
// Threading: Refused() is safe from any thread and never blocks on I/O (a short critical
// section); the writer thread calls Journal::Audit. Flush() and Shutdown() may be called from
// any thread but not from the writer.
#ifndef FOGHORN_ORCHESTRATOR_API_REFUSAL_AUDIT_H_
#define FOGHORN_ORCHESTRATOR_API_REFUSAL_AUDIT_H_

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::api {

class RefusalAuditor {
 public:
  struct Options {
    // Audit rows waiting for the writer. A refusal that finds the queue full is counted (it
    // appears in its key's summary row) and Refused() returns RESOURCE_EXHAUSTED.
    int queue_capacity = 1024;
    // Individual rows per key and window; the rest are counted.
    int burst = 5;
    // Individual rows per window over all keys.
    int max_rows_per_window = 100;
    absl::Duration window = absl::Minutes(1);
    // How often the writer thread closes the windows that ended (real time; the windows
    // themselves are measured on the injected clock).
    absl::Duration flush_interval = absl::Seconds(5);
  };

  // Who was refused: a token's name, or (authenticated = false) a caller without a valid token,
  // named by its address.
  struct Caller {
    std::string name;
    bool authenticated = false;
  };

  RefusalAuditor(journal::Journal& journal, const common::Clock& clock, common::Logger logger,
                 common::MetricsRegistry& metrics, Options options);
  // Shutdown().
  ~RefusalAuditor();
  RefusalAuditor(const RefusalAuditor&) = delete;
  RefusalAuditor& operator=(const RefusalAuditor&) = delete;

  // Records that `caller` was refused `method` on `target` with `refusal`. OK when the refusal
  // was queued or counted; RESOURCE_EXHAUSTED when the queue is full (the refusal is counted).
  absl::Status Refused(const Caller& caller, const std::string& method, const std::string& target,
                       const absl::Status& refusal);

  // Queues a summary row for every window that has ended and waits until the queue is written.
  void Flush();
  // Writes every pending count as a summary row (windows still open included), drains the
  // queue and stops the writer. Later refusals are dropped. Idempotent.
  void Shutdown();

 private:
  struct Window {
    absl::Time start = absl::InfinitePast();
    int count = 0;
    std::int64_t suppressed = 0;
    absl::Time first_suppressed = absl::InfinitePast();
    std::string last_outcome;
    // Up to a few distinct addresses of unauthenticated callers, for the summary.
    std::set<std::string> addresses;
  };
  using Key = std::pair<std::string, std::string>;  // (caller or "unauthenticated", method)

  // Queues the summary row of `key`'s window when it counted refusals. Returns false when the
  // queue is full (the count stays).
  bool EmitSummaryLocked(const Key& key, Window& w, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseEndedWindowsLocked(absl::Time now, bool all) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Run();

  journal::Journal& journal_;
  const common::Clock& clock_;
  common::Logger logger_;
  common::MetricsRegistry& metrics_;
  const Options options_;

  absl::Mutex mu_;
  std::deque<journal::AuditRecord> queue_ ABSL_GUARDED_BY(mu_);
  std::map<Key, Window> windows_ ABSL_GUARDED_BY(mu_);
  // The window of the global row budget.
  absl::Time global_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int global_rows_ ABSL_GUARDED_BY(mu_) = 0;
  // Records taken off the queue and not yet written.
  int writing_ ABSL_GUARDED_BY(mu_) = 0;
  bool flush_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_REFUSAL_AUDIT_H_
