#include "orchestrator/drill/drill_launcher.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::drill {

DrillLauncher::~DrillLauncher() { Shutdown(); }

absl::StatusOr<DrillLauncher::Launch> DrillLauncher::Start(const v1::Runbook& runbook,
                                                           DrillRequest request) {
  if (request.dry_run) return absl::InvalidArgumentError("a dry run is not launched: use Plan");
  const v1::FailoverGroupRef& ref = runbook.group();
  if (ref.primary_server().empty() || ref.secondary_server().empty() || ref.name().empty()) {
    return absl::InvalidArgumentError("drill: the runbook's group names no servers");
  }
  const std::string group_id = DrillGroupId(ref);
  if (!request.request_id.empty()) {
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [id, e] : entries_) {
        if (e->info.request_id != request.request_id) continue;
        if (e->info.group_id != group_id) {
          return absl::AlreadyExistsError(absl::StrCat(
              "request_id ", request.request_id, " was used for a drill of ", e->info.group_id));
        }
        Launch same{id, request.request_id, false, std::nullopt};
        if (e->info.report && !e->info.report->operation_id().empty()) {
          auto op = deps_.journal.GetOperation(e->info.report->operation_id());
          if (op.ok()) same.existing = *op;
        }
        return same;
      }
    }
    ASSIGN_OR_RETURN(std::optional<journal::OperationRecord> existing,
                     deps_.journal.FindByRequestId(request.request_id));
    if (existing.has_value()) {
      if (existing->kind != kDrillOperationKind || existing->group_id != group_id) {
        return absl::AlreadyExistsError(
            absl::StrCat("request_id ", request.request_id, " was used for operation ",
                         existing->id, " (", existing->kind, " of ", existing->group_id, ")"));
      }
      return Launch{"", request.request_id, false, existing};
    }
  }

  absl::MutexLock lock(&mu_);
  if (shut_down_) return absl::UnavailableError("the agent is shutting down");
  for (const auto& [id, e] : entries_) {
    if (e->info.running && e->info.group_id == group_id) {
      return absl::AbortedError(
          absl::StrCat("drill ", id, " of ", group_id, " is still running; one drill per group"));
    }
  }
  // Threads of finished drills are joined here (they have returned), so they do not pile up.
  for (auto& [id, e] : entries_) {
    if (!e->info.running && e->thread.joinable()) e->thread.join();
  }
  const absl::Time now = deps_.clock.Now();
  std::string drill_id = DrillIdFor(ref.name(), now);
  for (int n = 2; entries_.count(drill_id) > 0 ||
                  (deps_.reports != nullptr && deps_.reports->Read(drill_id).ok());
       ++n) {
    drill_id = absl::StrCat(DrillIdFor(ref.name(), now), "-", n);
  }
  if (request.request_id.empty()) request.request_id = drill_id;
  request.drill_id = drill_id;
  auto entry = std::make_unique<Entry>();
  Entry* e = entry.get();
  e->info = {drill_id, group_id, request.request_id, request.requested_by, request.reason,
             now,      true,     std::nullopt,       absl::OkStatus()};
  request.cancel = &e->cancel;
  ++running_;
  entries_[drill_id] = std::move(entry);
  Launch launch{drill_id, request.request_id, true, std::nullopt};
  e->thread = std::thread(&DrillLauncher::RunEntry, this, e, runbook, std::move(request));
  return launch;
}

void DrillLauncher::RunEntry(Entry* e, v1::Runbook runbook, DrillRequest request) {
  absl::StatusOr<DrillReport> r = deps_.runner.Run(runbook, request);
  if (!r.ok()) {
    deps_.logger.Error("drill could not run",
                       {{"drill", request.drill_id}, {"error", r.status().ToString()}});
  }
  EntryDone(e, std::move(r));
}

void DrillLauncher::ResumeEntry(Entry* e, v1::Runbook runbook, journal::OperationRecord op) {
  absl::StatusOr<DrillReport> r = deps_.runner.Resume(runbook, op);
  if (!r.ok()) {
    deps_.logger.Error(
        "interrupted drill could not be resumed; it stays unfinished, its pause released",
        {{"drill", e->info.drill_id}, {"operation", op.id}, {"error", r.status().ToString()}});
  }
  EntryDone(e, std::move(r));
}

void DrillLauncher::EntryDone(Entry* e, absl::StatusOr<DrillReport> r) {
  absl::MutexLock lock(&mu_);
  e->info.running = false;
  if (r.ok()) {
    e->info.report = std::move(r).value();
  } else {
    e->info.error = r.status();
  }
  --running_;
}

absl::StatusOr<std::vector<std::string>> DrillLauncher::ResumeUnfinished(
    const std::vector<v1::Runbook>& runbooks) {
  ASSIGN_OR_RETURN(std::vector<journal::OperationRecord> unfinished,
                   deps_.journal.UnfinishedOperations());
  std::vector<std::string> resumed;
  for (const journal::OperationRecord& op : unfinished) {
    if (op.kind != kDrillOperationKind) continue;
    const v1::Runbook* runbook = nullptr;
    for (const v1::Runbook& rb : runbooks) {
      if (DrillGroupId(rb.group()) == op.group_id) runbook = &rb;
    }
    if (runbook == nullptr) {
      deps_.logger.Error("an interrupted drill's group is named by no runbook; left unfinished",
                         {{"operation", op.id}, {"group", op.group_id}});
      continue;
    }
    ASSIGN_OR_RETURN(std::string drill_id, deps_.runner.ResumedDrillId(op));
    absl::MutexLock lock(&mu_);
    if (shut_down_) return absl::UnavailableError("the agent is shutting down");
    bool busy = entries_.count(drill_id) > 0;
    for (const auto& [id, e] : entries_) busy |= e->info.running && e->info.group_id == op.group_id;
    if (busy) {
      // One drill per group: a second unfinished one waits for the next start.
      deps_.logger.Error("another drill of the group is being resumed; left unfinished",
                         {{"operation", op.id}, {"group", op.group_id}});
      continue;
    }
    auto entry = std::make_unique<Entry>();
    Entry* e = entry.get();
    const absl::Time started = op.created_at == absl::InfinitePast()
                                   ? deps_.clock.Now()
                                   : deps_.clock.FromWall(op.created_at);
    e->info = {drill_id, op.group_id, op.request_id, op.requested_by, op.reason,
               started,  true,        std::nullopt,  absl::OkStatus()};
    ++running_;
    entries_[drill_id] = std::move(entry);
    e->thread = std::thread(&DrillLauncher::ResumeEntry, this, e, *runbook, op);
    resumed.push_back(drill_id);
  }
  return resumed;
}

absl::StatusOr<DrillReport> DrillLauncher::Plan(const v1::Runbook& runbook, DrillRequest request) {
  request.dry_run = true;
  request.cancel = nullptr;
  return deps_.runner.Run(runbook, request);
}

ReadinessReport DrillLauncher::CheckReadiness(const v1::Runbook& runbook) {
  return deps_.runner.CheckReadiness(runbook);
}

std::vector<DrillLauncher::Info> DrillLauncher::Drills() const {
  std::vector<Info> out;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, e] : entries_) out.push_back(e->info);
  }
  std::sort(out.begin(), out.end(),
            [](const Info& a, const Info& b) { return a.started_at > b.started_at; });
  return out;
}

std::optional<DrillLauncher::Info> DrillLauncher::Find(const std::string& drill_id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(drill_id);
  if (it == entries_.end()) return std::nullopt;
  return it->second->info;
}

void DrillLauncher::CancelAll() {
  absl::MutexLock lock(&mu_);
  for (auto& [id, e] : entries_) {
    if (e->info.running) e->cancel = true;
  }
}

void DrillLauncher::Shutdown() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (auto& [id, e] : entries_) {
      if (e->info.running) e->cancel = true;
      if (e->thread.joinable()) threads.push_back(std::move(e->thread));
    }
  }
  for (std::thread& t : threads) t.join();
}

bool DrillLauncher::AwaitIdle(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(
                                  +[](const int* running) { return *running == 0; }, &running_),
                              timeout);
}

}  // namespace foghorn::drill
