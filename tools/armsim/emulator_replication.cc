// The emulator's replication and write model and its data-plane view: writes are counted on a
// group's primary and reach the secondary after the configured lag while both data planes are up
// (PumpLocked); replication counters and links for the admin API and the SQL health route; the
// targets of the data-plane endpoints (servers, read-write and read-only listeners).
#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/armsim/emulator.h"

namespace foghorn::armsim {

using nlohmann::json;

void Emulator::PumpLocked(Group& g, absl::Time now) {
  if (!DataUpLocked(g.primary) || !DataUpLocked(g.secondary)) return;
  if (g.pending.empty() || g.pending.front() + g.lag > now) return;
  // Pumping is lazy, but the lag history records when each write really reached the secondary:
  // its time plus the lag, or when replication resumed after an outage, whichever is later.
  const absl::Time resumed =
      std::max(LastDataResumeLocked(g.primary), LastDataResumeLocked(g.secondary));
  while (!g.pending.empty() && g.pending.front() + g.lag <= now) {
    const absl::Time oldest = g.pending.front();
    while (!g.pending.empty() && g.pending.front() == oldest) {
      g.pending.pop_front();
      ++g.writes_replicated;
    }
    RecordLagLocked(g, std::min(now, std::max(oldest + g.lag, resumed)));
  }
}

absl::Status Emulator::RecordWrites(const std::string& fg, int64_t count) {
  absl::MutexLock lock(&mu_);
  absl::Time now = Now();
  AdvanceLocked(now);
  auto it = groups_.find(fg);
  if (it == groups_.end() || it->second.creating) {
    return absl::NotFoundError(absl::StrCat("failover group '", fg, "' not found"));
  }
  Group& g = it->second;
  if (!DataUpLocked(g.primary)) {
    connections_failed_[{g.primary, absl::FromUnixSeconds(absl::ToUnixSeconds(now) / 60 * 60)}] +=
        count;
    return absl::UnavailableError(absl::StrCat("primary '", g.primary, "' is unreachable"));
  }
  const bool was_empty = g.pending.empty();
  for (int64_t i = 0; i < count; ++i) g.pending.push_back(now);
  g.writes_total += count;
  if (was_empty && count > 0) RecordLagLocked(g, now);
  connections_ok_[{g.primary, absl::FromUnixSeconds(absl::ToUnixSeconds(now) / 60 * 60)}] += count;
  PumpLocked(g, now);
  return absl::OkStatus();
}

absl::Status Emulator::RecordServerWrites(const std::string& server, int64_t count) {
  std::vector<std::string> fgs;
  {
    absl::MutexLock lock(&mu_);
    AdvanceLocked(Now());
    if (!servers_.count(server)) {
      return absl::NotFoundError(absl::StrCat("server '", server, "' not found"));
    }
    for (const auto& [name, g] : groups_) {
      if (g.primary == server && !g.creating) fgs.push_back(name);
    }
  }
  if (fgs.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("server '", server, "' is primary of no failover group"));
  }
  for (const auto& fg : fgs) {
    if (auto s = RecordWrites(fg, count); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<ReplicationInfo> Emulator::Replication(const std::string& fg) {
  absl::MutexLock lock(&mu_);
  absl::Time now = Now();
  AdvanceLocked(now);
  auto it = groups_.find(fg);
  if (it == groups_.end() || it->second.creating) {
    return absl::NotFoundError(absl::StrCat("failover group '", fg, "' not found"));
  }
  const Group& g = it->second;
  ReplicationInfo info;
  info.failover_group = g.name;
  info.primary = g.primary;
  info.secondary = g.secondary;
  info.writes_total = g.writes_total;
  info.writes_replicated = g.writes_replicated;
  info.writes_pending = static_cast<int64_t>(g.pending.size());
  info.writes_lost = g.writes_lost;
  info.lag_seconds = g.pending.empty() ? 0 : absl::ToDoubleSeconds(now - g.pending.front());
  info.configured_lag_seconds = absl::ToDoubleSeconds(g.lag);
  return info;
}

absl::StatusOr<json> Emulator::ReplicationLinks(const std::string& server) {
  std::vector<std::string> fgs;
  {
    absl::MutexLock lock(&mu_);
    if (!servers_.count(server)) {
      return absl::NotFoundError(absl::StrCat("server '", server, "' not found"));
    }
    for (const auto& [name, g] : groups_) {
      if (!g.creating && (g.primary == server || g.secondary == server)) fgs.push_back(name);
    }
  }
  json links = json::array();
  for (const auto& fg : fgs) {
    auto info = Replication(fg);
    if (!info.ok()) continue;
    bool primary = info->primary == server;
    links.push_back({{"failover_group", fg},
                     {"partner_server", primary ? info->secondary : info->primary},
                     {"role_desc", primary ? "PRIMARY" : "SECONDARY"},
                     {"replication_state_desc", "CATCH_UP"},
                     {"replication_lag_sec", info->lag_seconds},
                     {"writes_total", info->writes_total},
                     {"writes_replicated", info->writes_replicated},
                     {"writes_pending", info->writes_pending},
                     {"writes_lost", info->writes_lost}});
  }
  return links;
}

absl::Status Emulator::SetReplicationLag(const std::string& fg, absl::Duration lag) {
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(fg);
  if (it == groups_.end()) {
    return absl::NotFoundError(absl::StrCat("failover group '", fg, "' not found"));
  }
  if (lag < absl::ZeroDuration()) return absl::InvalidArgumentError("lag must be non-negative");
  it->second.lag = lag;
  PumpLocked(it->second, Now());
  return absl::OkStatus();
}

std::map<std::string, EndpointTarget> Emulator::EndpointTargets() {
  std::map<std::string, EndpointTarget> out;
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, s] : servers_) names.push_back("server:" + name);
    for (const auto& [name, g] : groups_) {
      names.push_back("fg:" + name + ":rw");
      names.push_back("fg:" + name + ":ro");
    }
  }
  for (const auto& n : names) out[n] = ResolveEndpoint(n);
  return out;
}

EndpointTarget Emulator::ResolveEndpoint(const std::string& endpoint) {
  absl::MutexLock lock(&mu_);
  AdvanceLocked(Now());
  EndpointTarget t;
  std::string server;
  std::string role;
  if (absl::StartsWith(endpoint, "server:")) {
    server = endpoint.substr(7);
    role = "Secondary";
    for (const auto& [name, g] : groups_) {
      if (g.primary == server && !g.creating) role = "Primary";
    }
  } else if (absl::StartsWith(endpoint, "fg:")) {
    std::vector<std::string> parts = absl::StrSplit(endpoint, ':');
    if (parts.size() != 3) return t;
    auto it = groups_.find(parts[1]);
    if (it == groups_.end() || it->second.creating) return t;
    const Group& g = it->second;
    if (parts[2] == "rw") {
      server = g.primary;
      role = "Primary";
    } else {
      server = g.secondary;
      role = "Secondary";
      // Read-only traffic moves to the primary only when allowed and the secondary is gone.
      if (g.ro_policy == "Enabled" && !DataUpLocked(g.secondary)) {
        server = g.primary;
        role = "Primary";
      }
    }
  }
  auto sit = servers_.find(server);
  if (sit == servers_.end()) return t;
  t.server = server;
  t.role = role;
  t.region = sit->second.spec.region;
  auto d = down_.find(t.region);
  if (d != down_.end() && d->second.data_plane) {
    t.down = true;
    t.mode = d->second.mode;
  }
  return t;
}

}  // namespace foghorn::armsim
