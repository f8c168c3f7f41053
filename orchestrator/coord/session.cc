#include "orchestrator/coord/session.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace foghorn::coord {

void LeaseValidity::Confirmed(absl::Time sent_at, absl::Duration ttl) {
  if (lost_) return;
  // Keep the latest confirmation: replies may arrive out of order across endpoints.
  if (sent_at + ttl >= sent_at_ + ttl_) {
    sent_at_ = sent_at;
    ttl_ = ttl;
  }
}

absl::Time LeaseValidity::valid_until() const {
  if (lost_ || sent_at_ == absl::InfinitePast()) return absl::InfinitePast();
  return sent_at_ + ttl_ - margin_;
}

namespace {
Session::Options WithDefaults(Session::Options o) {
  if (o.safety_margin <= absl::ZeroDuration()) o.safety_margin = o.ttl / 5;
  if (o.keepalive_interval <= absl::ZeroDuration()) o.keepalive_interval = o.ttl / 3;
  return o;
}
}  // namespace

absl::StatusOr<std::unique_ptr<Session>> Session::Create(EtcdClient& client,
                                                         const common::Clock& clock,
                                                         Options options) {
  options = WithDefaults(std::move(options));
  if (options.ttl < absl::Seconds(2)) {
    return absl::InvalidArgumentError("session ttl must be at least 2s");
  }
  absl::Time sent_at = clock.Now();
  absl::StatusOr<LeaseGrant> grant = client.GrantLease(options.ttl);
  if (!grant.ok()) return grant.status();
  options.ttl = grant->ttl;
  std::unique_ptr<Session> s(new Session(client, clock, std::move(options), grant->id));
  {
    absl::MutexLock lock(&s->mu_);
    s->validity_.Confirmed(sent_at, grant->ttl);
  }
  if (s->options_.start_thread) s->thread_ = std::thread([p = s.get()] { p->Run(); });
  return s;
}

Session::Session(EtcdClient& client, const common::Clock& clock, Options options, int64_t lease_id)
    : client_(client),
      clock_(clock),
      options_(std::move(options)),
      lease_id_(lease_id),
      validity_(options_.safety_margin) {}

Session::~Session() { Stop(); }

void Session::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

absl::Status Session::Close() {
  Stop();
  absl::Status s = client_.RevokeLease(lease_id_);
  absl::MutexLock lock(&mu_);
  validity_.MarkLost();
  lost_reported_ = true;  // a deliberate close is not a loss
  return s;
}

bool Session::Valid(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  return validity_.Valid(now);
}

absl::Time Session::valid_until() const {
  absl::MutexLock lock(&mu_);
  return validity_.valid_until();
}

bool Session::lost() const {
  absl::MutexLock lock(&mu_);
  return validity_.lost();
}

absl::Status Session::KeepAliveNow() {
  {
    absl::MutexLock lock(&mu_);
    if (validity_.lost()) {
      return absl::NotFoundError(absl::StrCat("etcd session lease ", lease_id_, " is lost"));
    }
  }
  absl::Time sent_at = clock_.Now();
  absl::StatusOr<absl::Duration> ttl = client_.KeepAliveOnce(lease_id_);
  bool report = false;
  {
    absl::MutexLock lock(&mu_);
    if (ttl.ok()) {
      validity_.Confirmed(sent_at, *ttl);
    } else if (ttl.status().code() == absl::StatusCode::kNotFound) {
      validity_.MarkLost();
      report = !lost_reported_;
      lost_reported_ = true;
    }
  }
  if (report && options_.on_lost) options_.on_lost(ttl.status());
  return ttl.status();
}

void Session::Run() {
  absl::Duration wait = options_.keepalive_interval;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), wait)) return;
    }
    absl::Status s = KeepAliveNow();
    if (s.code() == absl::StatusCode::kNotFound) return;
    // After a failure retry sooner, so a short etcd blip does not eat the validity window.
    wait = s.ok() ? options_.keepalive_interval
                  : std::min(options_.keepalive_interval, absl::Milliseconds(500));
  }
}

}  // namespace foghorn::coord
