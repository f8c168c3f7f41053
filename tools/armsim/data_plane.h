// The SQL data plane of foghorn-armsim: a loopback TCP endpoint per server (standing in for port
// 1433) and per failover group a read-write and a read-only listener that follow the roles.
// A target whose region's data plane is down either refuses connections (the listening socket is
// closed, so connect() gets ECONNREFUSED) or black-holes them (accepts and never answers).
//
// Every endpoint has one shared listener and one more per vantage (vantages.h), each on its own
// port: a vantage partitioned from the target's region sees its own listener refuse or
// black-hole while the shared listeners and the other vantages' still answer. A region outage
// applies to all of them.
//
// Wire protocol (text lines, for probes and tests): on connect the endpoint sends
// {"endpoint":..,"server":..,"role":..}\n; then "PING" -> "PONG", "ROLE" -> role, "WRITE <n>" ->
// "OK" (counted on the primary) or "ERROR <why>", "QUIT" closes.
#ifndef FOGHORN_TOOLS_ARMSIM_DATA_PLANE_H_
#define FOGHORN_TOOLS_ARMSIM_DATA_PLANE_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "tools/armsim/emulator.h"
#include "tools/armsim/vantages.h"

namespace foghorn::armsim {

class DataPlane {
 public:
  // Opens a listener for every endpoint the emulator reports, shared and per vantage, and
  // starts the I/O thread. `emulator` and `vantages` (may be null: no vantages) must outlive the
  // DataPlane. kInternal if a socket cannot be opened.
  static absl::StatusOr<std::unique_ptr<DataPlane>> Start(Emulator* emulator,
                                                          const VantageMap* vantages);
  ~DataPlane();

  // Re-reads endpoint targets soon (roles or regions changed). Thread-safe, non-blocking.
  void Reconcile();
  // Re-reads endpoint targets and partitions now, in the caller's thread: when it returns,
  // listeners refuse or accept as the emulator and the vantage map say. Thread-safe.
  void ReconcileNow();
  // Stops the thread and closes every socket. Idempotent.
  void Shutdown();

  // Port of an endpoint ("server:<name>", "fg:<name>:rw", "fg:<name>:ro") as seen from
  // `vantage` ("" = the shared listener), or -1. The port is kept while the endpoint refuses
  // connections.
  int Port(const std::string& endpoint, const std::string& vantage = "");
  // Every endpoint's port as seen from `vantage` ("" = the shared listeners).
  std::map<std::string, int> Ports(const std::string& vantage = "");

 private:
  // (vantage, endpoint); vantage "" is the shared listener.
  using ListenerKey = std::pair<std::string, std::string>;
  // What a connection from a vantage to a target meets now.
  enum class Reach { kOpen, kRefuse, kBlackhole };
  struct Listener {
    int port = 0;
    int fd = -1;
  };
  struct Conn {
    int fd = -1;
    ListenerKey listener;
    std::string server;
    bool blackholed = false;
    std::string inbuf;
  };

  DataPlane(Emulator* emulator, const VantageMap* vantages);
  void Loop();
  Reach ReachOf(const std::string& vantage, const EndpointTarget& t) const;
  void ReconcileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Accept(const ListenerKey& key, int listen_fd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Serve(Conn& conn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Emulator* emulator_;
  const VantageMap* vantages_;  // null: no vantages
  int wake_[2] = {-1, -1};
  std::thread thread_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::map<ListenerKey, Listener> listeners_ ABSL_GUARDED_BY(mu_);
  std::vector<Conn> conns_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_DATA_PLANE_H_
