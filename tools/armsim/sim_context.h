// What the route handlers of a running foghorn-armsim share: the emulator and its data plane,
// the vantages and their partitions, the injected faults, the issued tokens, the throttle, the
// request log, held black-hole requests and the settings the admin API changes live. ArmSimServer
// owns one SimContext and passes it to every route family (admin_routes.h, identity_routes.h,
// sql_routes.h, arm_routes.h), together with the Exchange being served.
#ifndef FOGHORN_TOOLS_ARMSIM_SIM_CONTEXT_H_
#define FOGHORN_TOOLS_ARMSIM_SIM_CONTEXT_H_

#include <httplib.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/common/clock.h"
#include "tools/armsim/armsim_server.h"
#include "tools/armsim/blackhole.h"
#include "tools/armsim/data_plane.h"
#include "tools/armsim/emulator.h"
#include "tools/armsim/faults.h"
#include "tools/armsim/permissions.h"
#include "tools/armsim/request_log.h"
#include "tools/armsim/throttle.h"
#include "tools/armsim/token_store.h"
#include "tools/armsim/topology.h"
#include "tools/armsim/vantages.h"

namespace foghorn::armsim {

// The parts are thread-safe on their own; the context adds no lock. Not movable (the data plane
// and the HTTP handlers point into it).
struct SimContext {
  SimContext(ArmSimOptions options, Topology topology);
  SimContext(const SimContext&) = delete;
  SimContext& operator=(const SimContext&) = delete;

  const ArmSimOptions options;  // as started
  common::RealClock real_clock;
  const common::Clock* const clock;       // options.clock, or real_clock
  const std::vector<ClientSpec> clients;  // service principals the token endpoint accepts
  Emulator emulator;
  VantageMap vantages;                    // topology.vantages
  std::unique_ptr<DataPlane> data_plane;  // null with !options.data_plane
  FaultInjector faults;
  TokenStore tokens;
  PermissionStore permissions;  // Microsoft.Authorization grants per server
  SubscriptionThrottle throttle;
  RequestRecorder requests;
  BlackholeHold blackholes;
  // Settings the admin API (PUT /admin/config) changes while serving.
  std::atomic<bool> strict_auth;
  std::atomic<bool> throttling;
  int port = 0;  // the bound HTTP port; set before serving starts
};

// "https://" or "http://", as the server is serving.
const char* Scheme(const SimContext& sim);

// Takes a region down or brings it back everywhere at once: in the emulator, for the requests
// held in a black hole, and on the data plane's listeners before returning.
void SetRegionDown(SimContext& sim, const std::string& region, RegionOutage outage);
void SetRegionUp(SimContext& sim, const std::string& region);

// Cuts a vantage off from a region's data plane, or heals cuts (VantageMap::Heal: empty fields
// match all), for the SQL health requests held in a black hole and on the data plane's listeners
// before returning. kNotFound for an unknown vantage.
absl::Status CutPartition(SimContext& sim, const Partition& partition);
absl::Status HealPartition(SimContext& sim, const std::string& vantage, const std::string& region);

// One request being served, as every route handler sees it.
struct Exchange {
  const httplib::Request& req;
  std::vector<std::string> segments;  // req.path split on '/', empty segments skipped
  httplib::Response& res;
  RequestRecord& record;       // what the request log will say; handlers fill in route, fault, ...
  std::string correlation_id;  // x-ms-correlation-request-id of the answer (echoed or new)
};

// What a route handler did with a request it recognised.
enum class Disposition {
  kAnswer,          // send `res`
  kDropConnection,  // reset the connection instead of answering
};

// A route family: serves the request and returns how, or nullopt if the path is not one of its
// routes (the next family gets it).
using RouteFamily = std::optional<Disposition> (*)(SimContext& sim, Exchange& x);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_SIM_CONTEXT_H_
