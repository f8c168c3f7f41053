// Fuzzes what foghorn-armsim parses from the outside: ARM request bodies (PUT/PATCH through the
// emulator's validation), topology files, scenario files, fault specs, ISO 8601 times
// (ParseIsoTime), and the monitoring routes' query parameters: Azure Monitor metrics ($filter,
// timespan, interval, aggregation, metricnames) and the Activity Log's $filter, served through
// ServeMonitor into the emulator's signal model. None may crash.
//
// The monitoring queries take the input's lines as their parameters: line 1 is the $filter of
// both routes, then timespan, interval, aggregation and metricnames; a missing line leaves its
// parameter out (metricnames then names every metric).
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/fake_clock.h"
#include "tools/armsim/armsim_server.h"
#include "tools/armsim/emulator.h"
#include "tools/armsim/monitor_routes.h"
#include "tools/armsim/request_log.h"
#include "tools/armsim/scenario.h"
#include "tools/armsim/sim_context.h"
#include "tools/armsim/topology.h"

namespace {

constexpr char kTopology[] = R"({"subscriptions":[{"id":"s","resourceGroups":[{"name":"rg",
  "servers":[{"name":"a","location":"East US","databases":["d1","d2"]},
             {"name":"b","location":"West US"}]}]}],
  "failoverGroups":[{"name":"fg","primaryServer":"a","partnerServer":"b","databases":["d1"]}]})";

// Serves one GET through the monitoring routes (ServeMonitor), as the HTTP front end would.
void ServeGet(foghorn::armsim::SimContext& sim, const std::string& path,
              const std::vector<std::pair<std::string, std::string>>& params) {
  httplib::Request req;
  req.method = "GET";
  req.path = path;
  for (const auto& [name, value] : params) req.params.emplace(name, value);
  httplib::Response res;
  foghorn::armsim::RequestRecord record;
  foghorn::armsim::Exchange x{req, absl::StrSplit(req.path, '/', absl::SkipEmpty()), res, record,
                              ""};
  (void)foghorn::armsim::ServeMonitor(sim, x);
}

// The metrics and Activity Log queries, on an emulator with history: a Microsoft-initiated
// planned failover of "fg" (Activity Log events, a role change) 10 minutes before the queries,
// so the last hour's buckets are ingested.
void FuzzMonitorQueries(const std::string& input) {
  std::vector<std::string> lines = absl::StrSplit(input, '\n');
  foghorn::common::FakeClock clock;
  foghorn::armsim::ArmSimOptions options;
  options.tls = false;
  options.data_plane = false;
  options.request_log_memory = 16;
  options.clock = &clock;
  auto topology = foghorn::armsim::ParseTopology(kTopology);
  foghorn::armsim::SimContext sim(options, *topology);
  clock.Advance(absl::Minutes(50));
  (void)sim.emulator.MicrosoftFailover("fg", /*planned=*/true, "");
  clock.Advance(absl::Minutes(10));

  std::vector<std::pair<std::string, std::string>> metrics = {{"api-version", "2023-10-01"}};
  const char* const kNames[] = {"$filter", "timespan", "interval", "aggregation", "metricnames"};
  for (size_t i = 0; i < lines.size() && i < std::size(kNames); ++i) {
    metrics.emplace_back(kNames[i], lines[i]);
  }
  if (lines.size() < std::size(kNames)) {
    metrics.emplace_back("metricnames",
                         "replication_lag_seconds,availability,connection_failed,"
                         "connection_successful");
  }
  for (const char* server : {"a", "b"}) {
    ServeGet(sim,
             std::string("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/") +
                 server + "/databases/d1/providers/Microsoft.Insights/metrics",
             metrics);
  }
  ServeGet(sim, "/subscriptions/s/providers/Microsoft.Insights/eventtypes/management/values",
           {{"api-version", "2015-04-01"}, {"$filter", lines[0]}});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  (void)foghorn::armsim::ParseIsoTime(input);
  for (absl::string_view line : absl::StrSplit(input, '\n')) {
    (void)foghorn::armsim::ParseIsoTime(std::string(line));
  }
  FuzzMonitorQueries(input);
  (void)foghorn::armsim::ParseTopology(input);
  (void)foghorn::armsim::ParseScenario(input);
  nlohmann::json j = nlohmann::json::parse(input, nullptr, false);
  if (!j.is_discarded()) {
    (void)foghorn::armsim::ParseFault(j);
    (void)foghorn::armsim::ParseOutage(j);
  }
  static foghorn::common::FakeClock clock;
  auto topology = foghorn::armsim::ParseTopology(kTopology);
  foghorn::armsim::EmulatorOptions options;
  options.clock = &clock;
  foghorn::armsim::Emulator emulator(*topology, options);
  for (auto route : {foghorn::armsim::ArmRoute::kPut, foghorn::armsim::ArmRoute::kPatch}) {
    for (const char* fg : {"fg", "new"}) {
      foghorn::armsim::ArmRequest r;
      r.route = route;
      r.subscription = "s";
      r.resource_group = "rg";
      r.server = "a";
      r.failover_group = fg;
      r.api_version = "2025-01-01";
      r.body = input;
      r.base_url = "https://127.0.0.1:1";
      (void)emulator.Handle(r);
    }
  }
  clock.Advance(absl::Seconds(10));
  (void)emulator.StateJson();
  return 0;
}
