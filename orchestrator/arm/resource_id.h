// ARM resource ids for SQL servers and failover groups, parsed and built in one place. Every URL
// the ARM client sends is derived from these types, so a malformed id is rejected before any
// request leaves the process.
#ifndef FOGHORN_ORCHESTRATOR_ARM_RESOURCE_ID_H_
#define FOGHORN_ORCHESTRATOR_ARM_RESOURCE_ID_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace foghorn::arm {

// /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{server}
struct ServerId {
  std::string subscription;
  std::string resource_group;
  std::string server;

  // Parses an ARM id. Fixed segments match case-insensitively (ARM ids are case-insensitive);
  // names keep their case. INVALID_ARGUMENT for anything else, including empty names, names with
  // characters outside [A-Za-z0-9._()-], extra segments or a query string.
  static absl::StatusOr<ServerId> Parse(std::string_view id);

  // The canonical id, starting with "/subscriptions/".
  std::string Path() const;

  friend bool operator==(const ServerId&, const ServerId&) = default;
};

// /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{server}/failoverGroups/{name}
// The same group exists on both servers of the pair; `server` says from which side it is seen.
struct FailoverGroupId {
  std::string subscription;
  std::string resource_group;
  std::string server;
  std::string name;

  // Parses an ARM id; INVALID_ARGUMENT as for ServerId::Parse.
  static absl::StatusOr<FailoverGroupId> Parse(std::string_view id);

  // Checks each part (non-empty, allowed characters). INVALID_ARGUMENT naming the bad part.
  absl::Status Validate() const;

  std::string Path() const;
  ServerId Server() const { return {subscription, resource_group, server}; }
  // The same group seen from `partner`.
  FailoverGroupId OnServer(const ServerId& partner) const {
    return {partner.subscription, partner.resource_group, partner.server, name};
  }

  // "server/name", for log lines.
  std::string ShortName() const { return server + "/" + name; }

  friend bool operator==(const FailoverGroupId&, const FailoverGroupId&) = default;
};

// True when `name` is a valid ARM name segment for these ids.
bool IsValidNameSegment(std::string_view name);

}  // namespace foghorn::arm

#endif  // FOGHORN_ORCHESTRATOR_ARM_RESOURCE_ID_H_
