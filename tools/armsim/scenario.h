// Scenario files for foghorn-armsim: a timed list of admin actions (region down/up, vantage
// partitions, faults, writes, config) applied to a running emulator, so a drill can be scripted
// without curl.
//
//   {"steps": [
//     {"atMs": 0, "action": "fault", "fault": {"kind": "503", "route": "get", "count": 2}},
//     {"atMs": 1000, "action": "regionDown", "region": "eastus", "mode": "refuse"},
//     {"atMs": 2000, "action": "partition", "vantage": "eu-probe", "region": "westus",
//      "mode": "blackhole"},
//     {"atMs": 9000, "action": "regionUp", "region": "eastus"},
//     {"atMs": 9000, "action": "heal", "vantage": "eu-probe"}]}
#ifndef FOGHORN_TOOLS_ARMSIM_SCENARIO_H_
#define FOGHORN_TOOLS_ARMSIM_SCENARIO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tools/armsim/armsim_server.h"

namespace foghorn::armsim {

struct ScenarioStep {
  absl::Duration at;  // since the emulator started
  // regionDown | regionUp | partition | heal | fault | clearFaults | writes | lag | config |
  // microsoftFailover
  std::string action;
  nlohmann::json args;  // the step object itself
};

// Parses and validates a scenario; steps come back sorted by `at`. kInvalidArgument naming
// "steps[i].field" for bad input.
absl::StatusOr<std::vector<ScenarioStep>> ParseScenario(const std::string& json_text);

// Applies one step now. Errors from the emulator (unknown group, unknown vantage, ...) are
// returned.
absl::Status ApplyScenarioStep(ArmSimServer& server, const ScenarioStep& step);

}  // namespace foghorn::armsim

#endif  // FOGHORN_TOOLS_ARMSIM_SCENARIO_H_
