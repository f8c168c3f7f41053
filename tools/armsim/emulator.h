// The ARM failover-group state machine behind foghorn-armsim, free of HTTP: servers, failover
// groups, long-running operations, region outages and the replication/write model. The ARM routes
// (arm_routes.h) parse requests into ArmRequest and render ArmResponse; the data plane
// (data_plane.h) reads listener targets from it.
//
// Time: operations complete lazily. Every call first completes the operations whose due time has
// passed on the injected clock, so a FakeClock drives it deterministically and a real clock gives
// real durations; the data plane's I/O loop reads the endpoint targets every pass, so listeners
// follow roles even when nobody polls ARM. Thread-safe: one mutex guards all state.
//
// The implementation is split by responsibility: emulator.cc (dispatch, reads, outages, state),
// emulator_create_update.cc (PUT/PATCH and body validation), emulator_operations.cc (long-running
// operations), emulator_replication.cc (writes, replication, data-plane endpoint targets),
// emulator_signals.cc (Azure's own signals from the state history: metrics, Resource Health,
// replication links, Activity Log; Microsoft-initiated failovers).
#ifndef FOGHORN_TOOLS_ARMSIM_EMULATOR_H_
#define FOGHORN_TOOLS_ARMSIM_EMULATOR_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/clock.h"
#include "tools/armsim/signals.h"
#include "tools/armsim/topology.h"

namespace foghorn::armsim {

// How a region that is down treats traffic: refuse (connection refused / 503 at once) or black
// hole (accept and never answer).
enum class OutageMode { kRefuse, kBlackhole };

struct RegionOutage {
  bool control_plane = true;
  bool data_plane = true;
  OutageMode mode = OutageMode::kRefuse;
};

// The ARM routes the emulator serves.
enum class ArmRoute {
  kList,
  kGet,
  kPut,
  kPatch,
  kDelete,
  kFailover,
  kForceFailover,
  kTryPlannedBeforeForcedFailover,
  kAsyncOperation,
  kOperationResult,
  kListReplicationLinks,  // GET {databaseId}/replicationLinks
  kGetReplicationLink,    // GET {databaseId}/replicationLinks/{linkId}
};

// Stable short name of a route ("failover", "get", ...), used by the request log and faults.
std::string RouteName(ArmRoute route);

struct ArmRequest {
  ArmRoute route = ArmRoute::kGet;
  std::string subscription;
  std::string resource_group;  // empty for subscription-scoped status URLs
  std::string server;
  std::string failover_group;
  std::string region;        // status URLs
  std::string operation_id;  // status URLs
  std::string api_version;
  std::string body;
  std::string base_url;        // scheme://host:port used to build absolute URLs
  std::string skip_token;      // list paging
  std::string database;        // replication-link routes
  std::string link_id;         // kGetReplicationLink
  std::string caller;          // the identity that asked (Activity Log)
  std::string correlation_id;  // x-ms-correlation-request-id of the answer (Activity Log)
  // When set, an accepted long-running operation will end Failed with this ARM error code.
  std::optional<std::pair<std::string, std::string>> forced_failure;
};

struct ArmResponse {
  int status = 200;
  std::optional<nlohmann::json> body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool blackhole = false;           // the region is a black hole: never answer
  bool accepted_operation = false;  // a long-running operation was started (202)
  std::string operation_id;
};

// An ARM error response {"error":{"code","message"}} with the given HTTP status.
ArmResponse ArmError(int status, const std::string& code, const std::string& message);

struct EmulatorOptions {
  absl::Duration operation_duration = absl::Seconds(2);
  std::optional<absl::Duration> retry_after;  // sent on 202 and running Location polls
  int page_size = 50;
  const common::Clock* clock = nullptr;  // not owned; nullptr = real clock
  SignalOptions signals;
};

// Replication counters of one failover group (writes are counted on its primary).
struct ReplicationInfo {
  std::string failover_group;
  std::string primary;
  std::string secondary;
  int64_t writes_total = 0;
  int64_t writes_replicated = 0;
  int64_t writes_pending = 0;
  int64_t writes_lost = 0;
  double lag_seconds = 0;  // age of the oldest unreplicated write
  double configured_lag_seconds = 0;
};

// What a data-plane endpoint currently stands for.
struct EndpointTarget {
  std::string server;  // empty: no target (group deleted)
  std::string role;    // Primary | Secondary
  std::string region;  // the target server's region key
  bool down = false;   // the target's region data plane is down
  OutageMode mode = OutageMode::kRefuse;
};

class Emulator {
 public:
  Emulator(Topology topology, EmulatorOptions options);
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Serves one ARM request. Never fails: errors are ARM-shaped responses.
  ArmResponse Handle(const ArmRequest& request);

  // Takes a region down/up. Unknown regions are accepted (they may get servers later). Bringing a
  // region up lets an old primary rejoin as secondary and resumes replication.
  void SetRegionDown(const std::string& region, RegionOutage outage);
  void SetRegionUp(const std::string& region);
  std::optional<RegionOutage> RegionDown(const std::string& region);
  // The region key of a server, or empty if unknown.
  std::string ServerRegion(const std::string& server);

  // Records `count` writes on the primary of `failover_group`. kNotFound for an unknown group,
  // kUnavailable if the primary's data plane is down.
  absl::Status RecordWrites(const std::string& failover_group, int64_t count);
  // Writes on a server: one per group it is primary of. kFailedPrecondition if it is primary of
  // none, kNotFound if unknown.
  absl::Status RecordServerWrites(const std::string& server, int64_t count);
  absl::StatusOr<ReplicationInfo> Replication(const std::string& failover_group);
  // Replication links seen from `server` (sys.dm_geo_replication_link_status-like JSON array).
  absl::StatusOr<nlohmann::json> ReplicationLinks(const std::string& server);
  absl::Status SetReplicationLag(const std::string& failover_group, absl::Duration lag);

  // Ends a running operation now as Failed (or Canceled) with `code`. kNotFound /
  // kFailedPrecondition.
  absl::Status FailOperation(const std::string& operation_id, const std::string& code,
                             const std::string& message, bool canceled);

  void SetOperationDuration(absl::Duration d);
  void SetRetryAfter(std::optional<absl::Duration> d);

  // Targets of the data-plane endpoints: "server:<name>", "fg:<name>:rw", "fg:<name>:ro".
  std::map<std::string, EndpointTarget> EndpointTargets();
  EndpointTarget ResolveEndpoint(const std::string& endpoint);

  // Full state for the admin API.
  nlohmann::json StateJson();

  // Called (without the lock held) after roles, groups or regions changed.
  void SetOnChange(std::function<void()> on_change);

  // --- Azure's own signals (emulator_signals.cc) ---
  SignalOptions signal_options();
  void SetSignalOptions(SignalOptions options);
  // Starts a Microsoft-initiated failover of `failover_group` to its secondary (forced unless
  // `planned`), recorded in the Activity Log with `caller` (empty: the configured Microsoft
  // caller). A user operation running on the group ends Failed with OperationInterrupted; while
  // it runs, user mutations of the group get 409 ConflictingSystemOperationInProgress. Returns
  // the operation id; kNotFound for an unknown group, kFailedPrecondition if a Microsoft-initiated
  // operation already runs on it.
  absl::StatusOr<std::string> MicrosoftFailover(const std::string& failover_group, bool planned,
                                                const std::string& caller);
  // Resource Health of a server (`database` empty) or database, as
  // Microsoft.ResourceHealth/availabilityStatuses/current answers it (not gated by outages: the
  // service is global). kNotFound for an unknown server or database.
  absl::StatusOr<nlohmann::json> ResourceHealth(const std::string& subscription,
                                                const std::string& resource_group,
                                                const std::string& server,
                                                const std::string& database);
  // Forces (or with nullopt clears) the Resource Health state of a server or database.
  absl::Status SetHealthOverride(const std::string& server, const std::string& database,
                                 std::optional<HealthOverride> state);
  // Forces (nullopt clears) the replicationState every replication link of `failover_group`
  // reports ("SUSPENDED", "SEEDING", "CATCH_UP"), on both servers, whatever the model says. Only
  // the replicationLinks resource changes: writes keep replicating and the group's own
  // replicationState is untouched. kNotFound for an unknown group, kInvalidArgument for another
  // state.
  absl::Status SetLinkStateOverride(const std::string& failover_group,
                                    std::optional<std::string> state);
  // The Azure Monitor metrics response for `query` (the caller validated names and times).
  // kNotFound for an unknown server or database.
  absl::StatusOr<nlohmann::json> Metrics(const std::string& subscription,
                                         const std::string& resource_group,
                                         const MetricQuery& query);
  // Activity Log events matching `query`, newest first ({"value":[...]}).
  nlohmann::json ActivityLog(const ActivityQuery& query);
  // Counts a connection attempt that failed because the primary was unreachable (the
  // connection_failed metric); RecordWrites counts the successful ones.
  void RecordFailedConnection(const std::string& failover_group, int64_t count);

 private:
  struct Server {
    ServerSpec spec;
    std::set<std::string> databases;
  };
  struct Group {
    std::string name;
    std::string primary;
    std::string secondary;
    std::string rw_policy = "Manual";
    std::optional<int> grace;
    std::string ro_policy = "Disabled";
    std::vector<std::string> databases;
    std::string secondary_type = "Geo";
    nlohmann::json tags;
    bool creating = false;
    std::string busy_operation;
    absl::Duration lag = absl::ZeroDuration();
    std::deque<absl::Time> pending;
    int64_t writes_total = 0;
    int64_t writes_replicated = 0;
    int64_t writes_lost = 0;
    // Signal history (emulator_signals.cc).
    absl::Time created = absl::InfinitePast();
    std::map<std::string, absl::Time> seeding_since;  // database -> when its seeding began
    std::vector<std::pair<absl::Time, std::string>> primaries;  // (since, primary server)
    // (since, oldest unreplicated write or InfiniteFuture when none): replication lag over time.
    std::vector<std::pair<absl::Time, absl::Time>> oldest_pending;
  };
  struct Operation {
    std::string id;
    std::string name;  // CreateFailoverGroup | UpdateFailoverGroup | ...
    ArmRoute route = ArmRoute::kGet;
    std::string subscription;
    std::string region;
    std::string server;
    std::string group;
    absl::Time start;
    absl::Time due;
    absl::Time end;
    std::string status = "InProgress";
    std::string error_code;
    std::string error_message;
    std::optional<std::pair<std::string, std::string>> forced_failure;
    Group pending_config;  // create/update: the configuration to apply
    std::optional<nlohmann::json> result;
    int64_t lost_writes = 0;
    std::string outcome;  // planned | forced (failovers)
    std::string caller;
    std::string correlation_id;
    std::string resource_group;
    bool system = false;  // Microsoft-initiated
  };
  // A region outage as it happened (Resource Health and metrics read the history).
  struct OutageSpan {
    absl::Time start;
    absl::Time end = absl::InfiniteFuture();
    RegionOutage outage;
  };
  struct ActivityEvent {
    absl::Time time;
    std::string operation_id;
    std::string operation_name;  // Microsoft.Sql/servers/failoverGroups/.../action
    std::string status;          // Started | Succeeded | Failed
    std::string caller;
    std::string correlation_id;
    std::string subscription;
    std::string resource_group;
    std::string resource_id;
    std::string error_code;
    std::string error_message;
  };

  absl::Time Now() const;
  bool AdvanceLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CompleteLocked(Operation& op, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PumpLocked(Group& g, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool DataUpLocked(const std::string& server) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool RegionFullyUpLocked(const std::string& server) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string ServerId(const std::string& server) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  nlohmann::json GroupJson(const Group& g, const std::string& server) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse CheckServer(const ArmRequest& r) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse List(const ArmRequest& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse Get(const ArmRequest& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse Put(const ArmRequest& r, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse Patch(const ArmRequest& r, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse Delete(const ArmRequest& r, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse Failover(const ArmRequest& r, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse AsyncStatus(const ArmRequest& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse OperationResult(const ArmRequest& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Validates a create/update body into `out`; returns a non-empty error response on failure.
  std::optional<ArmResponse> ValidateBody(const ArmRequest& r, const nlohmann::json& props,
                                          bool is_patch, Group& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // 409 DatabaseBeingAddedToFailoverGroup if `config` drops a database of `g` still seeding.
  std::optional<ArmResponse> RemovesSeedingDatabase(const Group& g, const Group& config,
                                                    absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse StartOperation(const ArmRequest& r, const std::string& name, Group config,
                             absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NotifyChange();
  // Signal bookkeeping (emulator_signals.cc).
  void RecordLagLocked(Group& g, absl::Time at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordPrimaryLocked(Group& g, absl::Time at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordActivityLocked(const Operation& op, const std::string& status, absl::Time at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The latest end of a data-plane outage of `server`'s region (InfinitePast if none).
  absl::Time LastDataResumeLocked(const std::string& server) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool DataUpAtLocked(const std::string& server, absl::Time t) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ArmResponse ReplicationLinksLocked(const ArmRequest& r, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An ARM error for a group mutation refused because an operation runs: FailoverGroupBusy, or
  // ConflictingSystemOperationInProgress when the running one is Microsoft-initiated.
  ArmResponse BusyLocked(const Group& g) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ARM errors several routes answer with.
  static ArmResponse GroupNotFound(const ArmRequest& r);
  static ArmResponse Busy(const std::string& failover_group);
  static ArmResponse OnSecondary();

  const EmulatorOptions options_;
  common::RealClock real_clock_;
  const common::Clock* clock_;
  std::function<void()> on_change_;

  absl::Mutex mu_;
  absl::Duration operation_duration_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Duration> retry_after_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Server> servers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Group> groups_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Operation> operations_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> running_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, RegionOutage> down_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> region_display_ ABSL_GUARDED_BY(mu_);
  SignalOptions signals_ ABSL_GUARDED_BY(mu_);
  absl::Time started_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<OutageSpan>> outage_history_ ABSL_GUARDED_BY(mu_);
  std::deque<ActivityEvent> activity_ ABSL_GUARDED_BY(mu_);
  // (server, minute start) -> connections that succeeded / failed on that primary.
  std::map<std::pair<std::string, absl::Time>, int64_t> connections_ok_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, absl::Time>, int64_t> connections_failed_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, HealthOverride> health_overrides_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> link_state_overrides_ ABSL_GUARDED_BY(mu_);  // by group
};

// A random RFC 4122 version-4 UUID string.
std::string NewUuid();
// RFC 3339 with fractional seconds, UTC ("2025-01-01T00:00:00.123Z").
std::string FormatArmTime(absl::Time t);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_EMULATOR_H_
