// PUT and PATCH of a failover group (create or update): the body is parsed and validated with
// the real service's error codes (ValidateBody), then the change runs as a long-running
// operation (emulator_operations.cc).
#include <algorithm>
#include <variant>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/armsim/emulator.h"

namespace foghorn::armsim {
namespace {

using nlohmann::json;

constexpr char kCodePrefix[] = "FailoverGroupCreateOrUpdateRequest";

ArmResponse BadRequest(const std::string& code_suffix, const std::string& message) {
  return ArmError(400, absl::StrCat(kCodePrefix, code_suffix), message);
}

struct ParsedId {
  std::string subscription;
  std::string resource_group;
  std::string server;
  std::string database;  // empty for a server id
};

// Parses ".../servers/{s}" (want_database=false) or ".../servers/{s}/databases/{d}".
std::optional<ParsedId> ParseArmId(const std::string& id, bool want_database) {
  std::vector<std::string> parts = absl::StrSplit(id, '/');
  size_t expected = want_database ? 11 : 9;
  if (parts.size() != expected || !parts[0].empty()) return std::nullopt;
  auto eq = [](const std::string& a, const char* b) { return absl::EqualsIgnoreCase(a, b); };
  if (!eq(parts[1], "subscriptions") || !eq(parts[3], "resourceGroups") ||
      !eq(parts[5], "providers") || !eq(parts[6], "Microsoft.Sql") || !eq(parts[7], "servers")) {
    return std::nullopt;
  }
  if (want_database && !eq(parts[9], "databases")) return std::nullopt;
  for (const auto& p : parts) {
    if (&p != &parts[0] && p.empty()) return std::nullopt;
  }
  ParsedId out{parts[2], parts[4], parts[8], want_database ? parts[10] : ""};
  return out;
}

// Parses a create/update body: the parsed JSON object, or an error response.
std::variant<json, ArmResponse> ParseBody(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return BadRequest("Invalid",
                      "The create or update failover group request body is empty or invalid.");
  }
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return ArmError(400, "InvalidRequestContent",
                    "The request content was invalid and could not be deserialized.");
  }
  if (!parsed.is_object()) {
    return BadRequest("Invalid",
                      "The create or update failover group request body is empty or invalid.");
  }
  return parsed;
}

}  // namespace

std::optional<ArmResponse> Emulator::RemovesSeedingDatabase(const Group& g, const Group& config,
                                                            absl::Time now) const {
  // A database still being seeded into the group cannot be removed until the add finishes.
  for (const auto& [db, since] : g.seeding_since) {
    if (since + signals_.seeding_duration <= now) continue;
    if (std::find(config.databases.begin(), config.databases.end(), db) != config.databases.end()) {
      continue;
    }
    auto info = FailoverGroupError("DatabaseBeingAddedToFailoverGroup");
    return ArmError(info->status, "DatabaseBeingAddedToFailoverGroup",
                    absl::StrCat(info->message, " (database '", db, "')"));
  }
  return std::nullopt;
}

std::optional<ArmResponse> Emulator::ValidateBody(const ArmRequest& r, const json& props,
                                                  bool is_patch, Group& out) {
  // readWriteEndpoint.
  auto rw = props.find("readWriteEndpoint");
  if (rw == props.end() || rw->is_null()) {
    if (!is_patch) {
      return BadRequest("InvalidReadWriteEndpoint",
                        "The readWriteEndpoint field is required for create or update requests.");
    }
  } else {
    if (!rw->is_object()) {
      return BadRequest("InvalidReadWriteEndpoint",
                        "The readWriteEndpoint field is required for create or update requests.");
    }
    auto pol = rw->find("failoverPolicy");
    if (pol == rw->end() || !pol->is_string() ||
        (pol->get<std::string>() != "Manual" && pol->get<std::string>() != "Automatic")) {
      return BadRequest("InvalidReadWriteFailoverPolicy",
                        "The failoverPolicy field for the read-write endpoint is required for "
                        "create or update requests.");
    }
    out.rw_policy = pol->get<std::string>();
    auto grace = rw->find("failoverWithDataLossGracePeriodMinutes");
    if (grace != rw->end() && !grace->is_null()) {
      if (!grace->is_number_integer()) {
        return BadRequest("Invalid",
                          "The create or update failover group request body is empty "
                          "or invalid.");
      }
      int64_t g = grace->get<int64_t>();
      if (g < 0) {
        return BadRequest("NegativeGracePeriodValues",
                          "Grace period value for the read-write endpoint must be non-negative.");
      }
      if (g > 2147483647) {
        return BadRequest("Invalid",
                          "The create or update failover group request body is empty "
                          "or invalid.");
      }
      out.grace = static_cast<int>(g);
    } else {
      out.grace.reset();
    }
    if (out.rw_policy == "Manual" && out.grace) {
      return BadRequest("InvalidReadWriteEndpointFieldsForManualPolicy",
                        "Grace period value should not be provided when failover policy Manual is "
                        "selected for the read-write endpoint.");
    }
    if (out.rw_policy == "Automatic" && !out.grace) {
      return BadRequest("InvalidReadWriteEndpointFields",
                        "The property failoverWithDataLossGracePeriodMinutes must be provided when "
                        "failover policy Automatic is selected for the read-write endpoint.");
    }
    if (out.rw_policy == "Automatic" && *out.grace < 60) {
      return BadRequest("LessThanMinimumGracePeriodValues",
                        "Grace period value for the read-write endpoint must be greater than or "
                        "equal to the '60' minutes minimum grace period.");
    }
  }
  // readOnlyEndpoint.
  if (auto ro = props.find("readOnlyEndpoint"); ro != props.end() && !ro->is_null()) {
    if (!ro->is_object()) {
      return BadRequest("Invalid",
                        "The create or update failover group request body is empty or invalid.");
    }
    if (auto pol = ro->find("failoverPolicy"); pol != ro->end() && !pol->is_null()) {
      if (!pol->is_string() ||
          (pol->get<std::string>() != "Disabled" && pol->get<std::string>() != "Enabled")) {
        return BadRequest("Invalid",
                          "The create or update failover group request body is empty or invalid.");
      }
      out.ro_policy = pol->get<std::string>();
    }
  }
  // partnerServers.
  auto partners = props.find("partnerServers");
  if (partners == props.end() || partners->is_null()) {
    if (!is_patch) {
      return BadRequest("InvalidPartner",
                        "The given partners field in create or update failover group request body "
                        "is empty or invalid.");
    }
  } else {
    if (!partners->is_array() || partners->empty()) {
      return BadRequest("InvalidPartner",
                        "The given partners field in create or update failover group request body "
                        "is empty or invalid.");
    }
    std::vector<ParsedId> ids;
    for (const auto& p : *partners) {
      auto id = p.is_object() ? p.find("id") : p.end();
      if (!p.is_object() || id == p.end() || !id->is_string()) {
        return BadRequest("InvalidPartner",
                          "The given partners field in create or update failover group request "
                          "body is empty or invalid.");
      }
      auto parsed = ParseArmId(id->get<std::string>(), false);
      if (!parsed) {
        return BadRequest("InvalidPartner",
                          "The given partners field in create or update failover group request "
                          "body is empty or invalid.");
      }
      for (const auto& seen : ids) {
        if (absl::EqualsIgnoreCase(seen.server, parsed->server)) {
          return BadRequest("DuplicatePartner",
                            "One or more of the provided partner servers are already part of the "
                            "failover group. Please make sure the primary server and all of the "
                            "given partner servers are unique.");
        }
      }
      if (parsed->server == r.server) {
        return BadRequest("DuplicatePartner",
                          "One or more of the provided partner servers are already part of the "
                          "failover group. Please make sure the primary server and all of the "
                          "given partner servers are unique.");
      }
      ids.push_back(*parsed);
    }
    if (ids.size() > 1) {
      return BadRequest("UnsupportedPartnerCount", "Only one partner server is supported.");
    }
    const ParsedId& partner = ids[0];
    if (partner.subscription != r.subscription) {
      return ArmError(400, "FailoverGroupPartnerServerFromDifferentSubscription",
                      "Primary server and the partner servers of failover group are from "
                      "different subscriptions. Cross subscription for servers of failover group "
                      "is not allowed.");
    }
    auto ps = servers_.find(partner.server);
    if (ps == servers_.end() || ps->second.spec.subscription != partner.subscription ||
        !absl::EqualsIgnoreCase(ps->second.spec.resource_group, partner.resource_group)) {
      return ArmError(400, "ServerNotFound",
                      absl::StrCat("The requested server '", partner.server, "' was not found."));
    }
    if (ps->second.spec.region == servers_.at(r.server).spec.region) {
      return ArmError(400, "InvalidFailoverGroupRegion",
                      "Servers specified in a Failover Group need to reside in different regions "
                      "to provide isolation.");
    }
    if (!out.secondary.empty() && out.secondary != partner.server) {
      return BadRequest("InvalidPartner",
                        "The partner server of an existing failover group cannot be changed.");
    }
    out.secondary = partner.server;
  }
  // databases.
  if (auto dbs = props.find("databases"); dbs != props.end() && !dbs->is_null()) {
    if (!dbs->is_array()) {
      return BadRequest("InvalidDatabases",
                        "The provided databases in the request are not valid database resource "
                        "IDs.");
    }
    std::vector<std::string> names;
    for (const auto& d : *dbs) {
      auto parsed = d.is_string() ? ParseArmId(d.get<std::string>(), true) : std::nullopt;
      if (!parsed) {
        return BadRequest("InvalidDatabases",
                          "The provided databases in the request are not valid database resource "
                          "IDs.");
      }
      const Server& self = servers_.at(r.server);
      if (parsed->server != r.server || parsed->subscription != r.subscription ||
          self.databases.count(parsed->database) == 0) {
        return BadRequest("InvalidDatabaseServer",
                          "One or more of the provided databases do not exist on the primary "
                          "server of the failover group. Please make sure that all the databases "
                          "exist on the primary server.");
      }
      for (const auto& [name, g] : groups_) {
        if (name == out.name) continue;
        if ((g.primary == r.server || g.secondary == r.server) &&
            std::find(g.databases.begin(), g.databases.end(), parsed->database) !=
                g.databases.end()) {
          return ArmError(
              409, "DatabaseBelongsToOtherFailoverGroup",
              absl::StrCat("Database '", parsed->database, "' belongs to other Failover Group '",
                           name, "' and cannot be consider a part of this one."));
        }
      }
      if (std::find(names.begin(), names.end(), parsed->database) == names.end()) {
        names.push_back(parsed->database);
      }
    }
    out.databases = names;
  }
  if (auto st = props.find("secondaryType"); st != props.end() && !st->is_null()) {
    if (!st->is_string() ||
        (st->get<std::string>() != "Geo" && st->get<std::string>() != "Standby")) {
      return BadRequest("Invalid",
                        "The create or update failover group request body is empty or invalid.");
    }
    out.secondary_type = st->get<std::string>();
  }
  return std::nullopt;
}

ArmResponse Emulator::Put(const ArmRequest& r, absl::Time now) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  auto parsed = ParseBody(r.body);
  if (auto* err = std::get_if<ArmResponse>(&parsed)) return *err;
  json& body = std::get<json>(parsed);
  auto props = body.find("properties");
  if (props == body.end() || !props->is_object()) {
    return BadRequest("Invalid",
                      "The create or update failover group request body is empty or invalid.");
  }
  Group config;
  config.name = r.failover_group;
  config.primary = r.server;
  bool exists = false;
  const Group* taken = nullptr;  // the name is used by a group of another server pair
  if (auto it = groups_.find(r.failover_group); it != groups_.end()) {
    const Group& g = it->second;
    if (g.primary != r.server && g.secondary != r.server) {
      taken = &g;
    } else {
      if (!g.busy_operation.empty()) return BusyLocked(g);
      if (g.secondary == r.server) return OnSecondary();
      exists = true;
      config.secondary = g.secondary;
      config.lag = g.lag;
    }
  }
  if (auto err = ValidateBody(r, *props, /*is_patch=*/false, config)) return *err;
  if (taken != nullptr) {
    // The name is a global DNS name (<name>.database.windows.net): taken by a group that holds
    // the requested partner, the group "already exists on a given server"; taken by an unrelated
    // pair, its DNS record is in use.
    if (config.secondary == taken->primary || config.secondary == taken->secondary) {
      return ArmError(409, "FailoverGroupAlreadyExists",
                      absl::StrCat("Failover group '", r.failover_group,
                                   "' already exists on a given server."));
    }
    std::string code = "FailoverGroupDnsRecordInUse";
    return ArmError(409, code,
                    absl::StrCat(FailoverGroupError(code)->message, " ('", r.failover_group,
                                 ".database.windows.net')"));
  }
  if (exists) {
    if (auto err = RemovesSeedingDatabase(groups_.at(r.failover_group), config, now)) return *err;
  }
  if (auto tags = body.find("tags"); tags != body.end() && tags->is_object()) config.tags = *tags;
  if (!exists) {
    Group placeholder = config;
    placeholder.creating = true;
    groups_[r.failover_group] = placeholder;
  }
  return StartOperation(r, exists ? "UpdateFailoverGroup" : "CreateFailoverGroup",
                        std::move(config), now);
}

ArmResponse Emulator::Patch(const ArmRequest& r, absl::Time now) {
  if (auto e = CheckServer(r); e.status != 0) return e;
  auto it = groups_.find(r.failover_group);
  if (it == groups_.end() || it->second.creating ||
      (it->second.primary != r.server && it->second.secondary != r.server)) {
    return GroupNotFound(r);
  }
  if (!it->second.busy_operation.empty()) return BusyLocked(it->second);
  if (it->second.secondary == r.server) return OnSecondary();
  auto parsed = ParseBody(r.body);
  if (auto* err = std::get_if<ArmResponse>(&parsed)) return *err;
  json& body = std::get<json>(parsed);
  Group config = it->second;
  config.busy_operation.clear();
  json props = json::object();
  if (auto p = body.find("properties"); p != body.end()) {
    if (!p->is_object()) {
      return BadRequest("Invalid",
                        "The create or update failover group request body is empty or invalid.");
    }
    props = *p;
  }
  if (auto err = ValidateBody(r, props, /*is_patch=*/true, config)) return *err;
  if (config.rw_policy == "Manual" && config.grace) config.grace.reset();
  if (auto err = RemovesSeedingDatabase(it->second, config, now)) return *err;
  if (auto tags = body.find("tags"); tags != body.end() && tags->is_object()) config.tags = *tags;
  return StartOperation(r, "UpdateFailoverGroup", std::move(config), now);
}

}  // namespace foghorn::armsim
