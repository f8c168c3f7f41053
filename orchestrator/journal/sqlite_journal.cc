#include "orchestrator/journal/sqlite_journal.h"

#include <sqlite3.h>

#include <algorithm>
#include <random>
#include <utility>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fmt/format.h"
#include "orchestrator/common/status_macros.h"
#include "orchestrator/common/text.h"

namespace foghorn::journal {
namespace {

// 1: the first release. 2: audit.refusal (refused calls counted apart, RetentionPolicy).
constexpr int kSchemaVersion = 2;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS operations(
  id TEXT PRIMARY KEY,
  group_id TEXT NOT NULL,
  request_id TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL,
  target_server TEXT NOT NULL DEFAULT '',
  requested_by TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  updated_us INTEGER NOT NULL,
  arm_operation_url TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL DEFAULT '');
CREATE UNIQUE INDEX IF NOT EXISTS operations_by_request ON operations(request_id)
  WHERE request_id != '';
CREATE INDEX IF NOT EXISTS operations_by_group ON operations(group_id, created_us);
CREATE INDEX IF NOT EXISTS operations_by_state ON operations(state);
CREATE TABLE IF NOT EXISTS steps(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  operation_id TEXT NOT NULL REFERENCES operations(id),
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  started_us INTEGER NOT NULL,
  finished_us INTEGER);
CREATE INDEX IF NOT EXISTS steps_by_operation ON steps(operation_id, seq);
CREATE TABLE IF NOT EXISTS decisions(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  group_id TEXT NOT NULL,
  at_us INTEGER NOT NULL,
  state TEXT NOT NULL,
  action TEXT NOT NULL,
  reasons_json TEXT NOT NULL DEFAULT '[]',
  summary TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS decisions_by_group ON decisions(group_id, id);
CREATE INDEX IF NOT EXISTS decisions_by_group_at ON decisions(group_id, at_us);
CREATE TABLE IF NOT EXISTS audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_us INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL DEFAULT '',
  refusal INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS audit_by_at ON audit(at_us);
CREATE TABLE IF NOT EXISTS control_state(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_us INTEGER NOT NULL);
)sql";

std::int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(std::int64_t us) { return absl::FromUnixMicros(us); }

absl::Status SqlError(sqlite3* db, const std::string& what) {
  return absl::UnavailableError(absl::StrCat("journal: ", what, ": ", sqlite3_errmsg(db)));
}

using Arg = std::variant<std::string, std::int64_t, std::monostate>;

// A prepared statement with bound arguments; finalized on destruction.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  absl::Status Bind(const std::vector<Arg>& args) {
    if (rc_ != SQLITE_OK) return SqlError(db_, "prepare");
    for (size_t i = 0; i < args.size(); ++i) {
      int idx = static_cast<int>(i) + 1;
      int rc;
      if (const auto* s = std::get_if<std::string>(&args[i])) {
        rc =
            sqlite3_bind_text(stmt_, idx, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
      } else if (const auto* n = std::get_if<std::int64_t>(&args[i])) {
        rc = sqlite3_bind_int64(stmt_, idx, *n);
      } else {
        rc = sqlite3_bind_null(stmt_, idx);
      }
      if (rc != SQLITE_OK) return SqlError(db_, "bind");
    }
    return absl::OkStatus();
  }

  // Steps once; returns true while a row is available.
  absl::StatusOr<bool> Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_CONSTRAINT) {
      return absl::AlreadyExistsError(absl::StrCat("journal: ", sqlite3_errmsg(db_)));
    }
    return SqlError(db_, "step");
  }

  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

  // Makes the statement ready to be bound and stepped again (one prepare per batch, not per row).
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

absl::Status Exec(sqlite3* db, const std::string& sql, const std::vector<Arg>& args = {}) {
  Statement st(db, sql);
  RETURN_IF_ERROR(st.Bind(args));
  ASSIGN_OR_RETURN(bool row, st.Step());
  (void)row;
  return absl::OkStatus();
}

// The schema version of the journal at `path` as stored, read before anything is written to the
// file: 0 for a new file (no meta table or no version yet). UNAVAILABLE when the file is not an
// SQLite database; FAILED_PRECONDITION when the stored version is not a positive number.
absl::StatusOr<int> StoredSchemaVersion(sqlite3* db, const std::string& path) {
  {
    Statement st(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
    absl::Status s = st.Bind({});
    absl::StatusOr<bool> has_meta = s.ok() ? st.Step() : absl::StatusOr<bool>(s);
    if (!has_meta.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "journal: ", path, " is not a usable foghorn journal: ", sqlite3_errmsg(db)));
    }
    if (!*has_meta) return 0;
  }
  Statement st(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  RETURN_IF_ERROR(st.Bind({}));
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return 0;
  int version = 0;
  if (!absl::SimpleAtoi(st.Text(0), &version) || version < 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("journal: ", path, " has an unreadable schema version \"", st.Text(0), "\""));
  }
  return version;
}

constexpr const char* kOperationColumns =
    "id, group_id, request_id, kind, requested_by, reason, state, created_us, updated_us, "
    "arm_operation_url, outcome, target_server";

OperationRecord ReadOperation(const Statement& st) {
  OperationRecord op;
  op.id = st.Text(0);
  op.group_id = st.Text(1);
  op.request_id = st.Text(2);
  op.kind = st.Text(3);
  op.requested_by = st.Text(4);
  op.reason = st.Text(5);
  op.state = ParseOperationState(st.Text(6)).value_or(OperationState::kFailed);
  op.created_at = FromMicros(st.Int(7));
  op.updated_at = FromMicros(st.Int(8));
  op.arm_operation_url = st.Text(9);
  op.outcome = st.Text(10);
  op.target_server = st.Text(11);
  return op;
}

StepState ParseStepState(const std::string& s) {
  if (s == "done") return StepState::kDone;
  if (s == "failed") return StepState::kFailed;
  if (s == "skipped") return StepState::kSkipped;
  return StepState::kIntent;
}

}  // namespace

std::string OperationStateName(OperationState s) {
  switch (s) {
    case OperationState::kPending:
      return "pending";
    case OperationState::kRunning:
      return "running";
    case OperationState::kSucceeded:
      return "succeeded";
    case OperationState::kFailed:
      return "failed";
    case OperationState::kAborted:
      return "aborted";
    case OperationState::kCancelled:
      return "cancelled";
  }
  return "failed";
}

absl::StatusOr<OperationState> ParseOperationState(const std::string& name) {
  for (OperationState s :
       {OperationState::kPending, OperationState::kRunning, OperationState::kSucceeded,
        OperationState::kFailed, OperationState::kAborted, OperationState::kCancelled}) {
    if (OperationStateName(s) == name) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown operation state \"", name, "\""));
}

void TruncateAuditFields(AuditRecord& a) {
  common::TruncateUtf8InPlace(&a.actor, kMaxAuditActorBytes);
  common::TruncateUtf8InPlace(&a.action, kMaxAuditActionBytes);
  common::TruncateUtf8InPlace(&a.target, kMaxAuditTargetBytes);
  common::TruncateUtf8InPlace(&a.detail, kMaxAuditDetailBytes);
  common::TruncateUtf8InPlace(&a.outcome, kMaxAuditOutcomeBytes);
}

void TruncateDecisionFields(DecisionRecord& d) {
  common::TruncateUtf8InPlace(&d.summary, kMaxDecisionSummaryBytes);
}

bool IsFinished(OperationState s) {
  return s != OperationState::kPending && s != OperationState::kRunning;
}

std::string StepStateName(StepState s) {
  switch (s) {
    case StepState::kIntent:
      return "intent";
    case StepState::kDone:
      return "done";
    case StepState::kFailed:
      return "failed";
    case StepState::kSkipped:
      return "skipped";
  }
  return "intent";
}

absl::StatusOr<std::unique_ptr<SqliteJournal>> SqliteJournal::Open(const std::string& path,
                                                                   const common::Clock& clock) {
  return Open(path, clock, Options{});
}

absl::StatusOr<std::unique_ptr<SqliteJournal>> SqliteJournal::Open(const std::string& path,
                                                                   const common::Clock& clock,
                                                                   Options options) {
  options.max_queued = std::max<std::size_t>(1, options.max_queued);
  options.max_batch = std::max<std::size_t>(1, options.max_batch);
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("journal: cannot open ", path, ": ", msg));
  }
  std::unique_ptr<SqliteJournal> j(new SqliteJournal(db, clock, std::move(options)));
  absl::MutexLock lock(&j->mu_);
  sqlite3_busy_timeout(db, 5000);
  // A journal from a newer release is refused before anything below writes to it (the WAL switch,
  // the tables it lacks): it stays byte for byte as it was, for the release that wrote it. An
  // older one is migrated forward, one version at a time, each step in its own transaction.
  ASSIGN_OR_RETURN(int stored_version, StoredSchemaVersion(db, path));
  if (stored_version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("journal: ", path, " was written by a newer foghorn (schema version ",
                     stored_version, "; this agent knows up to ", kSchemaVersion,
                     "): it is left unchanged; upgrade foghorn or restore a backup"));
  }
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    char* err = nullptr;
    if (sqlite3_exec(db, pragma, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "";
      sqlite3_free(err);
      return absl::UnavailableError(absl::StrCat("journal: ", path, ": ", pragma, ": ", msg));
    }
  }
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "";
    sqlite3_free(err);
    return absl::UnavailableError(
        absl::StrCat("journal: ", path, " is not a usable foghorn journal: ", msg));
  }
  {
    // 0: a new file, created above at the current version.
    const int version = stored_version == 0 ? kSchemaVersion : stored_version;
    if (version < 2) {
      RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
      absl::Status m = [&]() -> absl::Status {
        bool has_refusal = false;
        {
          Statement cols(db, "PRAGMA table_info(audit)");
          RETURN_IF_ERROR(cols.Bind({}));
          for (;;) {
            ASSIGN_OR_RETURN(bool col, cols.Step());
            if (!col) break;
            has_refusal |= cols.Text(1) == "refusal";
          }
        }
        if (!has_refusal) {
          RETURN_IF_ERROR(
              Exec(db, "ALTER TABLE audit ADD COLUMN refusal INTEGER NOT NULL DEFAULT 0"));
        }
        return Exec(db, "UPDATE meta SET value = '2' WHERE key = 'schema_version'");
      }();
      if (m.ok()) m = Exec(db, "COMMIT");
      if (!m.ok()) {
        Exec(db, "ROLLBACK").IgnoreError();
        return absl::UnavailableError(
            absl::StrCat("journal: ", path, ": cannot migrate to schema version 2: ", m.message()));
      }
    }
  }
  RETURN_IF_ERROR(Exec(db, "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)",
                       {std::to_string(kSchemaVersion)}));
  RETURN_IF_ERROR(Exec(db, "CREATE INDEX IF NOT EXISTS audit_by_refusal ON audit(refusal, id)"));
  {
    // Reads use their own connection: under WAL they see every committed write without waiting
    // for a commit (an fsync) in progress on the write connection. With many operations writing
    // at once, a read on the control loop would otherwise queue behind their fsyncs.
    absl::MutexLock read_lock(&j->read_mu_);
    rc = sqlite3_open_v2(path.c_str(), &j->read_db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                         nullptr);
    if (rc != SQLITE_OK) {
      return absl::UnavailableError(absl::StrCat(
          "journal: cannot open ", path,
          " for reading: ", j->read_db_ ? sqlite3_errmsg(j->read_db_) : "out of memory"));
    }
    sqlite3_busy_timeout(j->read_db_, 5000);
    RETURN_IF_ERROR(Exec(j->read_db_, "PRAGMA query_only=ON"));
  }
  if (j->options_.background_writer) j->writer_ = std::thread([p = j.get()] { p->WriterLoop(); });
  return j;
}

SqliteJournal::~SqliteJournal() {
  {
    absl::MutexLock q(&queue_mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  absl::MutexLock lock(&mu_);
  if (absl::Status s = FlushLocked(); !s.ok()) {
    std::uint64_t lost = 0;
    {
      absl::MutexLock q(&queue_mu_);
      lost = queue_.size();
      stats_.lost += lost;
      queue_.clear();
    }
    if (options_.logger) {
      options_.logger->Error(
          "journal: decisions and audit records lost at shutdown",
          {{"records", static_cast<std::int64_t>(lost)}, {"error", s.ToString()}});
    }
  }
  sqlite3_close_v2(db_);
  absl::MutexLock read_lock(&read_mu_);
  sqlite3_close_v2(read_db_);  // a null handle (Open failed before it) is a no-op
}

// --- operations and steps: synchronous writes with group commit ---

absl::Status SqliteJournal::RunSynchronous(absl::FunctionRef<absl::Status()> write) {
  SyncWriter self{write, absl::OkStatus(), false, false};
  std::vector<SyncWriter*> group;
  {
    absl::MutexLock lock(&writers_mu_);
    self.leader = writers_.empty();
    writers_.push_back(&self);
    writers_mu_.Await(absl::Condition(
        +[](SyncWriter* w) ABSL_NO_THREAD_SAFETY_ANALYSIS { return w->done || w->leader; }, &self));
    if (self.done) return self.status;  // a leader committed this write with its group
    // Leader: every write queued behind this one joins its transaction.
    const std::size_t n = std::min(writers_.size(), kMaxGroupWrites);
    group.assign(writers_.begin(), writers_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  {
    absl::MutexLock lock(&mu_);
    CommitGroupLocked(group);
  }
  absl::MutexLock lock(&writers_mu_);
  for (std::size_t i = 0; i < group.size(); ++i) {
    writers_.front()->done = true;
    writers_.pop_front();
  }
  if (!writers_.empty()) writers_.front()->leader = true;
  return self.status;
}

void SqliteJournal::CommitGroupLocked(const std::vector<SyncWriter*>& group) {
  if (absl::Status s = Exec(db_, "BEGIN IMMEDIATE"); !s.ok()) {
    for (SyncWriter* w : group) w->status = s;
    return;
  }
  for (std::size_t i = 0; i < group.size(); ++i) {
    SyncWriter* w = group[i];
    // A savepoint per write: one that fails (e.g. an unknown operation id) undoes only itself.
    absl::Status s = Exec(db_, "SAVEPOINT write");
    if (s.ok()) s = w->write();
    if (s.ok()) {
      s = Exec(db_, "RELEASE write");
    } else {
      Exec(db_, "ROLLBACK TO write").IgnoreError();
      Exec(db_, "RELEASE write").IgnoreError();
    }
    w->status = s;
    if (sqlite3_get_autocommit(db_) != 0) {
      // SQLite ended the whole transaction (an I/O error, a full disk): nothing of this group is
      // written.
      const absl::Status lost =
          s.ok() ? absl::UnavailableError("journal: transaction ended unexpectedly") : s;
      for (SyncWriter* other : group) {
        if (other->status.ok() || other == w) other->status = lost;
      }
      for (std::size_t j = i + 1; j < group.size(); ++j) group[j]->status = lost;
      return;
    }
  }
  if (absl::Status commit = Exec(db_, "COMMIT"); !commit.ok()) {
    Exec(db_, "ROLLBACK").IgnoreError();
    // Not durable: the writes that had succeeded fail now, and their callers must not act.
    for (SyncWriter* w : group) {
      if (w->status.ok()) w->status = commit;
    }
    return;
  }
  absl::MutexLock q(&queue_mu_);
  ++stats_.sync_transactions;
  for (SyncWriter* w : group) stats_.sync_writes += w->status.ok() ? 1 : 0;
}

// --- decisions and audit: the batch writer ---

absl::Status SqliteJournal::Enqueue(Pending record) {
  for (;;) {
    {
      absl::MutexLock q(&queue_mu_);
      if (queue_.size() < options_.max_queued) {
        queue_.push_back(std::move(record));
        return absl::OkStatus();
      }
    }
    // Full: the writer is behind (a slow or failing disk). Commit the oldest batch here rather
    // than drop anything or grow without bound; this caller pays one commit, as every caller did
    // before writes were batched.
    absl::MutexLock lock(&mu_);
    absl::StatusOr<std::size_t> n = CommitBatchLocked();
    if (!n.ok()) {
      {
        absl::MutexLock q(&queue_mu_);
        ++stats_.refused;
      }
      if (options_.metrics)
        options_.metrics->IncrementCounter("foghorn_journal_records_refused_total");
      if (options_.logger) {
        options_.logger->Error("journal: queue full and commit failed; record refused",
                               {{"error", n.status().ToString()}});
      }
      return absl::UnavailableError(
          absl::StrCat("journal: queue full and commit failed: ", n.status().message()));
    }
  }
}

absl::StatusOr<std::size_t> SqliteJournal::CommitBatchLocked() {
  std::vector<Pending> batch;
  {
    absl::MutexLock q(&queue_mu_);
    const std::size_t n = std::min(queue_.size(), options_.max_batch);
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  if (batch.empty()) return std::size_t{0};
  absl::Status s = WriteBatchLocked(batch);
  {
    absl::MutexLock q(&queue_mu_);
    if (s.ok()) {
      ++stats_.batches;
      stats_.committed += batch.size();
    } else {
      // Back at the front, in order: the next attempt commits the same records first.
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
      ++stats_.failed_batches;
    }
  }
  if (options_.metrics) {
    options_.metrics->IncrementCounter("foghorn_journal_batches_total",
                                       {{"result", s.ok() ? "ok" : "failed"}});
  }
  if (!s.ok()) return s;
  return batch.size();
}

absl::Status SqliteJournal::WriteBatchLocked(const std::vector<Pending>& batch) {
  RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
  absl::Status s = [&]() -> absl::Status {
    Statement decision(db_,
                       "INSERT INTO decisions(group_id, at_us, state, action, reasons_json, "
                       "summary) VALUES(?,?,?,?,?,?)");
    Statement audit(db_,
                    "INSERT INTO audit(at_us, actor, action, target, detail, outcome, refusal) "
                    "VALUES(?,?,?,?,?,?,?)");
    for (const Pending& p : batch) {
      Statement* st = nullptr;
      if (const auto* d = std::get_if<DecisionRecord>(&p)) {
        st = &decision;
        st->Reset();
        RETURN_IF_ERROR(st->Bind(
            {d->group_id, ToMicros(d->at), d->state, d->action, d->reasons_json, d->summary}));
      } else {
        const auto& a = std::get<AuditRecord>(p);
        st = &audit;
        st->Reset();
        RETURN_IF_ERROR(st->Bind({ToMicros(a.at), a.actor, a.action, a.target, a.detail, a.outcome,
                                  std::int64_t{a.refusal ? 1 : 0}}));
      }
      ASSIGN_OR_RETURN(bool row, st->Step());
      (void)row;
    }
    return absl::OkStatus();
  }();
  if (s.ok()) s = Exec(db_, "COMMIT");
  if (!s.ok()) Exec(db_, "ROLLBACK").IgnoreError();
  return s;
}

absl::Status SqliteJournal::FlushLocked() {
  std::size_t pending = 0;
  {
    absl::MutexLock q(&queue_mu_);
    pending = queue_.size();
  }
  // Only what was queued when the flush began: writers that keep queuing cannot hold it forever.
  while (pending > 0) {
    ASSIGN_OR_RETURN(std::size_t n, CommitBatchLocked());
    if (n == 0) break;
    pending -= std::min(pending, n);
  }
  return absl::OkStatus();
}

absl::Status SqliteJournal::Flush() {
  absl::MutexLock lock(&mu_);
  return FlushLocked();
}

SqliteJournal::WriterStats SqliteJournal::writer_stats() {
  absl::MutexLock q(&queue_mu_);
  WriterStats out = stats_;
  out.queued = queue_.size();
  return out;
}

void SqliteJournal::WriterLoop() {
  // After a failed commit the batch stays queued; retry with backoff so a broken disk is not
  // hammered, and log once per streak (and at most every kMaxBackoff after that).
  constexpr absl::Duration kMinBackoff = absl::Milliseconds(100);
  constexpr absl::Duration kMaxBackoff = absl::Seconds(5);
  absl::Duration backoff = absl::ZeroDuration();
  for (;;) {
    {
      absl::MutexLock q(&queue_mu_);
      if (backoff > absl::ZeroDuration()) {
        queue_mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
      }
      queue_mu_.Await(absl::Condition(
          +[](SqliteJournal* j)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return j->stopping_ || !j->queue_.empty(); },
          this));
      if (stopping_) return;  // the destructor commits what is left
    }
    // No waiting here for more records: while one batch commits (its fsync), the next one
    // gathers, so batches grow with the load and a lone record is committed at once.
    absl::StatusOr<std::size_t> n;
    {
      absl::MutexLock lock(&mu_);
      n = CommitBatchLocked();
    }
    if (n.ok()) {
      if (backoff > absl::ZeroDuration() && options_.logger) {
        options_.logger->Info("journal: batch writer recovered");
      }
      backoff = absl::ZeroDuration();
      continue;
    }
    if ((backoff == absl::ZeroDuration() || backoff == kMaxBackoff) && options_.logger) {
      options_.logger->Error("journal: cannot commit decisions and audit records; retrying",
                             {{"error", n.status().ToString()}});
    }
    backoff = std::clamp(backoff * 2, kMinBackoff, kMaxBackoff);
  }
}

absl::StatusOr<Journal::Created> SqliteJournal::CreateOperation(OperationRecord op) {
  if (op.group_id.empty() || op.kind.empty()) {
    return absl::InvalidArgumentError("journal: an operation needs a group_id and a kind");
  }
  return Synchronously<Created>(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return CreateOperationLocked(std::move(op)); });
}

absl::StatusOr<Journal::Created> SqliteJournal::CreateOperationLocked(OperationRecord op) {
  if (!op.request_id.empty()) {
    ASSIGN_OR_RETURN(auto existing,
                     QueryOperations("request_id = ?", {op.request_id}, /*limit=*/1));
    if (!existing.empty()) return Created{existing.front(), false};
  }
  absl::Time now = clock_.WallNow();
  if (op.id.empty()) {
    std::random_device rd;
    op.id = fmt::format("op-{}-{:08x}{:04x}",
                        absl::FormatTime("%Y%m%dT%H%M%S", now, absl::UTCTimeZone()), rd(),
                        static_cast<unsigned>(++id_counter_ & 0xffff));
  }
  op.created_at = now;
  op.updated_at = now;
  RETURN_IF_ERROR(Exec(db_,
                       absl::StrCat("INSERT INTO operations(", kOperationColumns,
                                    ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?)"),
                       {op.id, op.group_id, op.request_id, op.kind, op.requested_by, op.reason,
                        OperationStateName(op.state), ToMicros(now), ToMicros(now),
                        op.arm_operation_url, op.outcome, op.target_server}));
  return Created{std::move(op), true};
}

absl::Status SqliteJournal::UpdateOperation(const std::string& id, OperationState state,
                                            const std::string& outcome) {
  return RunSynchronous(
      [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return UpdateOperationLocked(id, state, outcome); });
}

absl::Status SqliteJournal::UpdateOperationLocked(const std::string& id, OperationState state,
                                                  const std::string& outcome) {
  ASSIGN_OR_RETURN(OperationRecord op, GetOperationLocked(id));
  if (IsFinished(op.state)) {
    return absl::FailedPreconditionError(
        absl::StrCat("journal: operation ", id, " already ", OperationStateName(op.state)));
  }
  return Exec(db_, "UPDATE operations SET state = ?, outcome = ?, updated_us = ? WHERE id = ?",
              {OperationStateName(state), outcome, ToMicros(clock_.WallNow()), id});
}

absl::Status SqliteJournal::SetArmOperationUrl(const std::string& id, const std::string& url) {
  return RunSynchronous([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    RETURN_IF_ERROR(GetOperationLocked(id).status());
    return Exec(db_, "UPDATE operations SET arm_operation_url = ?, updated_us = ? WHERE id = ?",
                {url, ToMicros(clock_.WallNow()), id});
  });
}

absl::StatusOr<OperationRecord> SqliteJournal::GetOperation(const std::string& id) {
  absl::MutexLock lock(&read_mu_);
  ASSIGN_OR_RETURN(auto ops, QueryOperationsOn(read_db_, "id = ?", {id}, 1));
  if (ops.empty()) return absl::NotFoundError(absl::StrCat("journal: no operation ", id));
  return ops.front();
}

absl::StatusOr<OperationRecord> SqliteJournal::GetOperationLocked(const std::string& id) {
  ASSIGN_OR_RETURN(auto ops, QueryOperations("id = ?", {id}, 1));
  if (ops.empty()) return absl::NotFoundError(absl::StrCat("journal: no operation ", id));
  return ops.front();
}

absl::StatusOr<std::optional<OperationRecord>> SqliteJournal::FindByRequestId(
    const std::string& request_id) {
  if (request_id.empty()) return std::optional<OperationRecord>();
  absl::MutexLock lock(&read_mu_);
  ASSIGN_OR_RETURN(auto ops, QueryOperationsOn(read_db_, "request_id = ?", {request_id}, 1));
  if (ops.empty()) return std::optional<OperationRecord>();
  return std::optional<OperationRecord>(ops.front());
}

absl::StatusOr<std::vector<OperationRecord>> SqliteJournal::ListOperations(
    const std::string& group_id, int limit) {
  absl::MutexLock lock(&read_mu_);
  if (group_id.empty()) return QueryOperationsOn(read_db_, "", {}, limit);
  return QueryOperationsOn(read_db_, "group_id = ?", {group_id}, limit);
}

absl::StatusOr<std::vector<OperationRecord>> SqliteJournal::UnfinishedOperations() {
  absl::MutexLock lock(&read_mu_);
  ASSIGN_OR_RETURN(auto ops, QueryOperationsOn(read_db_, "state IN ('pending', 'running')", {}, 0));
  std::reverse(ops.begin(), ops.end());
  return ops;
}

absl::StatusOr<std::vector<OperationRecord>> SqliteJournal::QueryOperations(
    const std::string& where_sql, const std::vector<std::string>& where_args, int limit) {
  return QueryOperationsOn(db_, where_sql, where_args, limit);
}

absl::StatusOr<std::vector<OperationRecord>> SqliteJournal::QueryOperationsOn(
    sqlite3* db, const std::string& where_sql, const std::vector<std::string>& where_args,
    int limit) {
  std::string sql = absl::StrCat("SELECT ", kOperationColumns, " FROM operations");
  std::vector<Arg> args(where_args.begin(), where_args.end());
  if (!where_sql.empty()) absl::StrAppend(&sql, " WHERE ", where_sql);
  absl::StrAppend(&sql, " ORDER BY created_us DESC, rowid DESC");
  if (limit > 0) absl::StrAppend(&sql, " LIMIT ", limit);
  Statement st(db, sql);
  RETURN_IF_ERROR(st.Bind(args));
  std::vector<OperationRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadOperation(st));
  }
  return out;
}

absl::StatusOr<StepRecord> SqliteJournal::BeginStep(const std::string& operation_id,
                                                    const std::string& name,
                                                    const std::string& detail) {
  std::string cut;
  const std::string& bounded = detail.size() <= kMaxStepDetailBytes
                                   ? detail
                                   : (cut = common::TruncateUtf8(detail, kMaxStepDetailBytes));
  return Synchronously<StepRecord>([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return BeginStepLocked(operation_id, name, bounded);
  });
}

absl::StatusOr<StepRecord> SqliteJournal::BeginStepLocked(const std::string& operation_id,
                                                          const std::string& name,
                                                          const std::string& detail) {
  ASSIGN_OR_RETURN(OperationRecord op, GetOperationLocked(operation_id));
  if (IsFinished(op.state)) {
    return absl::FailedPreconditionError(absl::StrCat("journal: operation ", operation_id,
                                                      " already ", OperationStateName(op.state)));
  }
  StepRecord step;
  step.operation_id = operation_id;
  step.name = name;
  step.detail = detail;
  step.started_at = clock_.WallNow();
  {
    Statement st(db_, "SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE operation_id = ?");
    RETURN_IF_ERROR(st.Bind({operation_id}));
    ASSIGN_OR_RETURN(bool row, st.Step());
    step.seq = row ? static_cast<int>(st.Int(0)) : 1;
  }
  RETURN_IF_ERROR(Exec(db_,
                       "INSERT INTO steps(operation_id, seq, name, state, detail, started_us) "
                       "VALUES(?,?,?,?,?,?)",
                       {operation_id, std::int64_t{step.seq}, name,
                        StepStateName(StepState::kIntent), detail, ToMicros(step.started_at)}));
  step.id = sqlite3_last_insert_rowid(db_);
  return step;
}

absl::Status SqliteJournal::EndStep(std::int64_t step_id, StepState state,
                                    const std::string& detail) {
  if (state == StepState::kIntent) {
    return absl::InvalidArgumentError("journal: a step ends done, failed or skipped");
  }
  std::string cut;
  const std::string& bounded = detail.size() <= kMaxStepDetailBytes
                                   ? detail
                                   : (cut = common::TruncateUtf8(detail, kMaxStepDetailBytes));
  return RunSynchronous([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    RETURN_IF_ERROR(Exec(db_,
                         "UPDATE steps SET state = ?, detail = ?, finished_us = ? "
                         "WHERE id = ? AND state = 'intent'",
                         {StepStateName(state), bounded, ToMicros(clock_.WallNow()), step_id}));
    if (sqlite3_changes(db_) == 0) {
      return absl::NotFoundError(absl::StrCat("journal: no open step ", step_id));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<StepRecord>> SqliteJournal::Steps(const std::string& operation_id) {
  absl::MutexLock lock(&read_mu_);
  Statement st(read_db_,
               "SELECT id, operation_id, seq, name, state, detail, started_us, finished_us "
               "FROM steps WHERE operation_id = ? ORDER BY seq");
  RETURN_IF_ERROR(st.Bind({operation_id}));
  std::vector<StepRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    StepRecord s;
    s.id = st.Int(0);
    s.operation_id = st.Text(1);
    s.seq = static_cast<int>(st.Int(2));
    s.name = st.Text(3);
    s.state = ParseStepState(st.Text(4));
    s.detail = st.Text(5);
    s.started_at = FromMicros(st.Int(6));
    s.finished_at = st.IsNull(7) ? absl::InfinitePast() : FromMicros(st.Int(7));
    out.push_back(std::move(s));
  }
  return out;
}

absl::Status SqliteJournal::RecordDecision(DecisionRecord d) {
  if (d.group_id.empty()) return absl::InvalidArgumentError("journal: a decision needs a group_id");
  if (d.at == absl::InfinitePast()) d.at = clock_.WallNow();
  if (d.reasons_json.empty()) d.reasons_json = "[]";
  // Cut before queuing: the queue's memory is bounded by these sizes too.
  TruncateDecisionFields(d);
  return Enqueue(std::move(d));
}

absl::StatusOr<std::vector<DecisionRecord>> SqliteJournal::Decisions(const std::string& group_id,
                                                                     int limit) {
  RETURN_IF_ERROR(Flush());  // read-your-writes: what was accepted before this call is committed
  absl::MutexLock lock(&read_mu_);
  std::string sql =
      "SELECT id, group_id, at_us, state, action, reasons_json, summary FROM decisions "
      "WHERE group_id = ? ORDER BY id DESC";
  if (limit > 0) absl::StrAppend(&sql, " LIMIT ", limit);
  Statement st(read_db_, sql);
  RETURN_IF_ERROR(st.Bind({group_id}));
  std::vector<DecisionRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.Int(0), st.Text(1), FromMicros(st.Int(2)), st.Text(3), st.Text(4), st.Text(5),
                   st.Text(6)});
  }
  return out;
}

absl::Status SqliteJournal::Audit(AuditRecord a) {
  if (a.actor.empty() || a.action.empty()) {
    return absl::InvalidArgumentError("journal: an audit record needs an actor and an action");
  }
  if (a.at == absl::InfinitePast()) a.at = clock_.WallNow();
  TruncateAuditFields(a);
  return Enqueue(std::move(a));
}

absl::StatusOr<std::vector<AuditRecord>> SqliteJournal::AuditTrail(int limit) {
  RETURN_IF_ERROR(Flush());  // read-your-writes: what was accepted before this call is committed
  absl::MutexLock lock(&read_mu_);
  std::string sql =
      "SELECT id, at_us, actor, action, target, detail, outcome, refusal FROM audit "
      "ORDER BY id DESC";
  if (limit > 0) absl::StrAppend(&sql, " LIMIT ", limit);
  Statement st(read_db_, sql);
  RETURN_IF_ERROR(st.Bind({}));
  std::vector<AuditRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.Int(0), FromMicros(st.Int(1)), st.Text(2), st.Text(3), st.Text(4), st.Text(5),
                   st.Text(6), st.Int(7) != 0});
  }
  return out;
}

absl::StatusOr<std::optional<absl::Time>> SqliteJournal::LastSucceededFailover(
    const std::string& group_id) {
  absl::MutexLock lock(&read_mu_);
  Statement st(read_db_,
               "SELECT MAX(updated_us) FROM operations WHERE group_id = ? AND state = 'succeeded' "
               "AND kind != 'drill'");
  RETURN_IF_ERROR(st.Bind({group_id}));
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.IsNull(0)) return std::optional<absl::Time>();
  return std::optional<absl::Time>(FromMicros(st.Int(0)));
}

absl::Status SqliteJournal::PutControlState(const std::map<std::string, std::string>& entries) {
  for (const auto& [key, value] : entries) {
    if (key.empty()) return absl::InvalidArgumentError("journal: a control state key is empty");
  }
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", {}));
  const std::int64_t now = ToMicros(clock_.WallNow());
  for (const auto& [key, value] : entries) {
    absl::Status s = value.empty()
                         ? Exec(db_, "DELETE FROM control_state WHERE key = ?", {key})
                         : Exec(db_,
                                "INSERT INTO control_state(key, value, updated_us) VALUES(?,?,?) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
                                "updated_us = excluded.updated_us",
                                {key, value, now});
    if (!s.ok()) {
      Exec(db_, "ROLLBACK", {}).IgnoreError();
      return s;
    }
  }
  absl::Status committed = Exec(db_, "COMMIT", {});
  // A failed COMMIT leaves the transaction open: roll it back, or later writes would report OK
  // without being durable.
  if (!committed.ok()) Exec(db_, "ROLLBACK", {}).IgnoreError();
  return committed;
}

absl::StatusOr<std::map<std::string, std::string>> SqliteJournal::ControlState() {
  absl::MutexLock lock(&mu_);
  Statement st(db_, "SELECT key, value FROM control_state ORDER BY key");
  RETURN_IF_ERROR(st.Bind({}));
  std::map<std::string, std::string> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out[st.Text(0)] = st.Text(1);
  }
  return out;
}

// --- retention ---

absl::StatusOr<PruneResult> SqliteJournal::Prune(const RetentionPolicy& policy, absl::Time now) {
  if (policy.audit_max_age < absl::ZeroDuration() || policy.audit_max_rows < 0 ||
      policy.refusals_max_rows < 0 || policy.decisions_max_age < absl::ZeroDuration() ||
      policy.decisions_max_rows_per_group < 0) {
    return absl::InvalidArgumentError("journal: retention limits must not be negative");
  }
  // A count limit then counts every record accepted before the call.
  RETURN_IF_ERROR(Flush());
  const auto batch = static_cast<std::int64_t>(std::max<std::size_t>(1, options_.max_prune_batch));

  // Deletes every row of `table` matching `where` (with `args`), at most `batch` rows per
  // transaction. Each transaction goes through the synchronous write path, so step writes that
  // arrive meanwhile wait for one batch at most (and may share its commit). No ORDER BY in the
  // inner select: it lets SQLite walk the index that `where` names instead of the whole table.
  auto delete_matching =
      [&](const char* table, const std::string& where, const std::vector<Arg>& args)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::StatusOr<std::int64_t> {
    {
      // Usually nothing is due (hourly runs, many groups): find that out on the read connection
      // rather than queue a write transaction among the steps.
      absl::MutexLock lock(&read_mu_);
      Statement any(read_db_, absl::StrCat("SELECT 1 FROM ", table, " WHERE ", where, " LIMIT 1"));
      RETURN_IF_ERROR(any.Bind(args));
      ASSIGN_OR_RETURN(bool row, any.Step());
      if (!row) return std::int64_t{0};
    }
    const std::string sql = absl::StrCat("DELETE FROM ", table, " WHERE id IN (SELECT id FROM ",
                                         table, " WHERE ", where, " LIMIT ", batch, ")");
    std::int64_t total = 0;
    for (;;) {
      std::int64_t deleted = 0;
      RETURN_IF_ERROR(RunSynchronous([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
        RETURN_IF_ERROR(Exec(db_, sql, args));
        deleted = sqlite3_changes(db_);
        return absl::OkStatus();
      }));
      {
        absl::MutexLock q(&queue_mu_);
        ++stats_.prune_batches;
      }
      total += deleted;
      if (deleted < batch) return total;
    }
  };
  // The id of the newest row of `table` (matching `where`) beyond the `keep` newest, if any:
  // every row up to it goes. On the read connection, which sees every committed delete.
  auto first_beyond =
      [&](const char* table, const std::string& where, std::vector<Arg> args, std::int64_t keep)
          ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::StatusOr<std::optional<std::int64_t>> {
    absl::MutexLock lock(&read_mu_);
    Statement st(read_db_, absl::StrCat("SELECT id FROM ", table, where.empty() ? "" : " WHERE ",
                                        where, " ORDER BY id DESC LIMIT 1 OFFSET ?"));
    args.push_back(keep);
    RETURN_IF_ERROR(st.Bind(args));
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(st.Int(0));
  };

  PruneResult out;
  if (policy.audit_max_age > absl::ZeroDuration()) {
    ASSIGN_OR_RETURN(std::int64_t n,
                     delete_matching("audit", "at_us < ?", {ToMicros(now - policy.audit_max_age)}));
    out.audit_rows += n;
  }
  // Authorised actions and refused calls are counted separately (audit_by_refusal).
  for (const auto& [refusal, keep] :
       {std::pair<std::int64_t, std::int64_t>{0, policy.audit_max_rows},
        std::pair<std::int64_t, std::int64_t>{1, policy.refusals_max_rows}}) {
    if (keep <= 0) continue;
    ASSIGN_OR_RETURN(std::optional<std::int64_t> last,
                     first_beyond("audit", "refusal = ?", {refusal}, keep));
    if (last) {
      ASSIGN_OR_RETURN(std::int64_t n,
                       delete_matching("audit", "refusal = ? AND id <= ?", {refusal, *last}));
      out.audit_rows += n;
    }
  }

  if (policy.decisions_max_age == absl::ZeroDuration() &&
      policy.decisions_max_rows_per_group == 0) {
    return out;
  }
  // Group by group, each delete on an index led by group_id: (group_id, at_us) for the age,
  // (group_id, id) for the count. The groups are walked with one index seek each.
  std::string group;
  for (;;) {
    {
      absl::MutexLock lock(&read_mu_);
      Statement st(read_db_,
                   "SELECT group_id FROM decisions WHERE group_id > ? ORDER BY group_id LIMIT 1");
      RETURN_IF_ERROR(st.Bind({group}));
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      group = st.Text(0);
    }
    if (policy.decisions_max_age > absl::ZeroDuration()) {
      ASSIGN_OR_RETURN(std::int64_t n,
                       delete_matching("decisions", "group_id = ? AND at_us < ?",
                                       {group, ToMicros(now - policy.decisions_max_age)}));
      out.decision_rows += n;
    }
    if (policy.decisions_max_rows_per_group > 0) {
      ASSIGN_OR_RETURN(
          std::optional<std::int64_t> last,
          first_beyond("decisions", "group_id = ?", {group}, policy.decisions_max_rows_per_group));
      if (last) {
        ASSIGN_OR_RETURN(std::int64_t n,
                         delete_matching("decisions", "group_id = ? AND id <= ?", {group, *last}));
        out.decision_rows += n;
      }
    }
  }
  return out;
}

}  // namespace foghorn::journal
