// foghorn-armsim embedded: an HTTPS (or plain HTTP) server on 127.0.0.1 that emulates the ARM
// Microsoft.Sql failover-group API, the Entra ID token endpoints (client credentials and IMDS
// managed identity) and, through data_plane.h, the SQL endpoints. Tests start it in-process on port
// 0 and drive faults through the methods below; the foghorn-armsim binary wraps the same class and
// exposes the admin API over HTTP (/admin/..., see docs/armsim.md). Named vantages (vantages.h)
// get their own data-plane endpoints and can be partitioned from a region.
//
// This is the composition root: it wires the emulator (emulator.h), the HTTPS front
// (http_front.h) and the route families (admin_routes.h, identity_routes.h, sql_routes.h,
// arm_routes.h) around a shared SimContext (sim_context.h). Faults and outages are described in
// faults.h, the request log in request_log.h.
//
//   ArmSimOptions o;
//   o.topology_path = SourceDir() + "/tools/armsim/examples/topology.json";
//   o.cert_dir = tmp.path();
//   o.operation_duration = absl::Milliseconds(20);
//   ASSIGN_OR_RETURN(auto sim, ArmSimServer::Start(o));
//   curl --cacert sim->ca_cert_path() sim->base_url() + "/subscriptions/..."
#ifndef FOGHORN_TOOLS_ARMSIM_ARMSIM_SERVER_H_
#define FOGHORN_TOOLS_ARMSIM_ARMSIM_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/clock.h"
#include "tools/armsim/emulator.h"
#include "tools/armsim/faults.h"
#include "tools/armsim/request_log.h"
#include "tools/armsim/signals.h"

namespace foghorn::armsim {

struct ArmSimOptions {
  // The topology: inline JSON wins over a path; both empty = no servers at all.
  std::string topology_json;
  std::string topology_path;

  std::string host = "127.0.0.1";
  int port = 0;  // 0 = any free port
  bool tls = true;
  // TLS material: with tls and empty cert_file, a CA + server certificate are generated into
  // cert_dir (ca.pem, cert.pem, key.pem). cert_dir must exist. A given cert_file/key_file is used
  // as is (ca_cert_path() then returns ca_file, or cert_file if that is empty).
  std::string cert_dir;
  std::string cert_file;
  std::string key_file;
  std::string ca_file;

  absl::Duration operation_duration = absl::Seconds(2);
  std::optional<absl::Duration> retry_after;  // real service: none
  int page_size = 50;

  // Strict auth: ARM calls need "Authorization: Bearer <token issued by this emulator>".
  bool strict_auth = false;
  absl::Duration token_lifetime = absl::Hours(1);

  // ARM throttling, per subscription token buckets (real numbers by default).
  bool throttling = false;
  double read_bucket = 250, read_refill_per_second = 25;
  double write_bucket = 200, write_refill_per_second = 10;
  double delete_bucket = 200, delete_refill_per_second = 10;

  std::string request_log_path;        // JSON lines; empty = in memory only
  size_t request_log_memory = 100000;  // entries kept for RequestLog()
  size_t max_body_bytes = 1 << 20;     // larger bodies get an ARM-shaped 400
  int threads = 16;                    // HTTP worker threads (each keep-alive connection holds one)
  bool data_plane = true;              // open the TCP listeners
  // Vantage points (vantages.h) besides the topology's "vantages"; names must be valid and
  // distinct from those.
  std::vector<std::string> vantages;
  absl::Duration blackhole_timeout = absl::Seconds(30);  // control-plane black hole holds this long

  const common::Clock* clock = nullptr;  // not owned; nullptr = real time

  // Azure's own signals: metrics ingestion delay, Resource Health delays, seeding time, the
  // caller of Microsoft-initiated failovers (signals.h).
  SignalOptions signals;
};

class ArmSimServer {
 public:
  // Loads the topology, prepares TLS, binds and starts serving on a background thread pool.
  // Returns kInvalidArgument for a bad topology or options, kInternal/kUnavailable if TLS or the
  // socket cannot be set up.
  static absl::StatusOr<std::unique_ptr<ArmSimServer>> Start(ArmSimOptions options);
  ~ArmSimServer();  // Shutdown()
  ArmSimServer(const ArmSimServer&) = delete;
  ArmSimServer& operator=(const ArmSimServer&) = delete;

  std::string base_url() const;  // https://127.0.0.1:<port> (http:// without TLS)
  int port() const;
  std::string ca_cert_path() const;  // the CA to trust (empty without TLS)

  // --- admin, in-process (all thread-safe) ---
  void SetRegionDown(const std::string& region, RegionOutage outage);
  void SetRegionUp(const std::string& region);
  // Returns the fault id.
  int AddFault(FaultSpec fault);
  void RemoveFault(int id);
  void ClearFaults();
  absl::Status FailOperation(const std::string& operation_id, const std::string& code,
                             const std::string& message, bool canceled = false);
  void SetOperationDuration(absl::Duration d);
  void SetRetryAfter(std::optional<absl::Duration> d);

  // Number of failover POSTs (failover, forceFailoverAllowDataLoss,
  // tryPlannedBeforeForcedFailover) answered 202, in total or for one group.
  int64_t AcceptedFailovers() const;
  int64_t AcceptedFailovers(const std::string& failover_group) const;
  std::vector<RequestRecord> RequestLog() const;

  // Data plane: "127.0.0.1:<port>" of a server, or of a group's listener, as seen from
  // `vantage` ("" = the shared listeners); empty if unknown.
  std::string ServerEndpoint(const std::string& server, const std::string& vantage = "") const;
  std::string ReadWriteListener(const std::string& failover_group,
                                const std::string& vantage = "") const;
  std::string ReadOnlyListener(const std::string& failover_group,
                               const std::string& vantage = "") const;
  // Every endpoint ("server:<name>", "fg:<name>:rw|ro") -> "127.0.0.1:<port>" as seen from
  // `vantage` ("" = the shared listeners); empty for an unknown vantage or without a data plane.
  std::map<std::string, std::string> Endpoints(const std::string& vantage = "") const;

  // --- vantages and partitions (vantages.h; all thread-safe) ---
  // The configured vantages, topology first.
  std::vector<std::string> Vantages() const;
  // The base URL of the SQL health routes as seen from `vantage`:
  // base_url() + "/vantages/<vantage>" (GET .../sql/servers/{server}/replicationLinks).
  std::string VantageBaseUrl(const std::string& vantage) const;
  // Cuts `vantage` off from `region`'s data plane (its listeners and SQL health route refuse or
  // black-hole; other vantages and the shared endpoints still answer). Takes effect on the data
  // plane before it returns. kNotFound for an unknown vantage.
  absl::Status Partition(const std::string& vantage, const std::string& region,
                         OutageMode mode = OutageMode::kRefuse);
  // Heals the cuts between `vantage` and `region`; an empty field matches every one. kNotFound
  // for an unknown vantage.
  absl::Status Heal(const std::string& vantage = "", const std::string& region = "");

  // Starts a Microsoft-initiated failover (Emulator::MicrosoftFailover); returns its operation id.
  absl::StatusOr<std::string> MicrosoftFailover(const std::string& failover_group,
                                                bool planned = false,
                                                const std::string& caller = "");

  absl::Status RecordWrites(const std::string& failover_group, int64_t count);
  absl::StatusOr<ReplicationInfo> Replication(const std::string& failover_group);
  absl::Status SetReplicationLag(const std::string& failover_group, absl::Duration lag);

  // The whole state as the admin API shows it (GET /admin/state).
  nlohmann::json State();
  // Issues a token as the token endpoint would (for clients that skip the HTTP round trip).
  std::string IssueToken();

  Emulator& emulator();

  // Stops serving and releases every socket and thread. Idempotent.
  void Shutdown();

 private:
  class Impl;
  explicit ArmSimServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_ARMSIM_SERVER_H_
