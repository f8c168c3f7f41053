#include "orchestrator/agent/arm_readiness_checks.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace foghorn::agent {
namespace {

using json = nlohmann::json;

// ARM action wildcards: '*' matches any run of characters; case-insensitive.
bool Matches(absl::string_view pattern, absl::string_view text) {
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() &&
               absl::ascii_tolower(pattern[p]) == absl::ascii_tolower(text[t])) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const json& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

// Where the group stands now: which runbook server is primary (read on the secondary first: in a
// regional outage it is the side that answers).
struct Sides {
  std::string primary, secondary;
  std::string primary_rg, secondary_rg;
};

Sides SidesOf(const v1::FailoverGroupRef& ref, ReadinessReads& reads) {
  const std::string secondary_rg = ref.secondary_resource_group().empty()
                                       ? ref.resource_group()
                                       : ref.secondary_resource_group();
  Sides s{ref.primary_server(), ref.secondary_server(), ref.resource_group(), secondary_rg};
  absl::StatusOr<arm::FailoverGroup> g =
      reads.Group({ref.subscription_id(), secondary_rg, ref.secondary_server(), ref.name()});
  if (g.ok() && g->replication_role == arm::ReplicationRole::kPrimary) {
    std::swap(s.primary, s.secondary);
    std::swap(s.primary_rg, s.secondary_rg);
  }
  return s;
}

ReadinessCheck Make(const char* name, ReadinessState state, std::string detail) {
  return ReadinessCheck{name, state, std::move(detail)};
}

ReadinessCheck CheckPermission(const v1::FailoverGroupRef& ref, const Sides& s,
                               ReadinessReads& reads) {
  const arm::ServerId server{ref.subscription_id(), s.secondary_rg, s.secondary};
  absl::StatusOr<std::string> body =
      reads.Read(absl::StrCat("permissions on ", s.secondary), ref.subscription_id(),
                 absl::StrCat(server.Path(), "/providers/Microsoft.Authorization/permissions",
                              "?api-version=", kAuthorizationApiVersion));
  if (!body.ok()) {
    if (body.status().code() == absl::StatusCode::kNotFound) {
      return Make(kCheckFailoverPermission, ReadinessState::kUnknown,
                  absl::StrCat("the endpoint does not serve Microsoft.Authorization/permissions "
                               "for ",
                               s.secondary, " (404): permission not checked"));
    }
    return Make(kCheckFailoverPermission, ReadinessState::kUnknown,
                absl::StrCat("cannot read the permissions on ", s.secondary, ": ",
                             body.status().ToString()));
  }
  absl::StatusOr<std::vector<PermissionEntry>> entries = ParsePermissions(*body);
  if (!entries.ok()) {
    return Make(kCheckFailoverPermission, ReadinessState::kUnknown,
                absl::StrCat("permissions on ", s.secondary, ": ", entries.status().message()));
  }
  std::vector<std::string> missing;
  for (const char* action :
       {"Microsoft.Sql/servers/failoverGroups/failover/action",
        "Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action"}) {
    if (!PermissionAllows(*entries, action)) missing.push_back(action);
  }
  if (!missing.empty()) {
    return Make(
        kCheckFailoverPermission, ReadinessState::kFailing,
        absl::StrCat("the identity may not ", absl::StrJoin(missing, ", "), " on ", s.secondary));
  }
  return Make(kCheckFailoverPermission, ReadinessState::kOk,
              absl::StrCat("the identity may fail the group over on ", s.secondary));
}

ReadinessCheck CheckLinks(const v1::FailoverGroupRef& ref, const Sides& s, ReadinessReads& reads) {
  if (ref.databases().empty()) {
    return Make(kCheckSecondaryLink, ReadinessState::kUnknown,
                "the runbook names no databases: links not checked");
  }
  std::vector<std::string> ok, bad, unknown;
  for (const std::string& db : ref.databases()) {
    absl::StatusOr<std::vector<arm::ReplicationLink>> links =
        reads.Links({ref.subscription_id(), s.secondary_rg, s.secondary, db});
    if (!links.ok()) {
      if (links.status().code() == absl::StatusCode::kNotFound) {
        bad.push_back(absl::StrCat(db, ": not found on ", s.secondary));
      } else {
        unknown.push_back(absl::StrCat(db, ": ", links.status().message()));
      }
      continue;
    }
    const arm::ReplicationLink* link = nullptr;
    for (const arm::ReplicationLink& l : *links) {
      if (absl::EqualsIgnoreCase(l.partner_server, s.primary)) link = &l;
    }
    if (link == nullptr && !links->empty()) link = &links->front();
    if (link == nullptr) {
      bad.push_back(absl::StrCat(db, ": no replication link on ", s.secondary));
      continue;
    }
    const std::string type = link->link_type.empty() ? "" : absl::StrCat(", ", link->link_type);
    const std::string state = absl::AsciiStrToUpper(link->replication_state);
    if (state == "CATCH_UP") {
      ok.push_back(absl::StrCat(db, ": CATCH_UP", type));
    } else {
      const std::string progress =
          link->percent_complete ? absl::StrCat(" ", *link->percent_complete, "%") : "";
      bad.push_back(absl::StrCat(
          db, ": ", link->replication_state.empty() ? "no state" : link->replication_state,
          progress, type));
    }
  }
  if (!bad.empty()) {
    return Make(kCheckSecondaryLink, ReadinessState::kFailing,
                absl::StrCat("secondary ", s.secondary, " not ready: ", absl::StrJoin(bad, "; ")));
  }
  if (!unknown.empty()) {
    return Make(
        kCheckSecondaryLink, ReadinessState::kUnknown,
        absl::StrCat("cannot read links on ", s.secondary, ": ", absl::StrJoin(unknown, "; ")));
  }
  return Make(kCheckSecondaryLink, ReadinessState::kOk,
              absl::StrCat("secondary ", s.secondary, ": ", absl::StrJoin(ok, "; ")));
}

ReadinessCheck CheckSku(const v1::FailoverGroupRef& ref, const Sides& s, ReadinessReads& reads) {
  if (ref.databases().empty()) {
    return Make(kCheckSkuParity, ReadinessState::kUnknown,
                "the runbook names no databases: SKU parity not checked");
  }
  auto read = [&](const std::string& rg, const std::string& server,
                  const std::string& db) -> absl::StatusOr<DatabaseSku> {
    const arm::DatabaseId id{ref.subscription_id(), rg, server, db};
    absl::StatusOr<std::string> body =
        reads.Read(absl::StrCat("database ", id.ShortName()), ref.subscription_id(),
                   absl::StrCat(id.Path(), "?api-version=", kDatabasesApiVersion));
    if (!body.ok()) return body.status();
    return ParseDatabaseSku(*body);
  };
  std::vector<std::string> same, differ, unknown;
  for (const std::string& db : ref.databases()) {
    absl::StatusOr<DatabaseSku> p = read(s.primary_rg, s.primary, db);
    absl::StatusOr<DatabaseSku> q = read(s.secondary_rg, s.secondary, db);
    if (!p.ok() || !q.ok()) {
      const absl::Status& st = !p.ok() ? p.status() : q.status();
      unknown.push_back(absl::StrCat(db, ": ", st.message()));
      continue;
    }
    if (p->Describe() == q->Describe()) {
      same.push_back(absl::StrCat(db, ": ", p->Describe()));
    } else {
      differ.push_back(absl::StrCat(db, ": ", p->Describe(), " on ", s.primary, ", ", q->Describe(),
                                    " on ", s.secondary));
    }
  }
  if (!differ.empty()) {
    return Make(kCheckSkuParity, ReadinessState::kFailing,
                absl::StrCat("service objectives differ: ", absl::StrJoin(differ, "; ")));
  }
  if (!unknown.empty()) {
    return Make(kCheckSkuParity, ReadinessState::kUnknown,
                absl::StrCat("cannot read the databases, parity not checked: ",
                             absl::StrJoin(unknown, "; ")));
  }
  return Make(kCheckSkuParity, ReadinessState::kOk,
              absl::StrCat("same service objective on both sides: ", absl::StrJoin(same, "; ")));
}

}  // namespace

absl::StatusOr<std::vector<PermissionEntry>> ParsePermissions(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("value") || !j["value"].is_array()) {
    return absl::InvalidArgumentError("malformed permissions json: no value array");
  }
  std::vector<PermissionEntry> out;
  for (const json& e : j["value"]) {
    if (!e.is_object()) return absl::InvalidArgumentError("malformed permissions json: entry");
    out.push_back({Strings(e, "actions"), Strings(e, "notActions")});
  }
  return out;
}

bool PermissionAllows(const std::vector<PermissionEntry>& entries, const std::string& action) {
  for (const PermissionEntry& e : entries) {
    bool allowed = false;
    for (const std::string& a : e.actions) allowed |= Matches(a, action);
    for (const std::string& n : e.not_actions) allowed &= !Matches(n, action);
    if (allowed) return true;
  }
  return false;
}

std::string DatabaseSku::Describe() const {
  if (!service_objective.empty()) return service_objective;
  return capacity > 0 ? absl::StrCat(name, "/", capacity) : name;
}

absl::StatusOr<DatabaseSku> ParseDatabaseSku(const std::string& body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("malformed database json");
  }
  DatabaseSku out;
  if (auto sku = j.find("sku"); sku != j.end() && sku->is_object()) {
    out.name = sku->value("name", "");
    out.tier = sku->value("tier", "");
    if (auto c = sku->find("capacity"); c != sku->end() && c->is_number_integer()) {
      out.capacity = c->get<int>();
    }
  }
  if (auto p = j.find("properties"); p != j.end() && p->is_object()) {
    if (auto o = p->find("currentServiceObjectiveName"); o != p->end() && o->is_string()) {
      out.service_objective = o->get<std::string>();
    }
  }
  if (out.name.empty() && out.service_objective.empty()) {
    return absl::InvalidArgumentError("malformed database json: no sku or service objective");
  }
  return out;
}

std::vector<ReadinessCheck> ArmReadinessChecks::Check(const v1::Runbook& runbook) {
  const v1::FailoverGroupRef& ref = runbook.group();
  const Sides sides = SidesOf(ref, reads_);
  return {CheckPermission(ref, sides, reads_), CheckLinks(ref, sides, reads_),
          CheckSku(ref, sides, reads_)};
}

}  // namespace foghorn::agent
