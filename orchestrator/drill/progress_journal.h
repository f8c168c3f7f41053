// A Journal wrapper that reports a drill's progress as agent events while it journals it: every
// step begun or ended becomes a kOperationStep event and the operation's end a kOperation event,
// so the control API's Watch stream shows a drill live, exactly like a failover. The drill runner
// is given this wrapper instead of the bare journal; everything is forwarded unchanged.
#ifndef FOGHORN_ORCHESTRATOR_DRILL_PROGRESS_JOURNAL_H_
#define FOGHORN_ORCHESTRATOR_DRILL_PROGRESS_JOURNAL_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator/agent/agent.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::drill {

// `base` and `clock` must outlive the wrapper. `sink` is called on the writing thread after the
// write succeeded; it must not block (ApiServer::Publish does not). Thread-safe.
class ProgressJournal final : public journal::Journal {
 public:
  ProgressJournal(journal::Journal& base, const common::Clock& clock, agent::AgentEventSink sink)
      : base_(base), clock_(clock), sink_(std::move(sink)) {}

  absl::StatusOr<Created> CreateOperation(journal::OperationRecord op) override {
    absl::StatusOr<Created> c = base_.CreateOperation(std::move(op));
    if (c.ok() && c->created) {
      absl::MutexLock lock(&mu_);
      ops_[c->operation.id] = c->operation;
    }
    return c;
  }
  absl::Status UpdateOperation(const std::string& id, journal::OperationState state,
                               const std::string& outcome) override {
    absl::Status s = base_.UpdateOperation(id, state, outcome);
    if (!s.ok() || !journal::IsFinished(state)) return s;
    journal::OperationRecord op;
    {
      absl::MutexLock lock(&mu_);
      auto it = ops_.find(id);
      if (it == ops_.end()) return s;
      op = it->second;
      ops_.erase(it);
      for (auto st = steps_.begin(); st != steps_.end();) {
        st = st->second.operation_id == id ? steps_.erase(st) : std::next(st);
      }
    }
    op.state = state;
    op.outcome = outcome;
    Emit({op.group_id, id, clock_.Now(),
          absl::StrCat("drill ", journal::OperationStateName(state), ": ", outcome),
          agent::OperationChanged{std::move(op)}});
    return s;
  }
  absl::StatusOr<journal::StepRecord> BeginStep(const std::string& operation_id,
                                                const std::string& name,
                                                const std::string& detail) override {
    absl::StatusOr<journal::StepRecord> s = base_.BeginStep(operation_id, name, detail);
    if (s.ok()) {
      {
        absl::MutexLock lock(&mu_);
        steps_[s->id] = *s;
      }
      EmitStep(*s);
    }
    return s;
  }
  absl::Status EndStep(std::int64_t step_id, journal::StepState state,
                       const std::string& detail) override {
    absl::Status s = base_.EndStep(step_id, state, detail);
    if (!s.ok()) return s;
    journal::StepRecord step;
    {
      absl::MutexLock lock(&mu_);
      auto it = steps_.find(step_id);
      if (it == steps_.end()) return s;
      step = it->second;
      steps_.erase(it);
    }
    step.state = state;
    step.detail = detail;
    EmitStep(step);
    return s;
  }

  absl::Status SetArmOperationUrl(const std::string& id, const std::string& url) override {
    return base_.SetArmOperationUrl(id, url);
  }
  absl::StatusOr<journal::OperationRecord> GetOperation(const std::string& id) override {
    return base_.GetOperation(id);
  }
  absl::StatusOr<std::optional<journal::OperationRecord>> FindByRequestId(
      const std::string& request_id) override {
    return base_.FindByRequestId(request_id);
  }
  absl::StatusOr<std::vector<journal::OperationRecord>> ListOperations(const std::string& group_id,
                                                                       int limit) override {
    return base_.ListOperations(group_id, limit);
  }
  absl::StatusOr<std::vector<journal::OperationRecord>> UnfinishedOperations() override {
    return base_.UnfinishedOperations();
  }
  absl::StatusOr<std::vector<journal::StepRecord>> Steps(const std::string& operation_id) override {
    return base_.Steps(operation_id);
  }
  absl::Status RecordDecision(journal::DecisionRecord d) override {
    return base_.RecordDecision(std::move(d));
  }
  absl::StatusOr<std::vector<journal::DecisionRecord>> Decisions(const std::string& group_id,
                                                                 int limit) override {
    return base_.Decisions(group_id, limit);
  }
  absl::Status Audit(journal::AuditRecord a) override { return base_.Audit(std::move(a)); }
  absl::StatusOr<std::vector<journal::AuditRecord>> AuditTrail(int limit) override {
    return base_.AuditTrail(limit);
  }
  absl::StatusOr<std::optional<absl::Time>> LastSucceededFailover(
      const std::string& group_id) override {
    return base_.LastSucceededFailover(group_id);
  }
  absl::Status PutControlState(const std::map<std::string, std::string>& entries) override {
    return base_.PutControlState(entries);
  }
  absl::StatusOr<std::map<std::string, std::string>> ControlState() override {
    return base_.ControlState();
  }
  absl::StatusOr<journal::PruneResult> Prune(const journal::RetentionPolicy& policy,
                                             absl::Time now) override {
    return base_.Prune(policy, now);
  }

 private:
  void EmitStep(const journal::StepRecord& step) {
    journal::OperationRecord op;
    {
      absl::MutexLock lock(&mu_);
      auto it = ops_.find(step.operation_id);
      if (it == ops_.end()) return;
      op = it->second;
    }
    Emit({op.group_id, step.operation_id, clock_.Now(),
          absl::StrCat("drill ", step.name, " ", journal::StepStateName(step.state),
                       step.detail.empty() ? "" : ": ", step.detail),
          agent::OperationStepChanged{step, op.kind, op.request_id}});
  }
  void Emit(const agent::AgentEvent& e) {
    if (sink_) sink_(e);
  }

  journal::Journal& base_;
  const common::Clock& clock_;
  const agent::AgentEventSink sink_;
  absl::Mutex mu_;
  // Operations created through this wrapper and not finished, and their open steps.
  std::map<std::string, journal::OperationRecord> ops_ ABSL_GUARDED_BY(mu_);
  std::map<std::int64_t, journal::StepRecord> steps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::drill

#endif  // FOGHORN_ORCHESTRATOR_DRILL_PROGRESS_JOURNAL_H_
