// ReportStore keeps finished drill reports as files in <state dir>/reports: <drill id>.json (the
// report in protobuf's JSON mapping, report.h) and <drill id>.html (report_html.h), and lists
// them. The drill runner saves through it; the control API lists and reads through it.
#ifndef FOGHORN_ORCHESTRATOR_DRILL_REPORT_STORE_H_
#define FOGHORN_ORCHESTRATOR_DRILL_REPORT_STORE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "foghorn/v1/control.pb.h"
#include "orchestrator/drill/report.h"

namespace foghorn::drill {

// Reports as files <dir>/<drill id>.json and .html. Thread-safe (files are written to a temporary
// name and renamed).
class ReportStore {
 public:
  explicit ReportStore(std::string dir) : dir_(std::move(dir)) {}
  // The conventional directory: <state_dir>/reports.
  static std::string DirFor(const std::string& state_dir) { return state_dir + "/reports"; }

  // Writes both files (creating the directory) and returns the report's listing line.
  // INVALID_ARGUMENT for a drill id IsValidDrillId refuses; UNAVAILABLE when the files cannot be
  // written; INTERNAL when the report cannot be written as JSON.
  absl::StatusOr<v1::DrillReportSummary> Save(const DrillReport& report);
  // Newest first (by started_at, then drill id); reports of `group_id` only when non-empty;
  // limit <= 0: all. Files that do not read as a report are skipped. An absent directory is an
  // empty list; UNAVAILABLE when the directory cannot be listed.
  absl::StatusOr<std::vector<v1::DrillReportSummary>> List(const std::string& group_id,
                                                           int limit) const;
  // The report, as ReportFromJson reads it (older files are upgraded). NOT_FOUND for an unknown
  // id; INVALID_ARGUMENT for an id IsValidDrillId (report.h) refuses (checked before any path is
  // built) or a file that is not a report.
  absl::StatusOr<DrillReport> Read(const std::string& drill_id) const;

  const std::string& dir() const { return dir_; }

 private:
  v1::DrillReportSummary SummaryOf(const DrillReport& report) const;

  std::string dir_;
};

// Writes a report file (mode 0600): creates missing parent directories, then
// common::WriteFileAtomically. UNAVAILABLE naming the path on failure.
absl::Status WriteReportFile(const std::string& path, const std::string& content);

}  // namespace foghorn::drill

#endif  // FOGHORN_ORCHESTRATOR_DRILL_REPORT_STORE_H_
