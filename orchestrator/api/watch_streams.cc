#include "orchestrator/api/watch_streams.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"
#include "orchestrator/api/convert.h"
#include "orchestrator/common/status_macros.h"

namespace foghorn::api {

// One Watch stream: subscribes (on a worker pool, since resolving group names reads the agent),
// writes SUBSCRIBED, then drains its subscription whenever the hub wakes it. At most one write
// is in flight; nothing here waits.
class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchResponse> {
 public:
  WatchReactor(WatchStreams* streams, grpc::CallbackServerContext* ctx, const v1::WatchRequest* req)
      : streams_(streams) {
    absl::StatusOr<Caller> caller = streams_->deps_.authenticate(ctx);
    if (!caller.ok()) {
      FinishWith(caller.status());
      return;
    }
    if (absl::Status s = streams_->Acquire(*caller); !s.ok()) {
      FinishWith(s);
      return;
    }
    caller_ = caller->name;
    BoundedPool::Submitted submitted =
        streams_->deps_.submit(*caller, [this, copy = *req] { Setup(copy); });
    if (submitted == BoundedPool::Submitted::kFull) {
      FinishWith(Overloaded("queued read-only calls"));
    } else if (submitted == BoundedPool::Submitted::kShutDown) {
      FinishWith(absl::UnavailableError("the agent is shutting down"));
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    current_.reset();
    if (!ok) {
      FinishLocked(absl::CancelledError("the stream broke"));
      return;
    }
    if (close_pending_) {
      FinishLocked(absl::UnavailableError("the agent is shutting down"));
      return;
    }
    PumpLocked();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    if (!writing_ && !setting_up_) FinishLocked(absl::CancelledError("cancelled by the client"));
  }

  void OnDone() override {
    std::shared_ptr<Subscription> sub;
    {
      absl::MutexLock lock(&mu_);
      sub = sub_;
    }
    if (caller_.has_value()) streams_->Release(*caller_);
    if (sub) {
      sub->Detach();
      streams_->hub_.Unsubscribe(sub);
      streams_->deps_.metrics.SetGauge("foghorn_api_watch_subscribers", {},
                                       static_cast<double>(streams_->hub_.subscribers()));
      if (sub->dropped() > 0) {
        streams_->deps_.metrics.IncrementCounter("foghorn_api_watch_dropped_total", {},
                                                 static_cast<double>(sub->dropped()));
      }
    }
    delete this;
  }

 private:
  void Setup(const v1::WatchRequest& req) {
    absl::Status s = [&]() -> absl::Status {
      WatchFilter filter;
      for (const std::string& g : req.group_ids()) {
        ASSIGN_OR_RETURN(std::string id, streams_->deps_.resolve_group(g));
        filter.group_ids.insert(std::move(id));
      }
      for (int k : req.kinds()) {
        if (!v1::EventKind_IsValid(k) || k == v1::EVENT_KIND_UNSPECIFIED) {
          return absl::InvalidArgumentError(absl::StrCat("unknown event kind ", k));
        }
        filter.kinds.insert(k);
      }
      filter.operation_id = req.operation_id();
      std::shared_ptr<Subscription> sub = streams_->hub_.Subscribe(
          std::move(filter), [this] { Pump(); }, [this] { Close(); });
      if (sub == nullptr) return absl::UnavailableError("the agent is shutting down");
      absl::MutexLock lock(&mu_);
      sub_ = std::move(sub);
      return absl::OkStatus();
    }();
    absl::MutexLock lock(&mu_);
    setting_up_ = false;
    if (!s.ok()) {
      FinishLocked(s);
      return;
    }
    streams_->deps_.metrics.SetGauge("foghorn_api_watch_subscribers", {},
                                     static_cast<double>(streams_->hub_.subscribers()));
    if (cancelled_) {
      FinishLocked(absl::CancelledError("cancelled by the client"));
      return;
    }
    auto hello = std::make_shared<v1::WatchResponse>();
    hello->set_kind(v1::EVENT_KIND_SUBSCRIBED);
    hello->set_seq(streams_->hub_.last_seq());
    SetTimestamp(streams_->deps_.clock.Now(), hello->mutable_at());
    hello->set_summary("subscribed");
    current_ = std::move(hello);
    writing_ = true;
    StartWrite(current_.get());
  }

  void Pump() {
    absl::MutexLock lock(&mu_);
    PumpLocked();
  }

  void PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || sub_ == nullptr) return;
    if (cancelled_) {
      FinishLocked(absl::CancelledError("cancelled by the client"));
      return;
    }
    current_ = sub_->Next();
    if (current_ == nullptr) return;
    writing_ = true;
    StartWrite(current_.get());
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    if (writing_ || setting_up_) {
      close_pending_ = true;
      return;
    }
    FinishLocked(absl::UnavailableError("the agent is shutting down"));
  }

  void FinishWith(const absl::Status& s) {
    absl::MutexLock lock(&mu_);
    setting_up_ = false;
    FinishLocked(s);
  }

  void FinishLocked(const absl::Status& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    streams_->deps_.metrics.IncrementCounter(
        "foghorn_api_requests_total",
        {{"method", "Watch"}, {"code", absl::StatusCodeToString(s.code())}});
    Finish(ToGrpcStatus(s));
  }

  WatchStreams* const streams_;
  // Set when the stream holds a Watch slot (released in OnDone).
  std::optional<std::string> caller_;
  absl::Mutex mu_;
  std::shared_ptr<Subscription> sub_ ABSL_GUARDED_BY(mu_);
  EventPtr current_ ABSL_GUARDED_BY(mu_);
  bool setting_up_ ABSL_GUARDED_BY(mu_) = true;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool close_pending_ ABSL_GUARDED_BY(mu_) = false;
};

WatchStreams::WatchStreams(Deps deps, Options options)
    : deps_(std::move(deps)),
      options_(options),
      hub_(static_cast<std::size_t>(options.queue_capacity)) {
  fanout_thread_ = std::thread([this] { RunFanout(); });
}

WatchStreams::~WatchStreams() { Close(); }

void WatchStreams::Publish(const agent::AgentEvent& e) {
  absl::MutexLock lock(&fanout_mu_);
  if (fanout_stopping_) return;
  if (static_cast<int>(fanout_queue_.size()) >= options_.fanout_queue_capacity) {
    ++fanout_dropped_;
    return;
  }
  fanout_queue_.push_back(e);
}

grpc::ServerWriteReactor<v1::WatchResponse>* WatchStreams::Open(grpc::CallbackServerContext* ctx,
                                                                const v1::WatchRequest* req) {
  return new WatchReactor(this, ctx, req);
}

void WatchStreams::Close() {
  {
    absl::MutexLock lock(&fanout_mu_);
    if (closed_) return;
    closed_ = true;
    fanout_stopping_ = true;
  }
  if (fanout_thread_.joinable()) fanout_thread_.join();
  hub_.Close();
}

absl::Status WatchStreams::Acquire(const Caller& who) {
  const std::string& caller = who.name;
  absl::MutexLock lock(&slots_mu_);
  if (open_ >= options_.max_subscribers) return Overloaded("Watch streams");
  // The last reserved_operator slots are for operators and approvers (the CLI watches before it
  // requests a failover).
  if (who.role < Role::kOperator &&
      open_ >= options_.max_subscribers - options_.reserved_operator) {
    return Overloaded("Watch streams for viewers");
  }
  int& mine = by_caller_[caller];
  if (mine >= options_.max_subscribers_per_caller) {
    if (mine == 0) by_caller_.erase(caller);
    return Overloaded("Watch streams for this caller");
  }
  ++mine;
  ++open_;
  return absl::OkStatus();
}

void WatchStreams::Release(const std::string& caller) {
  absl::MutexLock lock(&slots_mu_);
  --open_;
  auto it = by_caller_.find(caller);
  if (it != by_caller_.end() && --it->second <= 0) by_caller_.erase(it);
}

// Converts queued agent events and hands them to the subscriptions, so the agent's threads never
// wait on subscribers.
void WatchStreams::RunFanout() {
  while (true) {
    std::deque<agent::AgentEvent> batch;
    std::uint64_t dropped = 0;
    {
      absl::MutexLock lock(&fanout_mu_);
      fanout_mu_.Await(absl::Condition(
          +[](WatchStreams* self) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return self->fanout_stopping_ || !self->fanout_queue_.empty() ||
                   self->fanout_dropped_ > 0;
          },
          this));
      if (fanout_stopping_) return;
      batch.swap(fanout_queue_);
      dropped = fanout_dropped_;
      fanout_dropped_ = 0;
    }
    if (dropped > 0) {
      v1::WatchResponse missed;
      missed.set_kind(v1::EVENT_KIND_MISSED);
      missed.set_missed(dropped);
      missed.set_summary(absl::StrCat(dropped,
                                      " events missed: the agent published faster than "
                                      "the Watch fan-out could deliver"));
      SetTimestamp(deps_.clock.Now(), missed.mutable_at());
      hub_.Publish(std::move(missed));
      deps_.metrics.IncrementCounter("foghorn_api_watch_fanout_dropped_total", {},
                                     static_cast<double>(dropped));
    }
    for (const agent::AgentEvent& e : batch) {
      hub_.Publish(EventToProto(e, 0));
      deps_.metrics.IncrementCounter("foghorn_api_watch_events_total", {});
    }
  }
}

}  // namespace foghorn::api
