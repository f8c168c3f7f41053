// The runbook loader: reads runbook YAML files onto foghorn.v1.Runbook (yaml_to_proto.h), checks
// required fields, fills every default (docs/runbooks.md lists them), validates the semantics
// (graces in order, thresholds, probe references, ...) and checks a set of runbooks together
// (one definition per failover group). All problems are returned, each with file, line, column
// and field path. Nothing here throws; nothing here touches the network.
#ifndef FOGHORN_RUNBOOKS_LOADER_H_
#define FOGHORN_RUNBOOKS_LOADER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "foghorn/v1/runbook.pb.h"
#include "orchestrator/config/diagnostic.h"

namespace foghorn::runbooks {

struct RunbookSource {
  // Used in diagnostics, e.g. "runbooks/examples/automatic.yaml".
  std::string file;
  std::string text;
};

struct LoadedRunbook {
  std::string file;
  // With every default filled in.
  foghorn::v1::Runbook runbook;
  config::SourceMap source_map;
};

struct LoadResult {
  // Runbooks that parsed. Use them only when ok(): a semantic error leaves them unusable.
  std::vector<LoadedRunbook> runbooks;
  // Every problem found, in file order.
  std::vector<config::Diagnostic> diagnostics;

  bool ok() const { return diagnostics.empty(); }
  // OK, or kInvalidArgument listing every diagnostic (one per line).
  absl::Status status() const { return config::DiagnosticsToStatus(diagnostics); }
};

// Loads and validates runbooks given as text. Several runbooks defining the same failover group
// (subscription, resource group and name, compared case-insensitively) is an error naming both.
LoadResult LoadRunbookSources(const std::vector<RunbookSource>& sources);

// Reads each file and loads them as LoadRunbookSources() does. A file that cannot be read becomes
// a diagnostic at line 0.
LoadResult LoadRunbookFiles(const std::vector<std::string>& paths);

// Convenience for one file: the runbook, or kInvalidArgument listing every diagnostic.
absl::StatusOr<foghorn::v1::Runbook> LoadRunbookFile(const std::string& path);

// Fills every unset optional field of `runbook` with its documented default. Idempotent.
void ApplyDefaults(foghorn::v1::Runbook* runbook);

// The ARM endpoint for a cloud (https://management.azure.com for PUBLIC and UNSPECIFIED).
std::string ArmEndpointForCloud(foghorn::v1::AzureCloud cloud);

}  // namespace foghorn::runbooks

#endif  // FOGHORN_RUNBOOKS_LOADER_H_
