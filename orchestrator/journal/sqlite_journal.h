// The Journal on SQLite in WAL mode with synchronous=FULL: a write that returned OK survives a
// crash of the agent or the machine.
#ifndef FOGHORN_ORCHESTRATOR_JOURNAL_SQLITE_JOURNAL_H_
#define FOGHORN_ORCHESTRATOR_JOURNAL_SQLITE_JOURNAL_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/journal/journal.h"

struct sqlite3;

namespace foghorn::journal {

class SqliteJournal final : public Journal {
 public:
  // Opens (creating if needed) the journal at `path` and migrates its schema. UNAVAILABLE when the
  // file cannot be opened or is not a foghorn journal. `clock` stamps records and must outlive the
  // journal.
  static absl::StatusOr<std::unique_ptr<SqliteJournal>> Open(const std::string& path,
                                                             const common::Clock& clock);
  ~SqliteJournal() override;

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

 private:
  SqliteJournal(sqlite3* db, const common::Clock& clock) : db_(db), clock_(clock) {}
  absl::StatusOr<OperationRecord> GetOperationLocked(const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<OperationRecord>> QueryOperations(const std::string& where_sql,
                                                               const std::vector<std::string>& args,
                                                               int limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  const common::Clock& clock_;
  std::uint64_t id_counter_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace foghorn::journal

#endif  // FOGHORN_ORCHESTRATOR_JOURNAL_SQLITE_JOURNAL_H_
