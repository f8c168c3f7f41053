// A Journal wrapper that fails or "crashes" at a chosen write, for the resume-after-crash tests
// (leveldb's fault_injection_test). Writes are counted in order across all write methods but Prune.
// The agent binary wraps its journal in one when FOGHORN_JOURNAL_CRASH_AFTER_WRITE=N is set, so
// end-to-end tests can kill it right after the Nth durable write.
#ifndef FOGHORN_ORCHESTRATOR_JOURNAL_FAULT_INJECTING_JOURNAL_H_
#define FOGHORN_ORCHESTRATOR_JOURNAL_FAULT_INJECTING_JOURNAL_H_

#include <atomic>
#include <functional>
#include <memory>

#include "orchestrator/journal/journal.h"

namespace foghorn::journal {

class FaultInjectingJournal final : public Journal {
 public:
  struct Options {
    // 1-based index of the write that fails with UNAVAILABLE without reaching `base`; 0 = never.
    int fail_write = 0;
    // 1-based index of the write after whose commit `on_crash` runs; 0 = never.
    int crash_after_write = 0;
    // What a crash does; the agent passes a function that raises SIGKILL. When empty, the
    // journal "dies" instead: every later write fails with UNAVAILABLE, as if the process had
    // stopped right after the crash write (in-process crash tests).
    std::function<void()> on_crash;
  };

  FaultInjectingJournal(std::unique_ptr<Journal> base, Options options)
      : base_(std::move(base)), options_(std::move(options)) {}

  int writes() const { return writes_.load(); }

  absl::StatusOr<Created> CreateOperation(OperationRecord op) override {
    return Write([&] { return base_->CreateOperation(std::move(op)); });
  }
  absl::Status UpdateOperation(const std::string& id, OperationState state,
                               const std::string& outcome) override {
    return Write([&] { return base_->UpdateOperation(id, state, outcome); });
  }
  absl::Status SetArmOperationUrl(const std::string& id, const std::string& url) override {
    return Write([&] { return base_->SetArmOperationUrl(id, url); });
  }
  absl::StatusOr<StepRecord> BeginStep(const std::string& operation_id, const std::string& name,
                                       const std::string& detail) override {
    return Write([&] { return base_->BeginStep(operation_id, name, detail); });
  }
  absl::Status EndStep(std::int64_t step_id, StepState state, const std::string& detail) override {
    return Write([&] { return base_->EndStep(step_id, state, detail); });
  }
  absl::Status RecordDecision(DecisionRecord d) override {
    return Write([&] { return base_->RecordDecision(std::move(d)); });
  }
  absl::Status Audit(AuditRecord a) override {
    return Write([&] { return base_->Audit(std::move(a)); });
  }

  absl::StatusOr<OperationRecord> GetOperation(const std::string& id) override {
    return base_->GetOperation(id);
  }
  absl::StatusOr<std::optional<OperationRecord>> FindByRequestId(
      const std::string& request_id) override {
    return base_->FindByRequestId(request_id);
  }
  absl::StatusOr<std::vector<OperationRecord>> ListOperations(const std::string& group_id,
                                                              int limit) override {
    return base_->ListOperations(group_id, limit);
  }
  absl::StatusOr<std::vector<OperationRecord>> UnfinishedOperations() override {
    return base_->UnfinishedOperations();
  }
  absl::StatusOr<std::vector<StepRecord>> Steps(const std::string& operation_id) override {
    return base_->Steps(operation_id);
  }
  absl::StatusOr<std::vector<DecisionRecord>> Decisions(const std::string& group_id,
                                                        int limit) override {
    return base_->Decisions(group_id, limit);
  }
  absl::StatusOr<std::vector<AuditRecord>> AuditTrail(int limit) override {
    return base_->AuditTrail(limit);
  }
  absl::StatusOr<std::optional<absl::Time>> LastSucceededFailover(
      const std::string& group_id) override {
    return base_->LastSucceededFailover(group_id);
  }
  absl::Status PutControlState(const std::map<std::string, std::string>& entries) override {
    return Write([&] { return base_->PutControlState(entries); });
  }
  absl::StatusOr<std::map<std::string, std::string>> ControlState() override {
    return base_->ControlState();
  }
  // Forwarded without counting as a write: the agent prunes at start and hourly, and the crash
  // tests' write indices must not depend on when that happens. A "dead" journal refuses it.
  absl::StatusOr<PruneResult> Prune(const RetentionPolicy& policy, absl::Time now) override {
    if (dead_.load()) return absl::UnavailableError("journal: crashed");
    return base_->Prune(policy, now);
  }

 private:
  template <typename F>
  auto Write(F&& f) -> decltype(f()) {
    if (dead_.load()) return absl::UnavailableError("journal: crashed");
    int n = ++writes_;
    if (n == options_.fail_write) {
      return absl::UnavailableError("journal: injected write failure");
    }
    auto result = f();
    if (n == options_.crash_after_write) {
      if (options_.on_crash) {
        options_.on_crash();
      } else {
        dead_ = true;
      }
    }
    return result;
  }

  std::unique_ptr<Journal> base_;
  Options options_;
  std::atomic<int> writes_{0};
  std::atomic<bool> dead_{false};
};

}  // namespace foghorn::journal

#endif  // FOGHORN_ORCHESTRATOR_JOURNAL_FAULT_INJECTING_JOURNAL_H_
