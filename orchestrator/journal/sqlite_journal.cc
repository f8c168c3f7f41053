#include "orchestrator/journal/sqlite_journal.h"

#include <sqlite3.h>

#include <algorithm>
#include <random>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "fmt/format.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::journal {
namespace {

constexpr int kSchemaVersion = 1;

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
CREATE TABLE IF NOT EXISTS audit(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_us INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL DEFAULT '');
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
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("journal: cannot open ", path, ": ", msg));
  }
  std::unique_ptr<SqliteJournal> j(new SqliteJournal(db, clock));
  absl::MutexLock lock(&j->mu_);
  sqlite3_busy_timeout(db, 5000);
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
    Statement st(db, "SELECT value FROM meta WHERE key = 'schema_version'");
    RETURN_IF_ERROR(st.Bind({}));
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (row && st.Text(0) != std::to_string(kSchemaVersion)) {
      return absl::FailedPreconditionError(absl::StrCat("journal: ", path, " has schema version ",
                                                        st.Text(0), "; this agent knows ",
                                                        kSchemaVersion));
    }
  }
  RETURN_IF_ERROR(Exec(db, "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)",
                       {std::to_string(kSchemaVersion)}));
  return j;
}

SqliteJournal::~SqliteJournal() {
  absl::MutexLock lock(&mu_);
  sqlite3_close_v2(db_);
}

absl::StatusOr<Journal::Created> SqliteJournal::CreateOperation(OperationRecord op) {
  if (op.group_id.empty() || op.kind.empty()) {
    return absl::InvalidArgumentError("journal: an operation needs a group_id and a kind");
  }
  absl::MutexLock lock(&mu_);
  if (!op.request_id.empty()) {
    ASSIGN_OR_RETURN(auto existing,
                     QueryOperations("request_id = ?", {op.request_id}, /*limit=*/1));
    if (!existing.empty()) return Created{existing.front(), false};
  }
  absl::Time now = clock_.Now();
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
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(OperationRecord op, GetOperationLocked(id));
  if (IsFinished(op.state)) {
    return absl::FailedPreconditionError(
        absl::StrCat("journal: operation ", id, " already ", OperationStateName(op.state)));
  }
  return Exec(db_, "UPDATE operations SET state = ?, outcome = ?, updated_us = ? WHERE id = ?",
              {OperationStateName(state), outcome, ToMicros(clock_.Now()), id});
}

absl::Status SqliteJournal::SetArmOperationUrl(const std::string& id, const std::string& url) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(GetOperationLocked(id).status());
  return Exec(db_, "UPDATE operations SET arm_operation_url = ?, updated_us = ? WHERE id = ?",
              {url, ToMicros(clock_.Now()), id});
}

absl::StatusOr<OperationRecord> SqliteJournal::GetOperation(const std::string& id) {
  absl::MutexLock lock(&mu_);
  return GetOperationLocked(id);
}

absl::StatusOr<OperationRecord> SqliteJournal::GetOperationLocked(const std::string& id) {
  ASSIGN_OR_RETURN(auto ops, QueryOperations("id = ?", {id}, 1));
  if (ops.empty()) return absl::NotFoundError(absl::StrCat("journal: no operation ", id));
  return ops.front();
}

absl::StatusOr<std::optional<OperationRecord>> SqliteJournal::FindByRequestId(
    const std::string& request_id) {
  if (request_id.empty()) return std::optional<OperationRecord>();
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto ops, QueryOperations("request_id = ?", {request_id}, 1));
  if (ops.empty()) return std::optional<OperationRecord>();
  return std::optional<OperationRecord>(ops.front());
}

absl::StatusOr<std::vector<OperationRecord>> SqliteJournal::ListOperations(
    const std::string& group_id, int limit) {
  absl::MutexLock lock(&mu_);
  if (group_id.empty()) return QueryOperations("", {}, limit);
  return QueryOperations("group_id = ?", {group_id}, limit);
}

absl::StatusOr<std::vector<OperationRecord>> SqliteJournal::UnfinishedOperations() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto ops, QueryOperations("state IN ('pending', 'running')", {}, 0));
  std::reverse(ops.begin(), ops.end());
  return ops;
}

absl::StatusOr<std::vector<OperationRecord>> SqliteJournal::QueryOperations(
    const std::string& where_sql, const std::vector<std::string>& where_args, int limit) {
  std::string sql = absl::StrCat("SELECT ", kOperationColumns, " FROM operations");
  std::vector<Arg> args(where_args.begin(), where_args.end());
  if (!where_sql.empty()) absl::StrAppend(&sql, " WHERE ", where_sql);
  absl::StrAppend(&sql, " ORDER BY created_us DESC, rowid DESC");
  if (limit > 0) absl::StrAppend(&sql, " LIMIT ", limit);
  Statement st(db_, sql);
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
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(OperationRecord op, GetOperationLocked(operation_id));
  if (IsFinished(op.state)) {
    return absl::FailedPreconditionError(absl::StrCat("journal: operation ", operation_id,
                                                      " already ", OperationStateName(op.state)));
  }
  StepRecord step;
  step.operation_id = operation_id;
  step.name = name;
  step.detail = detail;
  step.started_at = clock_.Now();
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
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(Exec(db_,
                       "UPDATE steps SET state = ?, detail = ?, finished_us = ? "
                       "WHERE id = ? AND state = 'intent'",
                       {StepStateName(state), detail, ToMicros(clock_.Now()), step_id}));
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(absl::StrCat("journal: no open step ", step_id));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StepRecord>> SqliteJournal::Steps(const std::string& operation_id) {
  absl::MutexLock lock(&mu_);
  Statement st(db_,
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
  absl::MutexLock lock(&mu_);
  if (d.at == absl::InfinitePast()) d.at = clock_.Now();
  return Exec(db_,
              "INSERT INTO decisions(group_id, at_us, state, action, reasons_json, summary) "
              "VALUES(?,?,?,?,?,?)",
              {d.group_id, ToMicros(d.at), d.state, d.action,
               d.reasons_json.empty() ? std::string("[]") : d.reasons_json, d.summary});
}

absl::StatusOr<std::vector<DecisionRecord>> SqliteJournal::Decisions(const std::string& group_id,
                                                                     int limit) {
  absl::MutexLock lock(&mu_);
  std::string sql =
      "SELECT id, group_id, at_us, state, action, reasons_json, summary FROM decisions "
      "WHERE group_id = ? ORDER BY id DESC";
  if (limit > 0) absl::StrAppend(&sql, " LIMIT ", limit);
  Statement st(db_, sql);
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
  absl::MutexLock lock(&mu_);
  if (a.at == absl::InfinitePast()) a.at = clock_.Now();
  return Exec(db_,
              "INSERT INTO audit(at_us, actor, action, target, detail, outcome) "
              "VALUES(?,?,?,?,?,?)",
              {ToMicros(a.at), a.actor, a.action, a.target, a.detail, a.outcome});
}

absl::StatusOr<std::vector<AuditRecord>> SqliteJournal::AuditTrail(int limit) {
  absl::MutexLock lock(&mu_);
  std::string sql =
      "SELECT id, at_us, actor, action, target, detail, outcome FROM audit ORDER BY id DESC";
  if (limit > 0) absl::StrAppend(&sql, " LIMIT ", limit);
  Statement st(db_, sql);
  RETURN_IF_ERROR(st.Bind({}));
  std::vector<AuditRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back({st.Int(0), FromMicros(st.Int(1)), st.Text(2), st.Text(3), st.Text(4), st.Text(5),
                   st.Text(6)});
  }
  return out;
}

absl::StatusOr<std::optional<absl::Time>> SqliteJournal::LastSucceededFailover(
    const std::string& group_id) {
  absl::MutexLock lock(&mu_);
  Statement st(db_,
               "SELECT MAX(updated_us) FROM operations WHERE group_id = ? AND state = 'succeeded' "
               "AND kind != 'drill'");
  RETURN_IF_ERROR(st.Bind({group_id}));
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.IsNull(0)) return std::optional<absl::Time>();
  return std::optional<absl::Time>(FromMicros(st.Int(0)));
}

}  // namespace foghorn::journal
