#include "tools/armsim/topology.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/files.h"
#include "tools/armsim/vantages.h"

namespace foghorn::armsim {
namespace {

using nlohmann::json;

const std::map<std::string, std::string>& KnownRegions() {
  static const auto* regions = new std::map<std::string, std::string>{
      {"eastus", "East US"},
      {"eastus2", "East US 2"},
      {"westus", "West US"},
      {"westus2", "West US 2"},
      {"westus3", "West US 3"},
      {"centralus", "Central US"},
      {"northcentralus", "North Central US"},
      {"southcentralus", "South Central US"},
      {"northeurope", "North Europe"},
      {"westeurope", "West Europe"},
      {"uksouth", "UK South"},
      {"ukwest", "UK West"},
      {"japaneast", "Japan East"},
      {"japanwest", "Japan West"},
      {"australiaeast", "Australia East"},
      {"australiasoutheast", "Australia Southeast"},
      {"francecentral", "France Central"},
      {"germanywestcentral", "Germany West Central"},
      {"swedencentral", "Sweden Central"},
      {"canadacentral", "Canada Central"},
      {"canadaeast", "Canada East"},
  };
  return *regions;
}

absl::Status Invalid(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("topology: ", where, ": ", what));
}

absl::StatusOr<std::string> RequiredString(const json& obj, const std::string& key,
                                           const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return Invalid(absl::StrCat(where, ".", key), "missing");
  if (!it->is_string() || it->get<std::string>().empty()) {
    return Invalid(absl::StrCat(where, ".", key), "must be a non-empty string");
  }
  return it->get<std::string>();
}

absl::StatusOr<std::vector<std::string>> StringList(const json& obj, const std::string& key,
                                                    const std::string& where) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end()) return out;
  if (!it->is_array()) return Invalid(absl::StrCat(where, ".", key), "must be an array");
  for (const auto& v : *it) {
    if (!v.is_string()) return Invalid(absl::StrCat(where, ".", key), "must hold strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

absl::StatusOr<Topology> ParseJson(const json& root) {
  Topology topo;
  if (!root.is_object()) return Invalid("(root)", "must be a JSON object");
  std::set<std::string> server_names;
  auto subs = root.find("subscriptions");
  if (subs == root.end() || !subs->is_array()) return Invalid("subscriptions", "missing array");
  for (size_t i = 0; i < subs->size(); ++i) {
    const json& sub = (*subs)[i];
    std::string where = absl::StrCat("subscriptions[", i, "]");
    if (!sub.is_object()) return Invalid(where, "must be an object");
    auto sub_id = RequiredString(sub, "id", where);
    if (!sub_id.ok()) return sub_id.status();
    auto rgs = sub.find("resourceGroups");
    if (rgs == sub.end() || !rgs->is_array()) {
      return Invalid(where + ".resourceGroups", "missing array");
    }
    for (size_t j = 0; j < rgs->size(); ++j) {
      const json& rg = (*rgs)[j];
      std::string rg_where = absl::StrCat(where, ".resourceGroups[", j, "]");
      if (!rg.is_object()) return Invalid(rg_where, "must be an object");
      auto rg_name = RequiredString(rg, "name", rg_where);
      if (!rg_name.ok()) return rg_name.status();
      auto servers = rg.find("servers");
      if (servers == rg.end()) continue;
      if (!servers->is_array()) return Invalid(rg_where + ".servers", "must be an array");
      for (size_t k = 0; k < servers->size(); ++k) {
        const json& s = (*servers)[k];
        std::string s_where = absl::StrCat(rg_where, ".servers[", k, "]");
        if (!s.is_object()) return Invalid(s_where, "must be an object");
        ServerSpec spec;
        spec.subscription = *sub_id;
        spec.resource_group = *rg_name;
        auto name = RequiredString(s, "name", s_where);
        if (!name.ok()) return name.status();
        spec.name = *name;
        auto location = RequiredString(s, "location", s_where);
        if (!location.ok()) return location.status();
        spec.location = RegionDisplayName(*location);
        spec.region = RegionKey(*location);
        auto dbs = StringList(s, "databases", s_where);
        if (!dbs.ok()) return dbs.status();
        spec.databases = *dbs;
        if (!server_names.insert(spec.name).second) {
          return Invalid(s_where + ".name", absl::StrCat("duplicate server '", spec.name, "'"));
        }
        topo.servers.push_back(std::move(spec));
      }
    }
  }
  auto find_server = [&](const std::string& name) -> const ServerSpec* {
    for (const auto& s : topo.servers) {
      if (s.name == name) return &s;
    }
    return nullptr;
  };
  auto fgs = root.find("failoverGroups");
  if (fgs != root.end()) {
    if (!fgs->is_array()) return Invalid("failoverGroups", "must be an array");
    std::set<std::string> fg_names;
    for (size_t i = 0; i < fgs->size(); ++i) {
      const json& f = (*fgs)[i];
      std::string where = absl::StrCat("failoverGroups[", i, "]");
      if (!f.is_object()) return Invalid(where, "must be an object");
      FailoverGroupSpec spec;
      auto name = RequiredString(f, "name", where);
      if (!name.ok()) return name.status();
      spec.name = *name;
      if (!fg_names.insert(spec.name).second) {
        return Invalid(where + ".name", absl::StrCat("duplicate failover group '", spec.name, "'"));
      }
      auto primary = RequiredString(f, "primaryServer", where);
      if (!primary.ok()) return primary.status();
      auto partner = RequiredString(f, "partnerServer", where);
      if (!partner.ok()) return partner.status();
      const ServerSpec* p = find_server(*primary);
      const ServerSpec* q = find_server(*partner);
      if (p == nullptr)
        return Invalid(where + ".primaryServer", "unknown server '" + *primary + "'");
      if (q == nullptr)
        return Invalid(where + ".partnerServer", "unknown server '" + *partner + "'");
      if (p == q) return Invalid(where + ".partnerServer", "must differ from primaryServer");
      spec.primary_server = *primary;
      spec.partner_server = *partner;
      if (auto rw = f.find("readWriteEndpoint"); rw != f.end() && rw->is_object()) {
        if (auto pol = rw->find("failoverPolicy"); pol != rw->end() && pol->is_string()) {
          spec.read_write_policy = pol->get<std::string>();
        }
        if (auto g = rw->find("failoverWithDataLossGracePeriodMinutes");
            g != rw->end() && g->is_number_integer()) {
          spec.grace_period_minutes = g->get<int>();
        }
      }
      if (spec.read_write_policy != "Manual" && spec.read_write_policy != "Automatic") {
        return Invalid(where + ".readWriteEndpoint.failoverPolicy", "must be Manual or Automatic");
      }
      if (auto ro = f.find("readOnlyEndpoint"); ro != f.end() && ro->is_object()) {
        if (auto pol = ro->find("failoverPolicy"); pol != ro->end() && pol->is_string()) {
          spec.read_only_policy = pol->get<std::string>();
        }
      }
      auto dbs = StringList(f, "databases", where);
      if (!dbs.ok()) return dbs.status();
      for (const auto& db : *dbs) {
        if (std::find(p->databases.begin(), p->databases.end(), db) == p->databases.end()) {
          return Invalid(where + ".databases", "database '" + db + "' is not on the primary");
        }
      }
      spec.databases = *dbs;
      if (auto st = f.find("secondaryType"); st != f.end() && st->is_string()) {
        spec.secondary_type = st->get<std::string>();
      }
      if (auto lag = f.find("replicationLagSeconds"); lag != f.end()) {
        if (!lag->is_number() || lag->get<double>() < 0) {
          return Invalid(where + ".replicationLagSeconds", "must be a non-negative number");
        }
        spec.replication_lag_seconds = lag->get<double>();
      }
      topo.failover_groups.push_back(std::move(spec));
    }
  }
  auto clients = root.find("clients");
  if (clients != root.end()) {
    if (!clients->is_array()) return Invalid("clients", "must be an array");
    for (size_t i = 0; i < clients->size(); ++i) {
      const json& c = (*clients)[i];
      std::string where = absl::StrCat("clients[", i, "]");
      if (!c.is_object()) return Invalid(where, "must be an object");
      ClientSpec spec;
      auto tenant = RequiredString(c, "tenant", where);
      if (!tenant.ok()) return tenant.status();
      auto id = RequiredString(c, "clientId", where);
      if (!id.ok()) return id.status();
      auto secret = RequiredString(c, "clientSecret", where);
      if (!secret.ok()) return secret.status();
      topo.clients.push_back({*tenant, *id, *secret});
    }
  }
  auto vantages = root.find("vantages");
  if (vantages != root.end() && !vantages->is_array()) {
    return Invalid("vantages", "must be an array");
  }
  for (size_t i = 0; vantages != root.end() && i < vantages->size(); ++i) {
    std::string where = absl::StrCat("vantages[", i, "]");
    if (!(*vantages)[i].is_string()) return Invalid(where, "must be a string");
    std::string name = (*vantages)[i].get<std::string>();
    if (absl::Status valid = ValidateVantageName(name); !valid.ok()) {
      return Invalid(where, std::string(valid.message()));
    }
    if (std::find(topo.vantages.begin(), topo.vantages.end(), name) != topo.vantages.end()) {
      return Invalid(where, absl::StrCat("duplicate vantage '", name, "'"));
    }
    topo.vantages.push_back(name);
  }
  return topo;
}

}  // namespace

std::string RegionKey(const std::string& location) {
  std::string key;
  for (char c : location) {
    if (c == ' ') continue;
    key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return key;
}

std::string RegionDisplayName(const std::string& location) {
  auto it = KnownRegions().find(location);
  return it == KnownRegions().end() ? location : it->second;
}

absl::StatusOr<Topology> ParseTopology(const std::string& json_text) {
  json root = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError("topology: not valid JSON");
  return ParseJson(root);
}

absl::StatusOr<Topology> LoadTopologyFile(const std::string& path) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  if (!text.ok()) return absl::NotFoundError(absl::StrCat("topology: ", text.status().message()));
  return ParseTopology(*text);
}

}  // namespace foghorn::armsim
