// The production Prober: real TCP connects, HTTP(S) through curl multi, and exec'd commands, all
// on one epoll event loop (IoLoop); DNS lookups on a small fixed pool of resolver threads
// (getaddrinfo blocks); ARM-state reads through a FailoverGroupStateReader and Azure's signals
// (metrics, Resource Health, replication links) through an AzureSignalReader. No thread per probe.
#ifndef FOGHORN_PROBES_SYSTEM_PROBER_H_
#define FOGHORN_PROBES_SYSTEM_PROBER_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "probes/azure_signal_reader.h"
#include "probes/failover_group_state_reader.h"
#include "probes/io_loop.h"
#include "probes/prober.h"

namespace foghorn::probes {

// Outcome rules (see docs/probes.md): the target refusing, timing out, answering wrongly or a
// command exiting non-zero is a failure; our side failing (no fds or ports left, resolver
// errors other than "no such name", a missing command or CA file, no ARM reader) is UNKNOWN.
// TCP probes close with RST (SO_LINGER 0) so thousands of probes leave no TIME_WAIT behind.
// HTTP probes use a fresh connection each time. Exec probes run in their own process group,
// killed at the timeout; stdout beyond `max_stdout_bytes` is discarded.
// Thread-safe. Shutdown() (or the destructor) stops the loop and resolver threads and drops
// attempts in flight without calling their callbacks.
class SystemProber final : public Prober {
 public:
  struct Options {
    int dns_workers = 2;
    size_t max_stdout_bytes = 64 * 1024;
    size_t max_body_bytes = 1024 * 1024;
    // For ARM-state probes; without one they report UNKNOWN. Must outlive the prober.
    FailoverGroupStateReader* arm_reader = nullptr;
    // For azure_metric, resource_health and replication_link probes; without one they report
    // UNKNOWN. Must outlive the prober. The daemon passes a CachingAzureSignalReader.
    AzureSignalReader* azure_signals = nullptr;
    // The clock azure_metric probes judge a sample's age by (nullptr: the real clock).
    const common::Clock* clock = nullptr;
  };

  // kInternal if the event loop or curl cannot be set up.
  static absl::StatusOr<std::unique_ptr<SystemProber>> Create(Options options);
  ~SystemProber() override;

  void Start(const v1::ProbeSpec& spec, const ProbeContext& context, absl::Duration timeout,
             Callback done) override;

  void Shutdown();

 private:
  struct Curl;
  struct Attempt;

  explicit SystemProber(Options options);

  // Loop thread.
  void StartTcp(std::shared_ptr<Attempt> a);
  void ConnectTcp(std::shared_ptr<Attempt> a, std::vector<std::string> addresses, int port);
  // Sends a TDS PRELOGIN on the connected socket and judges the answer (tcp.tds_prelogin).
  void ExpectTdsPrelogin(const std::shared_ptr<Attempt>& a,
                         std::function<void(const std::shared_ptr<Attempt>&, int)> fail);
  void StartHttp(std::shared_ptr<Attempt> a);
  void StartExec(std::shared_ptr<Attempt> a);
  // Any thread: azure_metric, resource_health, replication_link.
  void StartAzureSignal(std::shared_ptr<Attempt> a);
  void OnCurlDone(void* easy, int code);
  void DrainCurl();

  // Any thread.
  void StartDns(std::shared_ptr<Attempt> a);
  void Resolve(std::string name,
               absl::AnyInvocable<void(int, std::vector<std::string>, std::string) &&> done);
  void ResolverLoop();

  const Options options_;
  IoLoop loop_;
  std::unique_ptr<Curl> curl_;

  absl::Mutex dns_mu_;
  std::deque<absl::AnyInvocable<void() &&>> dns_queue_ ABSL_GUARDED_BY(dns_mu_);
  bool dns_stopping_ ABSL_GUARDED_BY(dns_mu_) = false;
  std::vector<std::thread> dns_threads_;
  bool shut_down_ = false;
};

}  // namespace foghorn::probes

#endif  // FOGHORN_PROBES_SYSTEM_PROBER_H_
