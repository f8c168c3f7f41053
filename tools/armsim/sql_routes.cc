#include "tools/armsim/sql_routes.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "tools/armsim/http_front.h"

namespace foghorn::armsim {
namespace {

// How `vantage` ("" = no vantage) reaches the data plane of `region` now: nullopt when it does,
// else the mode of the region's outage (which every vantage sees) or of the vantage's partition.
std::optional<OutageMode> Darkness(SimContext& sim, const std::string& vantage,
                                   const std::string& region) {
  auto down = sim.emulator.RegionDown(region);
  if (down && down->data_plane) return down->mode;
  return sim.vantages.CutMode(vantage, region);
}

}  // namespace

std::optional<Disposition> ServeSql(SimContext& sim, Exchange& x) {
  const std::vector<std::string>& s = x.segments;
  // "/vantages/{vantage}" in front names the vantage the request comes from.
  size_t base = s.size() == 6 && s[0] == "vantages" ? 2 : 0;
  if (!(s.size() == base + 4 && s[base] == "sql" && s[base + 1] == "servers" &&
        s[base + 3] == "replicationLinks" && x.req.method == "GET")) {
    return std::nullopt;
  }
  const std::string vantage = base == 0 ? "" : s[1];
  const std::string& server = s[base + 2];
  x.record.route = "sql";
  x.record.server = server;
  x.record.vantage = vantage;
  if (!vantage.empty() && !sim.vantages.Has(vantage)) {
    SendJson(x.res, 404,
             {{"error",
               {{"code", "VantageNotFound"},
                {"message", absl::StrCat("The vantage '", vantage, "' is not configured.")}}}});
    return Disposition::kAnswer;
  }
  std::string region = sim.emulator.ServerRegion(server);
  if (auto dark = Darkness(sim, vantage, region)) {
    if (*dark == OutageMode::kBlackhole) {
      x.record.fault = "blackhole";
      sim.blackholes.Hold([&] { return Darkness(sim, vantage, region) == OutageMode::kBlackhole; },
                          sim.options.blackhole_timeout);
      return Disposition::kDropConnection;
    }
    SendJson(
        x.res, 503,
        {{"error", {{"code", "DatabaseUnavailable"}, {"message", "The server is unreachable."}}}});
    return Disposition::kAnswer;
  }
  auto links = sim.emulator.ReplicationLinks(server);
  if (!links.ok()) {
    SendJson(x.res, 404,
             {{"error",
               {{"code", "ServerNotFound"}, {"message", std::string(links.status().message())}}}});
  } else {
    SendJson(x.res, 200, {{"value", *links}});
  }
  return Disposition::kAnswer;
}

}  // namespace foghorn::armsim
