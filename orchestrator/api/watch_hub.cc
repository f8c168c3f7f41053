#include "orchestrator/api/watch_hub.h"

#include <algorithm>
#include <utility>

namespace foghorn::api {

bool WatchFilter::Matches(const v1::WatchResponse& e) const {
  if (e.kind() == v1::EVENT_KIND_SUBSCRIBED || e.kind() == v1::EVENT_KIND_MISSED) return true;
  if (!group_ids.empty() && group_ids.count(e.group_id()) == 0) return false;
  if (!kinds.empty() && kinds.count(e.kind()) == 0) return false;
  if (!operation_id.empty() && e.operation_id() != operation_id) return false;
  return true;
}

Subscription::Subscription(WatchFilter filter, std::size_t capacity, std::function<void()> wake,
                           std::function<void()> close)
    : filter_(std::move(filter)),
      capacity_(std::max<std::size_t>(capacity, 2)),
      wake_(std::move(wake)),
      close_(std::move(close)) {}

namespace {

EventPtr MissedMarker(std::uint64_t missed) {
  auto m = std::make_shared<v1::WatchResponse>();
  m->set_kind(v1::EVENT_KIND_MISSED);
  m->set_missed(missed);
  m->set_summary(std::to_string(missed) + " events missed: this subscriber fell behind");
  return m;
}

}  // namespace

bool Subscription::Offer(const EventPtr& e) {
  if (!filter_.Matches(*e)) return false;
  absl::MutexLock lock(&mu_);
  // A gap is open: close it with a marker before anything newer, as soon as there is room.
  if (missed_ > 0 && queue_.size() < capacity_) {
    queue_.push_back(MissedMarker(missed_));
    missed_ = 0;
  }
  if (missed_ == 0 && queue_.size() < capacity_) {
    queue_.push_back(e);
  } else {
    ++missed_;
    ++dropped_;
  }
  if (idle_ && !queue_.empty()) {
    idle_ = false;
    return true;
  }
  return false;
}

EventPtr Subscription::Next() {
  absl::MutexLock lock(&mu_);
  if (queue_.empty() && missed_ > 0) {
    queue_.push_back(MissedMarker(missed_));
    missed_ = 0;
  }
  if (queue_.empty()) {
    idle_ = true;
    return nullptr;
  }
  EventPtr e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

std::uint64_t Subscription::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

void Subscription::Detach() {
  absl::MutexLock lock(&callbacks_mu_);
  wake_ = nullptr;
  close_ = nullptr;
}

void Subscription::Wake() {
  absl::MutexLock lock(&callbacks_mu_);
  if (wake_) wake_();
}

void Subscription::Close() {
  absl::MutexLock lock(&callbacks_mu_);
  if (close_) close_();
}

std::shared_ptr<Subscription> WatchHub::Subscribe(WatchFilter filter, std::function<void()> wake,
                                                  std::function<void()> close) {
  auto s = std::make_shared<Subscription>(std::move(filter), capacity_, std::move(wake),
                                          std::move(close));
  absl::MutexLock lock(&mu_);
  if (closed_) return nullptr;
  subs_.push_back(s);
  return s;
}

void WatchHub::Unsubscribe(const std::shared_ptr<Subscription>& s) {
  absl::MutexLock lock(&mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
}

std::uint64_t WatchHub::Publish(v1::WatchResponse event) {
  const std::uint64_t seq = ++seq_;
  event.set_seq(seq);
  EventPtr e = std::make_shared<const v1::WatchResponse>(std::move(event));
  std::vector<std::shared_ptr<Subscription>> to_wake;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& s : subs_) {
      if (s->Offer(e)) to_wake.push_back(s);
    }
  }
  for (const auto& s : to_wake) s->Wake();
  return seq;
}

void WatchHub::Close() {
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    subs = subs_;
  }
  for (const auto& s : subs) s->Close();
}

std::size_t WatchHub::subscribers() const {
  absl::ReaderMutexLock lock(&mu_);
  return subs_.size();
}

}  // namespace foghorn::api
