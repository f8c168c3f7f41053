// The emulated world foghorn-armsim serves: subscriptions, resource groups, SQL servers with their
// regions and databases, and the failover groups between them. Loaded once from a JSON file (format
// in docs/armsim.md); the emulator then mutates its own copy.
#ifndef FOGHORN_TOOLS_ARMSIM_TOPOLOGY_H_
#define FOGHORN_TOOLS_ARMSIM_TOPOLOGY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace foghorn::armsim {

// One logical SQL server. Server names are globally unique, as in Azure
// (<name>.database.windows.net).
struct ServerSpec {
  std::string subscription;
  std::string resource_group;
  std::string name;
  std::string location;  // display name, e.g. "East US"
  std::string region;    // ARM region key, e.g. "eastus"
  std::vector<std::string> databases;
};

// A failover group as seeded: `primary_server` holds the Primary role.
struct FailoverGroupSpec {
  std::string name;
  std::string primary_server;
  std::string partner_server;
  std::string read_write_policy = "Manual";  // Manual | Automatic
  std::optional<int> grace_period_minutes;
  std::string read_only_policy = "Disabled";  // Disabled | Enabled
  std::vector<std::string> databases;         // database names on the primary
  std::string secondary_type = "Geo";         // Geo | Standby
  double replication_lag_seconds = 0;         // how long a write takes to reach the secondary
};

// A service principal the token endpoint accepts. An empty list accepts any client.
struct ClientSpec {
  std::string tenant;
  std::string client_id;
  std::string client_secret;
};

struct Topology {
  std::vector<ServerSpec> servers;
  std::vector<FailoverGroupSpec> failover_groups;
  std::vector<ClientSpec> clients;
  // Named vantage points (vantages.h): each gets its own data-plane listeners and can be
  // partitioned from a region. Empty: only the shared endpoints.
  std::vector<std::string> vantages;
};

// Parses the topology JSON. Returns kInvalidArgument naming the offending field (e.g.
// "subscriptions[0].resourceGroups[1].servers[0].location: missing") for bad input; never throws.
absl::StatusOr<Topology> ParseTopology(const std::string& json_text);

// Reads and parses a topology file; kNotFound if it cannot be read.
absl::StatusOr<Topology> LoadTopologyFile(const std::string& path);

// "East US" -> "eastus"; "eastus" -> "eastus".
std::string RegionKey(const std::string& location);
// "eastus" -> "East US" for known regions; a display name is returned unchanged.
std::string RegionDisplayName(const std::string& location);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_TOPOLOGY_H_
