#include "tools/armsim/armsim_server.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/armsim/admin_routes.h"
#include "tools/armsim/arm_routes.h"
#include "tools/armsim/authorization_routes.h"
#include "tools/armsim/http_front.h"
#include "tools/armsim/identity_routes.h"
#include "tools/armsim/monitor_routes.h"
#include "tools/armsim/sim_context.h"
#include "tools/armsim/sql_routes.h"
#include "tools/armsim/topology.h"
#include "tools/armsim/vantages.h"

namespace foghorn::armsim {
namespace {

// The route families, in the order they get a request. Identity comes before ARM: its token path
// (/{tenant}/oauth2/token) takes any first segment, "subscriptions" included. The monitoring
// routes (metrics, Resource Health, Activity Log) and the permissions read come before ARM, whose
// paths they extend.
constexpr RouteFamily kRouteFamilies[] = {ServeAdmin,   ServeIdentity,      ServeSql,
                                          ServeMonitor, ServeAuthorization, ServeArm};

// Serves one request: the route families answer it; every answer gets ARM's request-id headers
// and every request a line in the request log, also when its connection is dropped.
void Serve(SimContext& sim, const httplib::Request& req, httplib::Response& res) {
  RequestRecord rec;
  rec.time = sim.clock->Now();
  rec.method = req.method;
  rec.path = req.path;
  rec.request_id = NewUuid();
  rec.client_request_id = req.get_header_value("x-ms-client-request-id");
  std::string correlation = req.get_header_value("x-ms-correlation-request-id");
  if (correlation.empty()) correlation = NewUuid();

  Exchange x{req, absl::StrSplit(req.path, '/', absl::SkipEmpty()), res, rec, correlation};
  std::optional<Disposition> served;
  for (RouteFamily serve : kRouteFamilies) {
    served = serve(sim, x);
    if (served) break;
  }
  if (!served) {
    rec.route = "unknown";
    SendArm(res, ArmError(404, "NotFound",
                          absl::StrCat("No route matches ", req.method, " ", req.path, ".")));
  }
  bool drop = served == Disposition::kDropConnection;
  res.set_header("x-ms-request-id", rec.request_id);
  res.set_header("x-ms-correlation-request-id", correlation);
  if (!rec.client_request_id.empty()) {
    res.set_header("x-ms-client-request-id", rec.client_request_id);
  }
  rec.status = drop ? 0 : res.status;
  sim.requests.Record(std::move(rec));
  if (drop) {
    res.set_header("Connection", "close");
    DropConnection(req);
  }
}

std::string Endpoint(DataPlane* dp, const std::string& name, const std::string& vantage) {
  if (dp == nullptr) return "";
  int port = dp->Port(name, vantage);
  return port <= 0 ? "" : absl::StrCat("127.0.0.1:", port);
}

}  // namespace

class ArmSimServer::Impl {
 public:
  Impl(ArmSimOptions options, Topology topology) : sim(std::move(options), std::move(topology)) {}

  SimContext sim;
  std::unique_ptr<HttpFront> front;  // destroyed before `sim`, whose handlers it runs
  std::atomic<bool> shut_down{false};
};

absl::StatusOr<std::unique_ptr<ArmSimServer>> ArmSimServer::Start(ArmSimOptions options) {
  // A peer that vanishes mid-write must not kill the process (httplib writes without
  // MSG_NOSIGNAL, and the reset faults drop connections on purpose).
  std::signal(SIGPIPE, SIG_IGN);
  Topology topology;
  if (!options.topology_json.empty()) {
    auto t = ParseTopology(options.topology_json);
    if (!t.ok()) return t.status();
    topology = *std::move(t);
  } else if (!options.topology_path.empty()) {
    auto t = LoadTopologyFile(options.topology_path);
    if (!t.ok()) return t.status();
    topology = *std::move(t);
  }
  for (const std::string& name : options.vantages) {
    if (absl::Status valid = ValidateVantageName(name); !valid.ok()) return valid;
    if (std::find(topology.vantages.begin(), topology.vantages.end(), name) !=
        topology.vantages.end()) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate vantage '", name, "'"));
    }
    topology.vantages.push_back(name);
  }
  if (options.page_size < 1) return absl::InvalidArgumentError("page_size must be >= 1");
  if (options.threads < 2) return absl::InvalidArgumentError("threads must be >= 2");
  auto impl = std::make_unique<Impl>(std::move(options), std::move(topology));
  SimContext& sim = impl->sim;
  if (!sim.options.request_log_path.empty()) {
    if (auto s = sim.requests.AppendToFile(sim.options.request_log_path); !s.ok()) return s;
  }
  auto front = HttpFront::Create(
      sim.options,
      [&sim](const httplib::Request& req, httplib::Response& res) { Serve(sim, req, res); });
  if (!front.ok()) return front.status();
  impl->front = *std::move(front);
  auto port = impl->front->Bind(sim.options.host, sim.options.port);
  if (!port.ok()) return port.status();
  sim.port = *port;
  if (sim.options.data_plane) {
    auto dp = DataPlane::Start(&sim.emulator, &sim.vantages);
    if (!dp.ok()) return dp.status();
    sim.data_plane = *std::move(dp);
    DataPlane* dpp = sim.data_plane.get();
    sim.emulator.SetOnChange([dpp] { dpp->Reconcile(); });
  }
  impl->front->Start();
  return std::unique_ptr<ArmSimServer>(new ArmSimServer(std::move(impl)));
}

ArmSimServer::ArmSimServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ArmSimServer::~ArmSimServer() { Shutdown(); }

void ArmSimServer::Shutdown() {
  if (impl_->shut_down.exchange(true)) return;
  // Held black-hole requests occupy workers that Stop() waits for: release them first.
  impl_->sim.blackholes.Stop();
  impl_->front->Stop();
  if (impl_->sim.data_plane) {
    impl_->sim.emulator.SetOnChange(nullptr);
    impl_->sim.data_plane->Shutdown();
  }
}

std::string ArmSimServer::base_url() const {
  return absl::StrCat(Scheme(impl_->sim), impl_->sim.options.host, ":", impl_->sim.port);
}
int ArmSimServer::port() const { return impl_->sim.port; }
std::string ArmSimServer::ca_cert_path() const { return impl_->front->ca_cert_path(); }

void ArmSimServer::SetRegionDown(const std::string& region, RegionOutage outage) {
  armsim::SetRegionDown(impl_->sim, region, outage);
}
void ArmSimServer::SetRegionUp(const std::string& region) {
  armsim::SetRegionUp(impl_->sim, region);
}

int ArmSimServer::AddFault(FaultSpec fault) { return impl_->sim.faults.Add(std::move(fault)); }
void ArmSimServer::RemoveFault(int id) { impl_->sim.faults.Remove(id); }
void ArmSimServer::ClearFaults() { impl_->sim.faults.Clear(); }

absl::Status ArmSimServer::FailOperation(const std::string& operation_id, const std::string& code,
                                         const std::string& message, bool canceled) {
  return impl_->sim.emulator.FailOperation(operation_id, code, message, canceled);
}

void ArmSimServer::SetOperationDuration(absl::Duration d) {
  impl_->sim.emulator.SetOperationDuration(d);
}
void ArmSimServer::SetRetryAfter(std::optional<absl::Duration> d) {
  impl_->sim.emulator.SetRetryAfter(d);
}

int64_t ArmSimServer::AcceptedFailovers() const { return impl_->sim.requests.AcceptedFailovers(); }
int64_t ArmSimServer::AcceptedFailovers(const std::string& fg) const {
  return impl_->sim.requests.AcceptedFailovers(fg);
}
std::vector<RequestRecord> ArmSimServer::RequestLog() const {
  return impl_->sim.requests.Records();
}

std::string ArmSimServer::ServerEndpoint(const std::string& server,
                                         const std::string& vantage) const {
  return Endpoint(impl_->sim.data_plane.get(), "server:" + server, vantage);
}
std::string ArmSimServer::ReadWriteListener(const std::string& fg,
                                            const std::string& vantage) const {
  return Endpoint(impl_->sim.data_plane.get(), "fg:" + fg + ":rw", vantage);
}
std::string ArmSimServer::ReadOnlyListener(const std::string& fg,
                                           const std::string& vantage) const {
  return Endpoint(impl_->sim.data_plane.get(), "fg:" + fg + ":ro", vantage);
}
std::map<std::string, std::string> ArmSimServer::Endpoints(const std::string& vantage) const {
  std::map<std::string, std::string> out;
  if (!impl_->sim.data_plane) return out;
  for (const auto& [name, port] : impl_->sim.data_plane->Ports(vantage)) {
    out[name] = absl::StrCat("127.0.0.1:", port);
  }
  return out;
}

std::vector<std::string> ArmSimServer::Vantages() const { return impl_->sim.vantages.names(); }
std::string ArmSimServer::VantageBaseUrl(const std::string& vantage) const {
  return absl::StrCat(base_url(), "/vantages/", vantage);
}
absl::Status ArmSimServer::Partition(const std::string& vantage, const std::string& region,
                                     OutageMode mode) {
  return CutPartition(impl_->sim, {vantage, RegionKey(region), mode});
}
absl::Status ArmSimServer::Heal(const std::string& vantage, const std::string& region) {
  return HealPartition(impl_->sim, vantage, region);
}

absl::StatusOr<std::string> ArmSimServer::MicrosoftFailover(const std::string& fg, bool planned,
                                                            const std::string& caller) {
  absl::StatusOr<std::string> id = impl_->sim.emulator.MicrosoftFailover(fg, planned, caller);
  if (id.ok() && impl_->sim.data_plane) impl_->sim.data_plane->ReconcileNow();
  return id;
}

absl::Status ArmSimServer::RecordWrites(const std::string& fg, int64_t count) {
  return impl_->sim.emulator.RecordWrites(fg, count);
}
absl::StatusOr<ReplicationInfo> ArmSimServer::Replication(const std::string& fg) {
  return impl_->sim.emulator.Replication(fg);
}
absl::Status ArmSimServer::SetReplicationLag(const std::string& fg, absl::Duration lag) {
  return impl_->sim.emulator.SetReplicationLag(fg, lag);
}
nlohmann::json ArmSimServer::State() { return impl_->sim.emulator.StateJson(); }
std::string ArmSimServer::IssueToken() { return impl_->sim.tokens.Issue(); }
Emulator& ArmSimServer::emulator() { return impl_->sim.emulator; }

}  // namespace foghorn::armsim
