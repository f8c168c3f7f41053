// Session: the agent's one etcd lease (TTL from the `etcd` config), kept alive on its own thread.
// Everything the agent owns in etcd (its published verdicts, the leader keys it holds) is
// attached to this lease, so it all disappears when the agent stops keeping it alive.
//
// The session also answers "may I still act?" without asking etcd: Valid(now) holds only while
// `now` is before the send time of the last keep-alive etcd acknowledged, plus the TTL it granted,
// minus a safety margin. A process that was paused (SIGSTOP, a long GC, a frozen VM) past that
// point wakes up invalid and must re-check (KeepAliveNow) before any side effect.
#ifndef FOGHORN_ORCHESTRATOR_COORD_SESSION_H_
#define FOGHORN_ORCHESTRATOR_COORD_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/common/clock.h"
#include "orchestrator/coord/etcd_client.h"

namespace foghorn::coord {

// The pure part of a Session: when a lease is known to be alive. Confirmed(sent_at, ttl) records
// an acknowledged keep-alive (or grant) sent at `sent_at`: etcd reset the lease's expiry to at
// least sent_at + ttl (its own clock read the request after we sent it), so until
// sent_at + ttl - margin the lease cannot have expired, whatever happened to this process
// meanwhile. Not thread-safe (Session guards it).
class LeaseValidity {
 public:
  explicit LeaseValidity(absl::Duration safety_margin) : margin_(safety_margin) {}

  void Confirmed(absl::Time sent_at, absl::Duration ttl);
  // etcd said the lease is gone: never valid again.
  void MarkLost() { lost_ = true; }

  bool Valid(absl::Time now) const { return !lost_ && now < valid_until(); }
  // InfinitePast before the first confirmation and after MarkLost.
  absl::Time valid_until() const;
  absl::Time last_confirmed_sent_at() const { return sent_at_; }
  bool lost() const { return lost_; }

 private:
  absl::Duration margin_;
  absl::Time sent_at_ = absl::InfinitePast();
  absl::Duration ttl_ = absl::ZeroDuration();
  bool lost_ = false;
};

class Session {
 public:
  struct Options {
    absl::Duration ttl = absl::Seconds(10);
    // Subtracted from the validity window: covers clock-rate differences and the time between
    // a Valid() check and the side effect it guards. Default: ttl / 5.
    absl::Duration safety_margin = absl::ZeroDuration();
    // Time between keep-alives. Default: ttl / 3 (two may be lost before validity ends).
    absl::Duration keepalive_interval = absl::ZeroDuration();
    // Called once, on the session's thread, when etcd says the lease is gone (expired or
    // revoked). The session is then lost for good: build a new one.
    std::function<void(const absl::Status&)> on_lost;
    // Start the keep-alive thread (tests drive KeepAliveNow by hand when false).
    bool start_thread = true;
  };

  // Grants the lease and starts keeping it alive. kUnavailable / kDeadlineExceeded when etcd
  // cannot be reached. `client` and `clock` must outlive the session.
  static absl::StatusOr<std::unique_ptr<Session>> Create(EtcdClient& client,
                                                         const common::Clock& clock,
                                                         Options options);
  // Stops the keep-alive thread; does not revoke the lease (it expires after its TTL). Call
  // Close() for a clean hand-over.
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Stops the thread and revokes the lease, so keys attached to it go at once.
  absl::Status Close();

  int64_t lease_id() const { return lease_id_; }
  absl::Duration ttl() const { return options_.ttl; }

  // True while the lease is certainly alive at `now` (see the file comment).
  bool Valid(absl::Time now) const;
  absl::Time valid_until() const;
  bool lost() const;

  // One keep-alive round trip now. OK: confirmed. kNotFound: the lease is gone (the session is
  // lost; on_lost runs). Other codes: etcd unreachable; validity runs out on its own.
  absl::Status KeepAliveNow();

 private:
  Session(EtcdClient& client, const common::Clock& clock, Options options, int64_t lease_id);
  void Run();
  void Stop();

  EtcdClient& client_;
  const common::Clock& clock_;
  const Options options_;
  const int64_t lease_id_;
  mutable absl::Mutex mu_;
  LeaseValidity validity_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_reported_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace foghorn::coord

#endif  // FOGHORN_ORCHESTRATOR_COORD_SESSION_H_
