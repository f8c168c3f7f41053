// The content of tests/fixtures/journal/: what journal_fixture_writer writes into a journal with
// the code of its day, and what journal_upgrade_test expects to find, row for row, when today's
// code opens a copy of that file. Operations (finished and one still running, with a step left at
// its intent), their steps, decisions, audit records (a refusal among them) and control state,
// with text that must come back exactly (quotes, newlines, non-ASCII).
//
// Never change a record here without writing a new fixture file beside the old ones: the old files
// stand for journals already on disk at sites that upgrade.
#ifndef FOGHORN_TESTS_ORCHESTRATOR_JOURNAL_JOURNAL_FIXTURE_H_
#define FOGHORN_TESTS_ORCHESTRATOR_JOURNAL_JOURNAL_FIXTURE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "orchestrator/common/fake_clock.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::journal::fixture {

// Every time in the fixture is kEpoch plus a number of seconds (2026-01-01T00:00:00Z).
inline absl::Time At(int seconds) { return absl::FromUnixSeconds(1767225600 + seconds); }

struct Step {
  std::string name;
  std::string begin_detail;
  StepState end = StepState::kIntent;  // kIntent: left at its intent (the agent crashed)
  std::string end_detail;
  int begin_s = 0;
  int end_s = 0;
};

struct Operation {
  OperationRecord record;  // id, group, request id, kind, target, requested_by, reason
  int created_s = 0;
  std::string arm_operation_url;  // set at arm_url_s when not empty
  int arm_url_s = 0;
  std::vector<Step> steps;
  OperationState final_state = OperationState::kPending;  // kPending: never updated
  std::string outcome;
  int updated_s = 0;
};

inline OperationRecord Op(std::string id, std::string group, std::string request_id,
                          std::string kind, std::string target, std::string by,
                          std::string reason) {
  OperationRecord r;
  r.id = std::move(id);
  r.group_id = std::move(group);
  r.request_id = std::move(request_id);
  r.kind = std::move(kind);
  r.target_server = std::move(target);
  r.requested_by = std::move(by);
  r.reason = std::move(reason);
  return r;
}

inline constexpr char kOrders[] = "00000000-0000-0000-0000-000000000001/rg-orders/fog-orders";
inline constexpr char kCatalog[] = "00000000-0000-0000-0000-000000000002/rg-catalog/fog-catalog";

inline std::vector<Operation> Operations() {
  const std::string url =
      "https://management.azure.com/subscriptions/00000000-0000-0000-0000-000000000001/providers/"
      "Microsoft.Sql/locations/eastus2/failoverGroupAzureAsyncOperation/"
      "6f1d0a5c-1b2e-4c3d-9e8f-0a1b2c3d4e5f?api-version=2025-01-01";
  return {
      {Op("op-20260101T000100-forced", kOrders, "", "try_planned_before_forced", "sql-orders-wus",
          "agent", "primary confirmed down in eastus for 5m0s"),
       60,
       url,
       75,
       {{"notify-oncall", "POST https://hooks.example/foghorn", StepState::kDone, "200", 61, 62},
        {"pre-hook", "/usr/local/bin/drain \"orders\"", StepState::kDone, "drained\n3 sessions", 63,
         70},
        {"arm-failover", "tryPlannedBeforeForcedFailover -> sql-orders-wus", StepState::kDone,
         "Succeeded after 41.2s", 71, 113},
        {"verify", "wait for primary role", StepState::kDone, "sql-orders-wus is Primary", 114,
         120}},
       OperationState::kSucceeded,
       "failed over to sql-orders-wus (data loss ≤ 4s)",
       121},
      {Op("op-20260101T010000-planned", kCatalog, "req-7f3a", "planned", "sql-catalog-eas",
          "alice@contoso.example", "patching région sea — planned"),
       3600,
       "",
       0,
       {{"approval", "wait for an approver", StepState::kFailed, "rejected by bob: not now", 3601,
         3700},
        {"arm-failover", "", StepState::kSkipped, "rejected before the ARM step", 3701, 3701}},
       OperationState::kAborted,
       "rejected by bob@contoso.example",
       3702},
      {Op("op-20260101T020000-running", kOrders, "req-crash-1", "forced", "sql-orders-eus",
          "bob@contoso.example", "failback after the drill"),
       7200,
       url,
       7230,
       {{"notify-oncall", "POST https://hooks.example/foghorn", StepState::kDone, "200", 7201,
         7202},
        {"arm-failover", "forceFailoverAllowDataLoss -> sql-orders-eus", StepState::kIntent, "",
         7203, 0}},
       OperationState::kRunning,
       "",
       7231},
  };
}

inline std::vector<DecisionRecord> Decisions() {
  auto d = [](std::string group, int at_s, std::string state, std::string action,
              std::string reasons, std::string summary) {
    DecisionRecord r;
    r.group_id = std::move(group);
    r.at = At(at_s);
    r.state = std::move(state);
    r.action = std::move(action);
    r.reasons_json = std::move(reasons);
    r.summary = std::move(summary);
    return r;
  };
  return {
      d(kOrders, 10, "SUSPECT", "none", R"([{"code":"PRIMARY_PROBES_FAILING","n":2}])",
        "primary probes failing (2 of 3)"),
      d(kOrders, 40, "CONFIRMED_DOWN", "none", R"([{"code":"PRIMARY_DOWN","for_s":30}])",
        "primary confirmed down"),
      d(kOrders, 59, "TRY_PLANNED_BEFORE_FORCED", "forced",
        R"([{"code":"DATA_LOSS_GRACE_PASSED"},{"code":"LAG_WITHIN_BUDGET","lag_s":4}])",
        "forced failover: grace passed, estimated loss 4s ≤ 30s"),
      d(kCatalog, 3599, "HOLD", "wait_approval", R"([{"code":"APPROVAL_REQUIRED"}])",
        "waiting for approval \"manual\" mode"),
  };
}

inline std::vector<AuditRecord> AuditRecords() {
  return {
      {0, At(3590), "alice@contoso.example", "RequestFailover", kCatalog, "kind=planned", "ok",
       false},
      {0, At(3650), "unauthenticated@10.0.0.9", "Approve", kCatalog, "refused",
       "UNAUTHENTICATED: no token", true},
      {0, At(3700), "bob@contoso.example", "Reject", kCatalog, "not now\n(second line)", "ok",
       false},
      {0, At(7000), "carol@contoso.example", "Pause", kOrders, "maintenance ✓ 2h", "ok", false},
  };
}

inline std::map<std::string, std::string> ControlState() {
  return {
      {absl::StrCat("group/", kOrders),
       R"({"outage_started_us":1767225640000000,"last_lag_s":4,"cooldown_anchor_us":1767225721000000})"},
      {absl::StrCat("pause/carol@contoso.example/", kOrders),
       R"({"until_us":1767240000000000,"reason":"maintenance ✓ 2h"})"},
  };
}

// Writes every record above through `journal`, moving `clock` (which must start at or before
// At(0) and stamp the journal) to each record's time first.
inline absl::Status WriteFixture(Journal& journal, common::FakeClock& clock) {
  for (const Operation& op : Operations()) {
    clock.SetTime(At(op.created_s));
    absl::StatusOr<Journal::Created> created = journal.CreateOperation(op.record);
    if (!created.ok()) return created.status();
    for (const Step& step : op.steps) {
      clock.SetTime(At(step.begin_s));
      absl::StatusOr<StepRecord> begun =
          journal.BeginStep(op.record.id, step.name, step.begin_detail);
      if (!begun.ok()) return begun.status();
      if (!op.arm_operation_url.empty() && step.name == "arm-failover") {
        clock.SetTime(At(op.arm_url_s));
        if (absl::Status s = journal.SetArmOperationUrl(op.record.id, op.arm_operation_url);
            !s.ok()) {
          return s;
        }
      }
      if (step.end == StepState::kIntent) continue;
      clock.SetTime(At(step.end_s));
      if (absl::Status s = journal.EndStep(begun->id, step.end, step.end_detail); !s.ok()) {
        return s;
      }
    }
    if (op.final_state != OperationState::kPending) {
      clock.SetTime(At(op.updated_s));
      if (absl::Status s = journal.UpdateOperation(op.record.id, op.final_state, op.outcome);
          !s.ok()) {
        return s;
      }
    }
  }
  for (const DecisionRecord& d : Decisions()) {
    if (absl::Status s = journal.RecordDecision(d); !s.ok()) return s;
  }
  for (const AuditRecord& a : AuditRecords()) {
    if (absl::Status s = journal.Audit(a); !s.ok()) return s;
  }
  return journal.PutControlState(ControlState());
}

}  // namespace foghorn::journal::fixture

#endif  // FOGHORN_TESTS_ORCHESTRATOR_JOURNAL_JOURNAL_FIXTURE_H_
