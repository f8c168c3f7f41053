// The Journal on SQLite in WAL mode with synchronous=FULL.
//
// Durability depends on what a record guards:
// * Operations, steps and control state are written synchronously: a write that returned OK
//   survives a crash of the agent or the machine, so the caller may perform the side effect it
//   journaled.
// * Decisions and audit records guard no side effect. RecordDecision and Audit validate and stamp
//   the record, queue it and return: a background writer thread commits the queue in batches (one
//   transaction, one fsync, per batch), so a mass outage's thousands of decisions cost the control
//   loop no fsync each. OK means accepted; a crash loses what was accepted and not yet committed
//   (normally the last few milliseconds), an orderly destruction commits everything.
//
// Reads run on a second connection: under WAL a read sees every write that returned and never
// waits for a commit (an fsync) in progress, so the control loop's reads do not queue behind the
// durable writes of many operations running at once.
#ifndef FOGHORN_ORCHESTRATOR_JOURNAL_SQLITE_JOURNAL_H_
#define FOGHORN_ORCHESTRATOR_JOURNAL_SQLITE_JOURNAL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/journal/journal.h"

struct sqlite3;

namespace foghorn::journal {

class SqliteJournal final : public Journal {
 public:
  struct Options {
    // Decisions and audit records waiting for the writer, at most. A write that finds the queue
    // full commits the oldest batch itself before queuing its record: it pays what a synchronous
    // write costs, memory stays bounded and nothing accepted is dropped. When that commit fails
    // too (the disk is failing), the record is refused with UNAVAILABLE, counted and logged.
    std::size_t max_queued = 8192;
    // Records per transaction.
    std::size_t max_batch = 256;
    // false: no writer thread; queued records are committed only by Flush() (and the reads and
    // the destructor that call it) or by a write that finds the queue full. Batches are then
    // deterministic (tests, tools).
    bool background_writer = true;
    // Optional: writer failures and refused or lost records are logged here and counted on
    // `metrics` (foghorn_journal_batches_total{result}, foghorn_journal_records_refused_total).
    std::optional<common::Logger> logger;
    common::MetricsRegistry* metrics = nullptr;  // not owned; must outlive the journal
    // Rows Prune deletes per transaction, at most: a durable write (a step) that arrives while
    // Prune runs waits for one such transaction, never for the whole prune.
    std::size_t max_prune_batch = 5000;
  };

  // What the writers have done (for tests and diagnostics).
  struct WriterStats {
    std::uint64_t sync_writes = 0;        // synchronous writes (operations, steps, prune
                                          // batches) committed
    std::uint64_t sync_transactions = 0;  // transactions (fsyncs) that committed them
    std::uint64_t queued = 0;             // records waiting now
    std::uint64_t committed = 0;          // records committed by batches
    std::uint64_t batches = 0;            // batch transactions committed
    std::uint64_t failed_batches = 0;  // batch transactions that failed (their records stay queued)
    std::uint64_t refused = 0;         // records refused because the queue was full and stuck
    std::uint64_t lost = 0;            // records the destructor could not commit
    std::uint64_t prune_batches = 0;   // Prune's delete transactions committed
  };

  // Opens (creating if needed) the journal at `path` and migrates its schema forward (a journal of
  // an older release opens with every row intact). UNAVAILABLE when the file cannot be opened or
  // is not a foghorn journal; FAILED_PRECONDITION, naming both schema versions, when a newer
  // release wrote it (or its version is unreadable): such a file is refused before anything is
  // written to it and stays byte for byte as it was. `clock` stamps records and must outlive the
  // journal.
  static absl::StatusOr<std::unique_ptr<SqliteJournal>> Open(const std::string& path,
                                                             const common::Clock& clock);
  static absl::StatusOr<std::unique_ptr<SqliteJournal>> Open(const std::string& path,
                                                             const common::Clock& clock,
                                                             Options options);
  // Stops the writer and commits every queued record (logged and counted as lost if it cannot).
  ~SqliteJournal() override;

  // Commits every decision and audit record accepted before the call. Decisions() and AuditTrail()
  // call it first, so a caller reads its own writes. UNAVAILABLE when a commit fails; the records
  // stay queued and the writer retries them.
  absl::Status Flush();

  WriterStats writer_stats();

  absl::StatusOr<Created> CreateOperation(OperationRecord op) override;
  absl::Status UpdateOperation(const std::string& id, OperationState state,
                               const std::string& outcome) override;
  absl::Status SetArmOperationUrl(const std::string& id, const std::string& url) override;
  absl::StatusOr<OperationRecord> GetOperation(const std::string& id) override;
  absl::StatusOr<std::optional<OperationRecord>> FindByRequestId(
      const std::string& request_id) override;
  absl::StatusOr<std::vector<OperationRecord>> ListOperations(const std::string& group_id,
                                                              int limit) override;
  absl::StatusOr<std::vector<OperationRecord>> UnfinishedOperations() override;
  absl::StatusOr<StepRecord> BeginStep(const std::string& operation_id, const std::string& name,
                                       const std::string& detail) override;
  absl::Status EndStep(std::int64_t step_id, StepState state, const std::string& detail) override;
  absl::StatusOr<std::vector<StepRecord>> Steps(const std::string& operation_id) override;
  absl::Status RecordDecision(DecisionRecord d) override;
  absl::StatusOr<std::vector<DecisionRecord>> Decisions(const std::string& group_id,
                                                        int limit) override;
  absl::Status Audit(AuditRecord a) override;
  absl::StatusOr<std::vector<AuditRecord>> AuditTrail(int limit) override;
  absl::StatusOr<std::optional<absl::Time>> LastSucceededFailover(
      const std::string& group_id) override;
  absl::Status PutControlState(const std::map<std::string, std::string>& entries) override;
  absl::StatusOr<std::map<std::string, std::string>> ControlState() override;
  // Commits what was accepted before the call (Flush), then deletes in transactions of at most
  // Options::max_prune_batch rows, each through the synchronous write path (group commit), so
  // step writes interleave with it. Thresholds, and whether anything is due at all, are read on
  // the read connection: a run with nothing to delete writes nothing.
  absl::StatusOr<PruneResult> Prune(const RetentionPolicy& policy, absl::Time now) override;

 private:
  using Pending = std::variant<DecisionRecord, AuditRecord>;

  // A synchronous write waiting for its transaction (see RunSynchronous).
  struct SyncWriter {
    absl::FunctionRef<absl::Status()> write;  // runs on the leader's thread with mu_ held
    absl::Status status;                      // set by the leader before `done`
    bool done = false;                        // guarded by writers_mu_
    bool leader = false;                      // guarded by writers_mu_
  };
  static constexpr std::size_t kMaxGroupWrites = 128;

  SqliteJournal(sqlite3* db, const common::Clock& clock, Options options)
      : options_(std::move(options)), db_(db), clock_(clock) {}
  // Runs `write` (a synchronous write: operations, steps) durably and returns its status once the
  // transaction that holds it committed. Writes from threads that arrive while another commits
  // share the next transaction (group commit, as leveldb's DBImpl::Write): each in its own
  // savepoint, so a failing write undoes only itself, and one fsync for all of them. Still
  // durable when it returns OK; a failed commit fails every write of the group.
  absl::Status RunSynchronous(absl::FunctionRef<absl::Status()> write)
      ABSL_LOCKS_EXCLUDED(mu_, writers_mu_);
  template <typename T>
  absl::StatusOr<T> Synchronously(absl::FunctionRef<absl::StatusOr<T>()> write) {
    std::optional<absl::StatusOr<T>> out;
    absl::Status s = RunSynchronous([&] {
      out = write();
      return out->status();
    });
    if (!s.ok()) return s;
    return *std::move(out);
  }
  void CommitGroupLocked(const std::vector<SyncWriter*>& group) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Created> CreateOperationLocked(OperationRecord op)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status UpdateOperationLocked(const std::string& id, OperationState state,
                                     const std::string& outcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<StepRecord> BeginStepLocked(const std::string& operation_id,
                                             const std::string& name, const std::string& detail)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Queues a validated, stamped record for the writer (see Options::max_queued when full).
  absl::Status Enqueue(Pending record) ABSL_LOCKS_EXCLUDED(mu_, queue_mu_);
  // Takes the oldest batch off the queue and commits it in one transaction; on failure puts it
  // back at the front. Returns how many records it committed. mu_ is held from the pop to the
  // commit, so batches reach the database in queue order.
  absl::StatusOr<std::size_t> CommitBatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteBatchLocked(const std::vector<Pending>& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriterLoop();
  absl::StatusOr<OperationRecord> GetOperationLocked(const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<OperationRecord>> QueryOperations(const std::string& where_sql,
                                                               const std::vector<std::string>& args,
                                                               int limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // On `db`, whose mutex the caller holds.
  static absl::StatusOr<std::vector<OperationRecord>> QueryOperationsOn(
      sqlite3* db, const std::string& where_sql, const std::vector<std::string>& args, int limit);

  const Options options_;
  // Lock order: mu_ before queue_mu_.
  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  const common::Clock& clock_;
  std::uint64_t id_counter_ ABSL_GUARDED_BY(mu_) = 0;

  // The read connection (WAL: reads never wait for a commit on db_). Taken without mu_, or
  // after it.
  absl::Mutex read_mu_ ABSL_ACQUIRED_AFTER(mu_);
  sqlite3* read_db_ ABSL_GUARDED_BY(read_mu_) = nullptr;

  // Synchronous writers waiting for a transaction, oldest first; the front one leads. Never held
  // together with mu_.
  absl::Mutex writers_mu_;
  std::deque<SyncWriter*> writers_ ABSL_GUARDED_BY(writers_mu_);

  absl::Mutex queue_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::deque<Pending> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  WriterStats stats_ ABSL_GUARDED_BY(queue_mu_);
  std::thread writer_;  // started by Open() when options_.background_writer
};

}  // namespace foghorn::journal

#endif  // FOGHORN_ORCHESTRATOR_JOURNAL_SQLITE_JOURNAL_H_
