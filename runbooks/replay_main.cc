// foghorn_replay: replays a JSON-lines observation timeline through the decision engine under a
// runbook's policy and prints one JSON line per decision (docs/decision-policy.md, "Replay").
//
//   foghorn_replay [--all] [--until <RFC 3339>] --runbook <runbook.yaml> <timeline.jsonl>
#include <cstring>
#include <iostream>
#include <string>

#include "orchestrator/common/files.h"
#include "orchestrator/decision/policy.h"
#include "orchestrator/decision/replay.h"
#include "runbooks/loader.h"

int main(int argc, char** argv) {
  std::string runbook_path, timeline_path;
  foghorn::decision::ReplayOptions options;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runbook") == 0 && i + 1 < argc) {
      runbook_path = argv[++i];
    } else if (std::strcmp(argv[i], "--all") == 0) {
      options.only_changes = false;
    } else if (std::strcmp(argv[i], "--until") == 0 && i + 1 < argc) {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, argv[++i], &t, &err)) {
        std::cerr << "foghorn_replay: --until: " << err << "\n";
        return 2;
      }
      options.until = t;
    } else if (argv[i][0] != '-' && timeline_path.empty()) {
      timeline_path = argv[i];
    } else {
      timeline_path.clear();
      break;
    }
  }
  if (runbook_path.empty() || timeline_path.empty()) {
    std::cerr << "usage: foghorn_replay [--all] [--until <RFC 3339>] --runbook <runbook.yaml> "
                 "<timeline.jsonl>\n";
    return 2;
  }
  absl::StatusOr<foghorn::v1::Runbook> runbook = foghorn::runbooks::LoadRunbookFile(runbook_path);
  if (!runbook.ok()) {
    std::cerr << runbook.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<foghorn::decision::Policy> policy =
      foghorn::decision::PolicyFromProto(runbook->policy());
  if (!policy.ok()) {
    std::cerr << runbook_path << ": " << policy.status().message() << "\n";
    return 1;
  }
  options.policy = *policy;
  absl::StatusOr<std::string> text = foghorn::common::ReadFile(timeline_path);
  if (!text.ok()) {
    std::cerr << "foghorn_replay: " << text.status().message() << "\n";
    return 1;
  }
  auto decisions = foghorn::decision::Replay(*text, options);
  if (!decisions.ok()) {
    std::cerr << timeline_path << ": " << decisions.status().message() << "\n";
    return 1;
  }
  for (const auto& d : *decisions)
    std::cout << foghorn::decision::ReplayedDecisionToJson(d) << "\n";
  return 0;
}
