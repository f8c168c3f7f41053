// What can be injected into foghorn-armsim, as parsed from JSON (admin API, --fault,
// --region-down bodies, scenario files): request faults (FaultSpec) and region outages
// (ParseOutage), plus the set of active request faults that every HTTP request is matched
// against. How a fault is answered belongs to the route that hits it: ARM errors in
// arm_routes.cc, OAuth errors in identity_routes.cc.
#ifndef FOGHORN_TOOLS_ARMSIM_FAULTS_H_
#define FOGHORN_TOOLS_ARMSIM_FAULTS_H_

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tools/armsim/emulator.h"

namespace foghorn::armsim {

// A fault injected into matching HTTP requests.
struct FaultSpec {
  enum class Kind {
    kHttp429,        // 429 SubscriptionTooManyRequests + Retry-After, not applied
    kHttp500,        // 500 OperationTimedOut, not applied
    kHttp503,        // 503 ServiceUnavailable, not applied
    kHttp504,        // 504 GatewayTimeout, not applied
    kLatency,        // delay, then serve normally
    kResetBefore,    // drop the connection without applying the request
    kResetAfter,     // apply the request, then drop the connection without an answer
    kFailOperation,  // accept the LRO, which then ends Failed with `error_code`
    kArmError,       // answer ARM's error `error_code` with `http_status`, not applied
  };
  Kind kind = Kind::kHttp500;
  // Route filter: "any", "arm" (every ARM route), a route name (RouteName(): get, list, put,
  // patch, delete, failover, forceFailoverAllowDataLoss, tryPlannedBeforeForcedFailover,
  // asyncOperation, operationResult), "token" or "imds".
  std::string route = "any";
  std::string method;          // optional: only this HTTP method
  std::string server;          // optional: only requests for this server
  std::string failover_group;  // optional
  int count = -1;              // how many matches to hit; -1 = unlimited
  double probability = 1.0;    // chance that a match is hit
  uint64_t seed = 1;           // seeds this fault's random stream
  absl::Duration latency = absl::ZeroDuration();
  int retry_after_seconds = 1;
  std::string error_code = "PlannedFailoverTimedOut";  // kFailOperation
  std::string error_message = "User invoked planned failover, and it timed out.";
  // kArmError: the HTTP status (the code's documented one when the JSON gives none).
  int http_status = 400;
};

// Parses a fault from JSON ({"kind":"429"|"500"|"503"|"504"|"latency"|"reset_before"|
// "reset_after"|"fail_operation"|"arm_error","route":..,"count":..,"probability":..,"seed":..,
// "latencyMs":..,"errorCode":..,"status":..,...}). "arm_error" needs "errorCode"; its status and
// message default to the documented ones of a failover-group code (signals.h). kInvalidArgument
// naming the field.
absl::StatusOr<FaultSpec> ParseFault(const nlohmann::json& j);
// Parses "down" bodies: {"controlPlane":bool,"dataPlane":bool,"mode":"refuse"|"blackhole"}.
absl::StatusOr<RegionOutage> ParseOutage(const nlohmann::json& j);

// The kind as the fault JSON spells it ("429", "latency", "reset_after", ...); the request log
// and GET /admin/faults use the same names.
std::string FaultKindName(FaultSpec::Kind kind);

// The active request faults. Each has an id, counts its hits and draws from its own mt19937_64
// seeded with `seed`, so a run is reproducible. Thread-safe.
class FaultInjector {
 public:
  // Activates a fault; returns its id (1, 2, ... in order of addition).
  int Add(FaultSpec spec);
  // Deactivates one fault; unknown ids are ignored.
  void Remove(int id);
  void Clear();

  // The first active fault that matches a request on `route` (RouteName(), "token" or "imds")
  // and fires (count not used up, probability drawn), counting the hit; nullopt if none does.
  std::optional<FaultSpec> Match(const std::string& route, const std::string& method,
                                 const std::string& server, const std::string& failover_group);

  // [{"id","kind","route","count","hits"}, ...] in order of addition (GET /admin/faults).
  nlohmann::json ToJson() const;

 private:
  struct ActiveFault {
    int id;
    FaultSpec spec;
    std::mt19937_64 rng;
    int hits = 0;
  };

  mutable absl::Mutex mu_;
  std::vector<ActiveFault> faults_ ABSL_GUARDED_BY(mu_);
  int next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_FAULTS_H_
