// Fuzzes what foghorn-armsim parses from the outside: ARM request bodies (PUT/PATCH through the
// emulator's validation), topology files, scenario files and fault specs. None may crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "nlohmann/json.hpp"
#include "orchestrator/common/fake_clock.h"
#include "tools/armsim/armsim_server.h"
#include "tools/armsim/emulator.h"
#include "tools/armsim/scenario.h"
#include "tools/armsim/topology.h"

namespace {

constexpr char kTopology[] = R"({"subscriptions":[{"id":"s","resourceGroups":[{"name":"rg",
  "servers":[{"name":"a","location":"East US","databases":["d1","d2"]},
             {"name":"b","location":"West US"}]}]}],
  "failoverGroups":[{"name":"fg","primaryServer":"a","partnerServer":"b","databases":["d1"]}]})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
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
