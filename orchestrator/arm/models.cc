#include "orchestrator/arm/models.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace foghorn::arm {
namespace {

using Json = nlohmann::json;

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed arm json: ", absl::string_view(what.data(), what.size())));
}

// Parses without exceptions; discarded (invalid) documents come back as nullopt.
std::optional<Json> ParseJson(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string GetString(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

const Json* GetObject(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return nullptr;
  return &*it;
}

ReplicationRole ParseRole(const std::string& s) {
  std::string l = absl::AsciiStrToLower(s);
  if (l == "primary") return ReplicationRole::kPrimary;
  if (l == "secondary") return ReplicationRole::kSecondary;
  return ReplicationRole::kUnknown;
}

std::optional<std::int32_t> GetInt32(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  if (it->is_number_integer()) {
    auto v = it->get<std::int64_t>();
    if (v < std::numeric_limits<std::int32_t>::min() ||
        v > std::numeric_limits<std::int32_t>::max()) {
      return std::nullopt;
    }
    return static_cast<std::int32_t>(v);
  }
  return std::nullopt;
}

std::optional<ReadWriteEndpoint> ParseRw(const Json* o) {
  if (o == nullptr) return std::nullopt;
  ReadWriteEndpoint rw;
  rw.failover_policy = GetString(*o, "failoverPolicy");
  rw.failover_with_data_loss_grace_period_minutes =
      GetInt32(*o, "failoverWithDataLossGracePeriodMinutes");
  return rw;
}

std::optional<ReadOnlyEndpoint> ParseRo(const Json* o) {
  if (o == nullptr) return std::nullopt;
  return ReadOnlyEndpoint{GetString(*o, "failoverPolicy"), GetString(*o, "targetServer")};
}

absl::StatusOr<FailoverGroup> GroupFromJson(const Json& j) {
  if (!j.is_object()) return Bad("failover group is not an object");
  FailoverGroup g;
  g.id = GetString(j, "id");
  g.name = GetString(j, "name");
  g.type = GetString(j, "type");
  g.location = GetString(j, "location");
  if (const Json* tags = GetObject(j, "tags")) {
    for (const auto& [k, v] : tags->items()) {
      if (v.is_string()) g.tags[k] = v.get<std::string>();
    }
  }
  const Json* p = GetObject(j, "properties");
  if (p == nullptr) return Bad("failover group has no properties object");
  g.read_write_endpoint = ParseRw(GetObject(*p, "readWriteEndpoint"));
  g.read_only_endpoint = ParseRo(GetObject(*p, "readOnlyEndpoint"));
  g.replication_role = ParseRole(GetString(*p, "replicationRole"));
  g.replication_state = GetString(*p, "replicationState");
  g.secondary_type = GetString(*p, "secondaryType");
  if (auto it = p->find("partnerServers"); it != p->end() && it->is_array()) {
    for (const auto& e : *it) {
      if (!e.is_object()) continue;
      g.partner_servers.push_back({GetString(e, "id"), GetString(e, "location"),
                                   ParseRole(GetString(e, "replicationRole"))});
    }
  }
  if (auto it = p->find("databases"); it != p->end() && it->is_array()) {
    for (const auto& e : *it) {
      if (e.is_string()) g.databases.push_back(e.get<std::string>());
    }
  }
  return g;
}

Json RwToJson(const ReadWriteEndpoint& rw) {
  Json o = Json::object();
  o["failoverPolicy"] = rw.failover_policy;
  if (rw.failover_with_data_loss_grace_period_minutes.has_value()) {
    o["failoverWithDataLossGracePeriodMinutes"] = *rw.failover_with_data_loss_grace_period_minutes;
  }
  return o;
}

Json RoToJson(const ReadOnlyEndpoint& ro) {
  Json o = Json::object();
  if (!ro.failover_policy.empty()) o["failoverPolicy"] = ro.failover_policy;
  if (!ro.target_server.empty()) o["targetServer"] = ro.target_server;
  return o;
}

Json PartnersToJson(const std::vector<std::string>& ids) {
  Json a = Json::array();
  for (const auto& id : ids) a.push_back(Json{{"id", id}});
  return a;
}

std::string Dump(const Json& j) {
  // Replace invalid UTF-8 instead of throwing.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

std::string_view ReplicationRoleName(ReplicationRole role) {
  switch (role) {
    case ReplicationRole::kPrimary:
      return "Primary";
    case ReplicationRole::kSecondary:
      return "Secondary";
    case ReplicationRole::kUnknown:
      break;
  }
  return "Unknown";
}

absl::StatusOr<FailoverGroup> ParseFailoverGroup(std::string_view json) {
  auto j = ParseJson(json);
  if (!j) return Bad("failover group body is not json");
  return GroupFromJson(*j);
}

absl::StatusOr<FailoverGroupPage> ParseFailoverGroupPage(std::string_view json) {
  auto j = ParseJson(json);
  if (!j || !j->is_object()) return Bad("list body is not a json object");
  FailoverGroupPage page;
  auto it = j->find("value");
  if (it == j->end() || !it->is_array()) return Bad("list body has no value array");
  for (const auto& e : *it) {
    auto g = GroupFromJson(e);
    if (!g.ok()) return g.status();
    page.value.push_back(std::move(*g));
  }
  page.next_link = GetString(*j, "nextLink");
  return page;
}

absl::StatusOr<OperationStatus> ParseOperationStatus(std::string_view json) {
  auto j = ParseJson(json);
  if (!j || !j->is_object()) return Bad("operation status is not a json object");
  OperationStatus s;
  s.name = GetString(*j, "name");
  s.status = GetString(*j, "status");
  if (s.status.empty()) return Bad("operation status has no status field");
  std::string l = absl::AsciiStrToLower(s.status);
  if (l == "succeeded") {
    s.state = OperationState::kSucceeded;
  } else if (l == "failed") {
    s.state = OperationState::kFailed;
  } else if (l == "canceled" || l == "cancelled") {
    s.state = OperationState::kCanceled;
  } else {
    s.state = OperationState::kInProgress;  // RP-defined non-terminal values
  }
  if (const Json* e = GetObject(*j, "error")) {
    s.error = ArmError{GetString(*e, "code"), GetString(*e, "message"), GetString(*e, "target")};
  }
  return s;
}

std::optional<ArmError> ParseArmError(std::string_view json) {
  auto j = ParseJson(json);
  if (!j || !j->is_object()) return std::nullopt;
  const Json* e = GetObject(*j, "error");
  if (e == nullptr) e = &*j;  // some services send the ErrorDetail unwrapped
  ArmError err{GetString(*e, "code"), GetString(*e, "message"), GetString(*e, "target")};
  if (err.code.empty() && err.message.empty()) return std::nullopt;
  return err;
}

std::string FailoverGroupToPutJson(const FailoverGroup& g) {
  Json props = Json::object();
  if (g.read_write_endpoint) props["readWriteEndpoint"] = RwToJson(*g.read_write_endpoint);
  if (g.read_only_endpoint) props["readOnlyEndpoint"] = RoToJson(*g.read_only_endpoint);
  std::vector<std::string> ids;
  for (const auto& p : g.partner_servers) ids.push_back(p.id);
  props["partnerServers"] = PartnersToJson(ids);
  props["databases"] = g.databases;
  if (!g.secondary_type.empty()) props["secondaryType"] = g.secondary_type;
  Json j = Json::object();
  if (!g.tags.empty()) j["tags"] = g.tags;
  j["properties"] = props;
  return Dump(j);
}

std::string FailoverGroupUpdateToJson(const FailoverGroupUpdate& u) {
  Json props = Json::object();
  if (u.read_write_endpoint) props["readWriteEndpoint"] = RwToJson(*u.read_write_endpoint);
  if (u.read_only_endpoint) props["readOnlyEndpoint"] = RoToJson(*u.read_only_endpoint);
  if (u.databases) props["databases"] = *u.databases;
  if (u.partner_servers) props["partnerServers"] = PartnersToJson(*u.partner_servers);
  if (u.secondary_type) props["secondaryType"] = *u.secondary_type;
  Json j = Json::object();
  if (u.tags) j["tags"] = *u.tags;
  j["properties"] = props;
  return Dump(j);
}

}  // namespace foghorn::arm
