// The Watch fan-out: the agent publishes each event once; every subscription whose filter matches
// gets it in its own bounded queue. A subscription that is full drops events and, once it has
// room again, receives one EVENT_KIND_MISSED event counting them, in the place they were lost:
// a slow subscriber never slows the agent or the other subscribers. Independent of gRPC (the
// server's Watch reactor drains a subscription); thread-safe.
#ifndef FOGHORN_ORCHESTRATOR_API_WATCH_HUB_H_
#define FOGHORN_ORCHESTRATOR_API_WATCH_HUB_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "foghorn/v1/control.pb.h"

namespace foghorn::api {

using EventPtr = std::shared_ptr<const v1::WatchResponse>;

struct WatchFilter {
  std::set<std::string> group_ids;  // empty: all
  std::set<int> kinds;              // v1::EventKind values; empty: all
  std::string operation_id;         // empty: all

  bool Matches(const v1::WatchResponse& e) const;
};

// One subscriber's queue. The consumer calls Next() until it returns null; the subscription is
// then idle and the next event that arrives calls `wake` (once) so the consumer starts again.
class Subscription {
 public:
  Subscription(WatchFilter filter, std::size_t capacity, std::function<void()> wake,
               std::function<void()> close);

  // The next event to deliver (a MISSED marker where events were dropped), or null when none is
  // queued (the subscription goes idle).
  EventPtr Next();

  // Events dropped so far (tests, metrics).
  std::uint64_t dropped() const;

  // After Detach() returns, wake and close are never called again and no call is in progress.
  void Detach();

 private:
  friend class WatchHub;
  // Queues `e` if it matches; returns true when the consumer must be woken.
  bool Offer(const EventPtr& e);
  void Wake();
  void Close();

  const WatchFilter filter_;
  const std::size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<EventPtr> queue_ ABSL_GUARDED_BY(mu_);
  std::uint64_t missed_ ABSL_GUARDED_BY(mu_) = 0;
  std::uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  // Starts busy: the consumer writes its SUBSCRIBED message first and then calls Next().
  bool idle_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex callbacks_mu_;
  std::function<void()> wake_ ABSL_GUARDED_BY(callbacks_mu_);
  std::function<void()> close_ ABSL_GUARDED_BY(callbacks_mu_);
};

class WatchHub {
 public:
  explicit WatchHub(std::size_t queue_capacity = 1024) : capacity_(queue_capacity) {}

  // Registers a subscription. `wake` is called (from the publishing thread, with no hub lock
  // held) when an event arrives for an idle subscription; `close` when the hub closes. Both must
  // not block. Returns null after Close().
  std::shared_ptr<Subscription> Subscribe(WatchFilter filter, std::function<void()> wake,
                                          std::function<void()> close);
  // Call after Subscription::Detach().
  void Unsubscribe(const std::shared_ptr<Subscription>& s);

  // Delivers one event (its seq is assigned here) to every matching subscription. Never blocks
  // beyond short critical sections. Returns the seq.
  std::uint64_t Publish(v1::WatchResponse event);

  // Calls every subscription's close callback; later Subscribe calls return null.
  void Close();

  std::size_t subscribers() const;
  std::uint64_t last_seq() const { return seq_.load(); }

 private:
  const std::size_t capacity_;
  std::atomic<std::uint64_t> seq_{0};
  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Subscription>> subs_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_WATCH_HUB_H_
