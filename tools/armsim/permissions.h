// foghorn-armsim's RBAC model: the effective permissions of the caller on each server, as
// Microsoft.Authorization/permissions reports them (authorization_routes.h serves the read and
// enforces them on failover-group requests). Every server allows everything ("actions": ["*"])
// until the admin API narrows it, e.g. removes
// Microsoft.Sql/servers/failoverGroups/failover/action to stage a readiness regression. One
// grant per server, shared by every caller (the emulator has one identity model, not roles).
#ifndef FOGHORN_TOOLS_ARMSIM_PERMISSIONS_H_
#define FOGHORN_TOOLS_ARMSIM_PERMISSIONS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace foghorn::armsim {

inline constexpr char kFailoverAction[] = "Microsoft.Sql/servers/failoverGroups/failover/action";

// One entry of Microsoft.Authorization/permissions.
struct PermissionGrant {
  std::vector<std::string> actions = {"*"};
  std::vector<std::string> not_actions;
};

// ARM action wildcards: '*' matches any run of characters; case-insensitive.
bool ActionMatches(absl::string_view pattern, absl::string_view action);

// Thread-safe.
class PermissionStore {
 public:
  // The grant on `server` (case-insensitive name): the default (everything) unless Set.
  PermissionGrant Get(const std::string& server) const;
  // Replaces the grant on `server`; nullopt restores the default.
  void Set(const std::string& server, std::optional<PermissionGrant> grant);
  // Whether the grant on `server` allows `action` (an action matches and no notAction does).
  bool Allows(const std::string& server, const std::string& action) const;
  // {"<server>":{"actions":[...],"notActions":[...]}} for the servers whose grant was Set.
  nlohmann::json ToJson() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, PermissionGrant> grants_ ABSL_GUARDED_BY(mu_);  // lowercase server name
};

// Azure's shape of one grant: {"actions","notActions","dataActions":[],"notDataActions":[]}.
nlohmann::json PermissionJson(const PermissionGrant& grant);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_PERMISSIONS_H_
