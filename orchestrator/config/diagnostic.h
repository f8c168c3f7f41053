// Diagnostics: one problem found in a runbook, located by file, line, column and field path, and
// the status that sums up a list of them. The loader (loader.h) returns every diagnostic it finds,
// not just the first, so the control API's Validate RPC can show them all.
#ifndef FOGHORN_ORCHESTRATOR_CONFIG_DIAGNOSTIC_H_
#define FOGHORN_ORCHESTRATOR_CONFIG_DIAGNOSTIC_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"

namespace foghorn::config {

// 1-based position in a file; 0 means unknown (e.g. the file could not be read).
struct Location {
  int line = 0;
  int column = 0;
};

// Where each field path of one parsed file was written, e.g. "policy.planned_grace" or
// "probes[2].http.url" -> the position of its value ("" -> the document's root mapping).
using SourceMap = absl::flat_hash_map<std::string, Location>;

struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  // Dotted path with indexes, e.g. "probes[0].timeout"; empty for file-level problems.
  std::string field_path;
  std::string message;

  // "file:line:column: field.path: message" (parts that are unknown are left out).
  std::string ToString() const;
};

// OK when `diagnostics` is empty; otherwise kInvalidArgument whose message lists every
// diagnostic, one per line.
absl::Status DiagnosticsToStatus(const std::vector<Diagnostic>& diagnostics);

}  // namespace foghorn::config

#endif  // FOGHORN_ORCHESTRATOR_CONFIG_DIAGNOSTIC_H_
