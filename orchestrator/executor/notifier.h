// Notifications to humans and other systems: decisions that need a human (approval, holds that
// block an outage response) and operation outcomes. The agent and the operation executor call a
// Notifier; WebhookNotifier posts JSON to the configured webhooks.
#ifndef FOGHORN_ORCHESTRATOR_EXECUTOR_NOTIFIER_H_
#define FOGHORN_ORCHESTRATOR_EXECUTOR_NOTIFIER_H_

#include <string>

#include "absl/time/time.h"

namespace foghorn::executor {

struct Notification {
  // "decision_needs_human", "operation_started", "operation_succeeded", "operation_failed", ...
  std::string event;
  std::string group_id;
  std::string operation_id;  // empty for decisions
  std::string summary;       // one line for humans
  std::string details_json;  // machine-readable payload (a JSON object), or empty
  absl::Time at = absl::InfinitePast();
  // Notifications with the same non-empty key within the dedup window are sent once.
  std::string dedup_key;
};

// Delivers notifications. Implementations are thread-safe and never block the caller on the
// network.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void Notify(Notification n) = 0;
};

// Drops everything (used when no webhook is configured).
class NullNotifier final : public Notifier {
 public:
  void Notify(Notification) override {}
};

}  // namespace foghorn::executor

#endif  // FOGHORN_ORCHESTRATOR_EXECUTOR_NOTIFIER_H_
