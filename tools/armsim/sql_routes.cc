#include "tools/armsim/sql_routes.h"

#include <string>

#include "tools/armsim/http_front.h"

namespace foghorn::armsim {

std::optional<Disposition> ServeSql(SimContext& sim, Exchange& x) {
  const std::vector<std::string>& s = x.segments;
  if (!(s.size() == 4 && s[0] == "sql" && s[1] == "servers" && s[3] == "replicationLinks" &&
        x.req.method == "GET")) {
    return std::nullopt;
  }
  const std::string& server = s[2];
  x.record.route = "sql";
  x.record.server = server;
  std::string region = sim.emulator.ServerRegion(server);
  auto down = sim.emulator.RegionDown(region);
  if (down && down->data_plane) {
    if (down->mode == OutageMode::kBlackhole) {
      sim.blackholes.Hold(sim.emulator, region, sim.options.blackhole_timeout);
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
