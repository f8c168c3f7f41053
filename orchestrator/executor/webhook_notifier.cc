#include "orchestrator/executor/webhook_notifier.h"

#include <utility>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace foghorn::executor {

WebhookNotifier::WebhookNotifier(std::vector<WebhookTarget> targets, http::HttpTransport& transport,
                                 const common::Clock& clock, common::Logger logger,
                                 common::MetricsRegistry& metrics, Options options)
    : targets_(std::move(targets)),
      transport_(transport),
      clock_(clock),
      logger_(std::move(logger)),
      metrics_(metrics),
      options_(options) {
  thread_ = std::thread([this] { Run(); });
}

WebhookNotifier::~WebhookNotifier() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void WebhookNotifier::Notify(Notification n) {
  if (n.at == absl::InfinitePast()) n.at = clock_.Now();
  absl::MutexLock lock(&mu_);
  if (!n.dedup_key.empty()) {
    auto it = last_sent_.find(n.dedup_key);
    if (it != last_sent_.end() && n.at - it->second < options_.dedup_window) {
      metrics_.IncrementCounter("foghorn_notifications_total", {{"result", "deduplicated"}});
      return;
    }
    last_sent_[n.dedup_key] = n.at;
  }
  if (queue_.size() >= options_.max_queue) {
    queue_.pop_front();
    metrics_.IncrementCounter("foghorn_notifications_total", {{"result", "dropped"}});
  }
  queue_.push_back(std::move(n));
}

void WebhookNotifier::Flush() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](WebhookNotifier* self)
           ABSL_NO_THREAD_SAFETY_ANALYSIS { return self->queue_.empty() && self->in_flight_ == 0; },
      this));
}

std::string WebhookNotifier::Body(const Notification& n) {
  nlohmann::json j = {
      {"source", "foghorn"},
      {"event", n.event},
      {"group", n.group_id},
      {"summary", n.summary},
      {"at", absl::FormatTime(absl::RFC3339_full, n.at, absl::UTCTimeZone())},
  };
  if (!n.operation_id.empty()) j["operation"] = n.operation_id;
  if (!n.details_json.empty()) {
    nlohmann::json details = nlohmann::json::parse(n.details_json, nullptr, false);
    j["details"] = details.is_discarded() ? nlohmann::json(n.details_json) : details;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void WebhookNotifier::Run() {
  for (;;) {
    Notification n;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WebhookNotifier* self)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return self->stopping_ || !self->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping with nothing left
      n = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
    Deliver(n);
    absl::MutexLock lock(&mu_);
    --in_flight_;
  }
}

void WebhookNotifier::Deliver(const Notification& n) {
  const std::string body = Body(n);
  for (const WebhookTarget& target : targets_) {
    http::HttpRequest req;
    req.method = "POST";
    req.url = target.url;
    req.secret_url = true;
    req.max_response_bytes = 64 << 10;
    req.body = body;
    req.timeout = options_.timeout;
    req.headers.Set("Content-Type", "application/json");
    for (const auto& [k, v] : target.headers) req.headers.Set(k, v);
    std::string result = "failed";
    std::string last_error;
    for (int attempt = 1; attempt <= options_.attempts; ++attempt) {
      absl::StatusOr<http::HttpResponse> resp = transport_.Send(req);
      if (resp.ok() && resp->status >= 200 && resp->status < 300) {
        result = "sent";
        break;
      }
      last_error = resp.ok() ? "HTTP " + std::to_string(resp->status) : resp.status().ToString();
      // A 4xx other than 408/429 will not get better by retrying.
      if (resp.ok() && resp->status >= 400 && resp->status < 500 && resp->status != 408 &&
          resp->status != 429) {
        break;
      }
    }
    metrics_.IncrementCounter("foghorn_notifications_total", {{"result", result}});
    if (result != "sent") {
      logger_.Warn("webhook delivery failed", {{"url", http::UrlOrigin(target.url)},
                                               {"event", n.event},
                                               {"group", n.group_id},
                                               {"error", last_error}});
    }
  }
}

}  // namespace foghorn::executor
