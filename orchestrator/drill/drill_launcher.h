// Runs drills in the background for the control API and the agent's drill schedule.
// DrillRunner::Run blocks for the whole drill (the hold included), so each drill gets its own
// thread; the launcher names the drill before it starts (so StartDrill can answer at once), keeps
// one drill per group at a time, makes a request_id idempotent across calls, remembers what it
// started, and cancels and joins its drills on shutdown (a cancelled drill ends its hold and fails
// back). At start-up it resumes the drills a stopped agent left unfinished (ResumeUnfinished).
//
// Threading contract: every public method is thread-safe (one mutex, mu_, guards the entries and
// is never held across a drill, a journal read or an ARM call). Start() blocks only on one journal
// read and returns once the drill's thread exists; each drill runs on its own std::thread; Plan()
// and CheckReadiness() run on the caller's thread (the API calls them from its operators' and
// readiness pools) and block on ARM reads and dials for seconds. Shutdown() must not be called
// from a drill thread. Status codes are listed on each method.
#ifndef FOGHORN_ORCHESTRATOR_DRILL_DRILL_LAUNCHER_H_
#define FOGHORN_ORCHESTRATOR_DRILL_DRILL_LAUNCHER_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/drill/drill_runner.h"
#include "orchestrator/drill/report.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::drill {

class DrillLauncher {
 public:
  struct Deps {
    DrillRunner& runner;
    // The same journal the runner writes (for request_id look-ups).
    journal::Journal& journal;
    // Where the runner saves reports; nullptr when they are not kept.
    ReportStore* reports = nullptr;
    const common::Clock& clock;
    common::Logger logger;
  };

  // What Start did.
  struct Launch {
    std::string drill_id;
    std::string request_id;
    // False when request_id matched an earlier drill: nothing new was started.
    bool created = true;
    // The earlier drill's journal operation, when it was journaled already.
    std::optional<journal::OperationRecord> existing;
  };

  // A drill this launcher started.
  struct Info {
    std::string drill_id;
    std::string group_id;
    std::string request_id;
    std::string requested_by;
    std::string reason;
    absl::Time started_at = absl::InfinitePast();
    bool running = true;
    // Set once finished: the report, or why the drill could not run.
    std::optional<DrillReport> report;
    absl::Status error;
  };

  // Every reference in `deps` must outlive the launcher.
  explicit DrillLauncher(Deps deps) : deps_(std::move(deps)) {}
  // Shutdown().
  ~DrillLauncher();
  DrillLauncher(const DrillLauncher&) = delete;
  DrillLauncher& operator=(const DrillLauncher&) = delete;

  // Starts a (non dry-run) drill of `runbook`'s group on its own thread and returns at once with
  // its id. request.drill_id and request.cancel are set by the launcher. Errors: INVALID_ARGUMENT
  // for a dry run or a runbook without servers; ABORTED while a drill of the group runs;
  // ALREADY_EXISTS when request_id names an operation of another group or one that is not a
  // drill; UNAVAILABLE when the journal cannot be read or the launcher is shut down. A
  // request_id that matches an earlier drill of the same group returns it (created = false).
  // Blocks only on one journal read. Thread-safe.
  absl::StatusOr<Launch> Start(const v1::Runbook& runbook, DrillRequest request);

  // Resumes every drill the journal shows unfinished (operations of kind "drill" a stopped agent
  // left; DrillRunner::Resume says how: fail back when it had failed over, else end as aborted),
  // each on its own thread like a started drill, listed by Drills() and Find() under the drill id
  // it ran as. Call once at start-up, after the agent started (it leaves drill operations to this
  // launcher and keeps their group paused) and before anyone can Start a drill. A drill whose
  // group no runbook in `runbooks` names is left unfinished (logged): its servers are unknown.
  // Returns the ids of the drills resumed. UNAVAILABLE when the journal cannot be read or the
  // launcher is shut down. Thread-safe.
  absl::StatusOr<std::vector<std::string>> ResumeUnfinished(
      const std::vector<v1::Runbook>& runbooks);

  // The plan of a dry run (DrillRunner::Run with dry_run set), on the calling thread: blocks on
  // the read-only checks.
  absl::StatusOr<DrillReport> Plan(const v1::Runbook& runbook, DrillRequest request);

  // The readiness checks alone, on the calling thread.
  ReadinessReport CheckReadiness(const v1::Runbook& runbook);

  // Drills started since this launcher was created (running and finished), newest first.
  std::vector<Info> Drills() const;
  // One of them by id; nullopt when this launcher did not start it.
  std::optional<Info> Find(const std::string& drill_id) const;

  ReportStore* reports() const { return deps_.reports; }

  // Asks every running drill to stop: its hold ends and the group fails back. Returns at once.
  void CancelAll();
  // Cancels, then waits for every drill thread; later Starts are UNAVAILABLE. Idempotent.
  void Shutdown();
  // Waits until no drill runs, up to `timeout` (real time). True when idle.
  bool AwaitIdle(absl::Duration timeout) const;

 private:
  struct Entry {
    Info info;
    std::atomic<bool> cancel{false};
    std::thread thread;
  };

  void RunEntry(Entry* e, v1::Runbook runbook, DrillRequest request);
  void ResumeEntry(Entry* e, v1::Runbook runbook, journal::OperationRecord op);
  void EntryDone(Entry* e, absl::StatusOr<DrillReport> r) ABSL_LOCKS_EXCLUDED(mu_);

  Deps deps_;
  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::drill

#endif  // FOGHORN_ORCHESTRATOR_DRILL_DRILL_LAUNCHER_H_
