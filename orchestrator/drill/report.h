// The drill report: what a drill did and measured, as JSON (machine-readable, the stored form)
// and as one self-contained HTML page (inline CSS and an inline SVG timeline; no external
// assets), plus ReportStore, which keeps reports in <state dir>/reports and lists them.
//
// RTO per direction is the time from the start of the failover step until the read-write listener
// answered again after ARM showed the new roles (as sampled by the drill's ListenerSampler);
// listener_outage is the part of that window during which samples failed. Samples come from the
// sampler and from the verification dials (which always follow the role swap).
#ifndef FOGHORN_ORCHESTRATOR_DRILL_REPORT_H_
#define FOGHORN_ORCHESTRATOR_DRILL_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "orchestrator/drill/listener.h"
#include "orchestrator/drill/readiness.h"

namespace foghorn::drill {

// One step of the drill, as journaled.
struct DrillStep {
  std::string name;   // "preflight", "failover", "verify_failover", "hold", "failback", ...
  std::string state;  // "done", "failed", "skipped", "planned" (dry run)
  std::string detail;
  absl::Time started_at = absl::InfinitePast();
  absl::Time finished_at = absl::InfinitePast();
};

// A change of roles seen through ARM.
struct RoleChange {
  absl::Time at = absl::InfinitePast();
  std::string primary;
  std::string secondary;
  std::string cause;  // "failover", "failback", "abort_failback"
};

// One failover of the drill (there and back).
struct DirectionMetrics {
  std::string name;  // "failover" or "failback"
  std::string from_server;
  std::string to_server;
  bool completed = false;
  absl::Time started_at = absl::InfinitePast();
  absl::Time roles_swapped_at = absl::InfinitePast();  // ARM showed the new roles
  absl::Time rw_restored_at = absl::InfinitePast();    // first good rw sample after the swap
  // rw_restored_at - started_at; nullopt when not measured (no listener, no good sample).
  std::optional<absl::Duration> rto;
  absl::Duration listener_outage = absl::ZeroDuration();
  int failed_samples = 0;
  int posts_accepted = 0;
  std::int64_t data_lost_writes = 0;
  std::string data_loss_basis;  // why data_lost_writes is what it is
};

// A probe's results during the drill (from the agent's probe history).
struct ProbePoint {
  absl::Time at = absl::InfinitePast();
  std::string outcome;  // "success", "failure", "unknown"
};
struct ProbeTimeline {
  std::string probe;
  std::vector<ProbePoint> points;
};

struct DrillReport {
  std::string drill_id;
  std::string operation_id;  // the journal operation (kind "drill"); empty for a dry run
  std::string group_id;
  std::string group_name;
  std::string description;
  bool dry_run = false;
  // "passed", "failed" (a gate failed; the group was failed back where safe), "aborted" (stopped
  // before any failover), "planned" (dry run).
  std::string outcome;
  std::string summary;
  std::string original_primary;
  std::string partner;
  std::string final_primary;  // as last read from ARM
  std::string rw_listener;    // the sampled address, empty when none
  absl::Time started_at = absl::InfinitePast();
  absl::Time finished_at = absl::InfinitePast();
  std::vector<CheckResult> checks;
  std::vector<DrillStep> steps;
  std::vector<RoleChange> role_changes;
  std::vector<DirectionMetrics> directions;
  std::vector<ListenerSample> samples;
  std::vector<ProbeTimeline> probes;
  // What to fix, collected from failed/warned checks and failed steps.
  std::vector<std::string> fixes;
};

// JSON: times as RFC 3339 UTC strings, durations as seconds (double). The mapping is documented in
// docs/drills.md.
std::string ReportToJson(const DrillReport& report);
// INVALID_ARGUMENT when `json` is not a drill report.
absl::StatusOr<DrillReport> ReportFromJson(const std::string& json);

// The self-contained HTML page. The SVG timeline (id "timeline") has one element with class
// "step-mark" per step (data-step = name) and one with class "role-mark" per role change.
std::string RenderReportHtml(const DrillReport& report);

// One line of a report listing.
struct ReportSummary {
  std::string drill_id;
  std::string group_id;
  std::string outcome;
  bool dry_run = false;
  absl::Time started_at = absl::InfinitePast();
  absl::Time finished_at = absl::InfinitePast();
  std::string json_path;
  std::string html_path;
};

// Reports as files <dir>/<drill id>.json and .html. Thread-safe (files are written to a temporary
// name and renamed).
class ReportStore {
 public:
  explicit ReportStore(std::string dir) : dir_(std::move(dir)) {}
  // The conventional directory: <state_dir>/reports.
  static std::string DirFor(const std::string& state_dir) { return state_dir + "/reports"; }

  // Writes both files (creating the directory). UNAVAILABLE when they cannot be written.
  absl::StatusOr<ReportSummary> Save(const DrillReport& report);
  // Newest first (by started_at); reports of `group_id` only when non-empty; limit <= 0: all.
  // Unreadable files are skipped. An absent directory is an empty list.
  absl::StatusOr<std::vector<ReportSummary>> List(const std::string& group_id, int limit) const;
  // NOT_FOUND for an unknown id; INVALID_ARGUMENT for an id IsValidDrillId refuses (checked
  // before any path is built).
  absl::StatusOr<DrillReport> Read(const std::string& drill_id) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// Whether `id` may name a drill report file: 1 to 128 of [A-Za-z0-9._-], not starting with a dot
// (no separators, NUL or control bytes, no "..").
bool IsValidDrillId(std::string_view id);

// Writes a report file (mode 0600): creates missing parent directories, then
// common::WriteFileAtomically. UNAVAILABLE naming the path on failure.
absl::Status WriteReportFile(const std::string& path, const std::string& content);

}  // namespace foghorn::drill

#endif  // FOGHORN_ORCHESTRATOR_DRILL_REPORT_H_
