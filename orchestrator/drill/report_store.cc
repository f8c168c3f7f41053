#include "orchestrator/drill/report_store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "orchestrator/common/files.h"
#include "orchestrator/drill/report_html.h"

namespace foghorn::drill {

absl::Status WriteReportFile(const std::string& path, const std::string& content) {
  std::error_code ec;
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot create directory for ", path, ": ", ec.message()));
  }
  return common::WriteFileAtomically(path, content, 0600);
}

v1::DrillReportSummary ReportStore::SummaryOf(const DrillReport& r) const {
  v1::DrillReportSummary s;
  s.set_drill_id(r.drill_id());
  s.set_group_id(r.group_id());
  s.set_outcome(r.outcome());
  s.set_dry_run(r.dry_run());
  if (r.has_started_at()) *s.mutable_started_at() = r.started_at();
  if (r.has_finished_at()) *s.mutable_finished_at() = r.finished_at();
  s.set_json_path(absl::StrCat(dir_, "/", r.drill_id(), ".json"));
  s.set_html_path(absl::StrCat(dir_, "/", r.drill_id(), ".html"));
  return s;
}

absl::StatusOr<v1::DrillReportSummary> ReportStore::Save(const DrillReport& report) {
  if (!IsValidDrillId(report.drill_id())) {
    return absl::InvalidArgumentError("bad drill id: expected 1-128 of [A-Za-z0-9._-]");
  }
  v1::DrillReportSummary s = SummaryOf(report);
  absl::StatusOr<std::string> json = ReportToJson(report);
  if (!json.ok()) return json.status();
  if (absl::Status st = WriteReportFile(s.json_path(), *json); !st.ok()) return st;
  if (absl::Status st = WriteReportFile(s.html_path(), RenderReportHtml(report)); !st.ok()) {
    return st;
  }
  return s;
}

absl::StatusOr<std::vector<v1::DrillReportSummary>> ReportStore::List(const std::string& group_id,
                                                                      int limit) const {
  std::vector<v1::DrillReportSummary> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (entry.path().extension() != ".json") continue;
    absl::StatusOr<std::string> text = common::ReadFile(entry.path().string());
    if (!text.ok()) continue;
    absl::StatusOr<DrillReport> r = ReportFromJson(*text);
    if (!r.ok()) continue;
    if (!group_id.empty() && r->group_id() != group_id) continue;
    out.push_back(SummaryOf(*r));
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot list ", dir_, ": ", ec.message()));
  auto started = [](const v1::DrillReportSummary& s) {
    return TimeOrPast(s.has_started_at(), s.started_at());
  };
  std::sort(out.begin(), out.end(),
            [&](const v1::DrillReportSummary& a, const v1::DrillReportSummary& b) {
              if (started(a) != started(b)) return started(a) > started(b);
              return a.drill_id() > b.drill_id();
            });
  if (limit > 0 && static_cast<int>(out.size()) > limit) out.resize(limit);
  return out;
}

absl::StatusOr<DrillReport> ReportStore::Read(const std::string& drill_id) const {
  if (!IsValidDrillId(drill_id)) {
    // Checked before any path is built; the id is not echoed (it may hold control bytes).
    return absl::InvalidArgumentError("bad drill id: expected 1-128 of [A-Za-z0-9._-]");
  }
  absl::StatusOr<std::string> text = common::ReadFile(dir_ + "/" + drill_id + ".json");
  if (!text.ok()) return absl::NotFoundError(absl::StrCat("drill report ", drill_id, " not found"));
  return ReportFromJson(*text);
}

}  // namespace foghorn::drill
