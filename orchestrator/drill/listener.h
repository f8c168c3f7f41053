// Listener reachability for drills and readiness checks: a one-off TCP connect with a timeout
// (ListenerDialer) and a background sampler that dials the read-write listener at a fixed interval
// for the whole drill (ListenerSampler), whose samples give the measured RTO in the drill report.
// Both are interfaces so unit tests script them; the TCP implementations are for production and
// loopback integration tests.
#ifndef FOGHORN_ORCHESTRATOR_DRILL_LISTENER_H_
#define FOGHORN_ORCHESTRATOR_DRILL_LISTENER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "orchestrator/common/clock.h"

namespace foghorn::drill {

// Opens (and closes) one TCP connection. Implementations are thread-safe.
class ListenerDialer {
 public:
  virtual ~ListenerDialer() = default;
  // OK when `address` ("host:port" or "[v6]:port", common::ParseHostPort) resolved and accepted a
  // connection within `timeout`. NOT_FOUND when the name does not resolve, UNAVAILABLE when every
  // address refused or timed out, INVALID_ARGUMENT for a malformed address. Blocks the calling
  // thread.
  virtual absl::Status Dial(const std::string& address, absl::Duration timeout) = 0;
};

// getaddrinfo + non-blocking connect + poll. Closes with RST (SO_LINGER 0), like the TCP probe.
class TcpListenerDialer final : public ListenerDialer {
 public:
  absl::Status Dial(const std::string& address, absl::Duration timeout) override;
};

// One dial of the read-write listener during a drill.
struct ListenerSample {
  absl::Time at = absl::InfinitePast();
  bool ok = false;
  std::string detail;  // empty when ok
};

// Samples one listener from Start() until Stop(). Start/Stop are called once each, in order, from
// the drill's thread.
class ListenerSampler {
 public:
  virtual ~ListenerSampler() = default;
  virtual void Start(const std::string& address) = 0;
  // Stops sampling and returns every sample, oldest first.
  virtual std::vector<ListenerSample> Stop() = 0;
};

// Dials on its own thread every `interval` (each dial bounded by `timeout`), stamping samples with
// `clock`. Waits between dials on a condition variable, so Stop() returns promptly. `dialer` and
// `clock` must outlive the sampler.
class ThreadListenerSampler final : public ListenerSampler {
 public:
  ThreadListenerSampler(ListenerDialer& dialer, const common::Clock& clock, absl::Duration interval,
                        absl::Duration timeout);
  ~ThreadListenerSampler() override;

  void Start(const std::string& address) override;
  std::vector<ListenerSample> Stop() override;

 private:
  void Loop(std::string address);

  ListenerDialer& dialer_;
  const common::Clock& clock_;
  const absl::Duration interval_;
  const absl::Duration timeout_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<ListenerSample> samples_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace foghorn::drill

#endif  // FOGHORN_ORCHESTRATOR_DRILL_LISTENER_H_
