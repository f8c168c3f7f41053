// Vantage points of foghorn-armsim and the network partitions between them and regions. A vantage
// stands for a place probes run from (an agent's region, e.g. "eu-probe"). The data plane gives
// each vantage its own listener per endpoint and the SQL health route its own path
// (/vantages/<name>/sql/...), so an agent configured as vantage X probes X's addresses. A
// partition cuts one vantage off from one region's data plane (refuse or black hole) while every
// other vantage, and the shared endpoints, still reach it; a region outage (Emulator) still
// affects every vantage. The ARM management plane is not partitioned per vantage.
//
// The vantage names are fixed when the emulator starts (topology "vantages" and
// ArmSimOptions::vantages); partitions change while it serves (admin API, scenario files,
// ArmSimServer::Partition/Heal). docs/armsim.md, "Vantages and partitions".
#ifndef FOGHORN_TOOLS_ARMSIM_VANTAGES_H_
#define FOGHORN_TOOLS_ARMSIM_VANTAGES_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "tools/armsim/emulator.h"

namespace foghorn::armsim {

// kInvalidArgument unless `name` is 1-63 characters of [A-Za-z0-9._-] (it becomes a URL path
// segment and a key of the startup line).
absl::Status ValidateVantageName(const std::string& name);

// One cut between a vantage and a region's data plane.
struct Partition {
  std::string vantage;
  std::string region;  // region key ("eastus"); a display name ("East US") is normalised
  OutageMode mode = OutageMode::kRefuse;
};

// Parses {"vantage":..,"region":..,"mode":"refuse"|"blackhole"} (mode defaults to refuse).
// kInvalidArgument naming the field ("partition.region: missing").
absl::StatusOr<Partition> ParsePartition(const nlohmann::json& j);

// The vantages and their partitions. Thread-safe.
class VantageMap {
 public:
  // `names` must be valid and distinct (ParseTopology and ArmSimServer::Start check them).
  explicit VantageMap(std::vector<std::string> names);
  VantageMap(const VantageMap&) = delete;
  VantageMap& operator=(const VantageMap&) = delete;

  // The vantages in configuration order; fixed for the map's life.
  const std::vector<std::string>& names() const { return names_; }
  bool Has(const std::string& vantage) const;

  // Cuts `p.vantage` off from `p.region` (replacing the mode of an existing cut). Unknown regions
  // are accepted (as region outages are). kNotFound for an unknown vantage, kInvalidArgument
  // for an empty region.
  absl::Status Cut(const Partition& p);
  // Heals the cuts between `vantage` and `region`; an empty vantage or region matches every one
  // (both empty: heal everything). Healing what is not cut is not an error. kNotFound for an
  // unknown (non-empty) vantage.
  absl::Status Heal(const std::string& vantage, const std::string& region);

  // The mode of the cut between `vantage` and `region`, or nullopt when it reaches the region
  // (always for the empty vantage, the shared endpoints).
  std::optional<OutageMode> CutMode(const std::string& vantage, const std::string& region) const;

  // [{"vantage","region","mode"}, ...] sorted by vantage, then region (GET /admin/partitions).
  nlohmann::json PartitionsJson() const;

 private:
  const std::vector<std::string> names_;
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, OutageMode> cuts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_VANTAGES_H_
