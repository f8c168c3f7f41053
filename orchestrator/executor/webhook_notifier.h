// A Notifier that POSTs each notification as JSON to every configured webhook, from its own
// sender thread, deduplicating by key within a window and retrying a failed delivery a few times.
#ifndef FOGHORN_ORCHESTRATOR_EXECUTOR_WEBHOOK_NOTIFIER_H_
#define FOGHORN_ORCHESTRATOR_EXECUTOR_WEBHOOK_NOTIFIER_H_

#include <deque>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/common/log.h"
#include "orchestrator/common/metrics.h"
#include "orchestrator/executor/notifier.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::executor {

struct WebhookTarget {
  std::string url;
  std::map<std::string, std::string> headers;
};

class WebhookNotifier final : public Notifier {
 public:
  struct Options {
    absl::Duration dedup_window = absl::Minutes(10);
    absl::Duration timeout = absl::Seconds(5);
    int attempts = 3;
    size_t max_queue = 1000;  // older notifications are dropped (and counted) beyond this
  };

  // `transport`, `clock` and `metrics` must outlive the notifier. Starts the sender thread.
  WebhookNotifier(std::vector<WebhookTarget> targets, http::HttpTransport& transport,
                  const common::Clock& clock, common::Logger logger,
                  common::MetricsRegistry& metrics, Options options);
  ~WebhookNotifier() override;

  void Notify(Notification n) override;

  // Blocks until every queued notification has been attempted (for tests and orderly shutdown).
  void Flush();

  // The JSON body sent for `n`.
  static std::string Body(const Notification& n);

 private:
  void Run();
  void Deliver(const Notification& n);

  const std::vector<WebhookTarget> targets_;
  http::HttpTransport& transport_;
  const common::Clock& clock_;
  common::Logger logger_;
  common::MetricsRegistry& metrics_;
  const Options options_;

  absl::Mutex mu_;
  std::deque<Notification> queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> last_sent_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace foghorn::executor

#endif  // FOGHORN_ORCHESTRATOR_EXECUTOR_WEBHOOK_NOTIFIER_H_
