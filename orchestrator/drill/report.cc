#include "orchestrator/drill/report.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "orchestrator/common/files.h"

namespace foghorn::drill {
namespace {

using nlohmann::json;

std::string TimeText(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

absl::Time ParseTimeText(const std::string& s) {
  absl::Time t = absl::InfinitePast();
  if (s.empty()) return t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return absl::InfinitePast();
  return t;
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
absl::Time TimeOf(const json& j, const char* key) { return ParseTimeText(Str(j, key)); }

json CheckJson(const CheckResult& c) {
  return {{"name", c.name},
          {"status", std::string(CheckStatusName(c.status))},
          {"reason", c.reason},
          {"fix", c.fix}};
}

std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string DurationText(std::optional<absl::Duration> d) {
  if (!d.has_value()) return "not measured";
  return fmt::format("{:.3f} s", absl::ToDoubleSeconds(*d));
}

}  // namespace

std::string ReportToJson(const DrillReport& r) {
  json j;
  j["drill_id"] = r.drill_id;
  j["operation_id"] = r.operation_id;
  j["group_id"] = r.group_id;
  j["group_name"] = r.group_name;
  j["description"] = r.description;
  j["dry_run"] = r.dry_run;
  j["outcome"] = r.outcome;
  j["summary"] = r.summary;
  j["original_primary"] = r.original_primary;
  j["partner"] = r.partner;
  j["final_primary"] = r.final_primary;
  j["rw_listener"] = r.rw_listener;
  j["started_at"] = TimeText(r.started_at);
  j["finished_at"] = TimeText(r.finished_at);
  j["checks"] = json::array();
  for (const CheckResult& c : r.checks) j["checks"].push_back(CheckJson(c));
  j["steps"] = json::array();
  for (const DrillStep& s : r.steps) {
    j["steps"].push_back({{"name", s.name},
                          {"state", s.state},
                          {"detail", s.detail},
                          {"started_at", TimeText(s.started_at)},
                          {"finished_at", TimeText(s.finished_at)}});
  }
  j["role_changes"] = json::array();
  for (const RoleChange& c : r.role_changes) {
    j["role_changes"].push_back({{"at", TimeText(c.at)},
                                 {"primary", c.primary},
                                 {"secondary", c.secondary},
                                 {"cause", c.cause}});
  }
  j["directions"] = json::array();
  for (const DirectionMetrics& d : r.directions) {
    json dj = {{"name", d.name},
               {"from_server", d.from_server},
               {"to_server", d.to_server},
               {"completed", d.completed},
               {"started_at", TimeText(d.started_at)},
               {"roles_swapped_at", TimeText(d.roles_swapped_at)},
               {"rw_restored_at", TimeText(d.rw_restored_at)},
               {"rto_seconds", nullptr},
               {"listener_outage_seconds", Seconds(d.listener_outage)},
               {"failed_samples", d.failed_samples},
               {"posts_accepted", d.posts_accepted},
               {"data_lost_writes", d.data_lost_writes},
               {"data_loss_basis", d.data_loss_basis}};
    if (d.rto.has_value()) dj["rto_seconds"] = Seconds(*d.rto);
    j["directions"].push_back(std::move(dj));
  }
  j["samples"] = json::array();
  for (const ListenerSample& s : r.samples) {
    j["samples"].push_back({{"at", TimeText(s.at)}, {"ok", s.ok}, {"detail", s.detail}});
  }
  j["probes"] = json::array();
  for (const ProbeTimeline& p : r.probes) {
    json points = json::array();
    for (const ProbePoint& pt : p.points) {
      points.push_back({{"at", TimeText(pt.at)}, {"outcome", pt.outcome}});
    }
    j["probes"].push_back({{"probe", p.probe}, {"points", std::move(points)}});
  }
  j["fixes"] = r.fixes;
  return j.dump(2);
}

absl::StatusOr<DrillReport> ReportFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("drill_id") || !j["drill_id"].is_string()) {
    return absl::InvalidArgumentError("not a drill report (no drill_id)");
  }
  DrillReport r;
  try {
    r.drill_id = Str(j, "drill_id");
    r.operation_id = Str(j, "operation_id");
    r.group_id = Str(j, "group_id");
    r.group_name = Str(j, "group_name");
    r.description = Str(j, "description");
    r.dry_run = j.value("dry_run", false);
    r.outcome = Str(j, "outcome");
    r.summary = Str(j, "summary");
    r.original_primary = Str(j, "original_primary");
    r.partner = Str(j, "partner");
    r.final_primary = Str(j, "final_primary");
    r.rw_listener = Str(j, "rw_listener");
    r.started_at = TimeOf(j, "started_at");
    r.finished_at = TimeOf(j, "finished_at");
    for (const json& c : j.value("checks", json::array())) {
      CheckResult cr{Str(c, "name"), CheckStatus::kSkip, Str(c, "reason"), Str(c, "fix")};
      cr.status = ParseCheckStatus(Str(c, "status")).value_or(CheckStatus::kSkip);
      r.checks.push_back(std::move(cr));
    }
    for (const json& s : j.value("steps", json::array())) {
      r.steps.push_back({Str(s, "name"), Str(s, "state"), Str(s, "detail"), TimeOf(s, "started_at"),
                         TimeOf(s, "finished_at")});
    }
    for (const json& c : j.value("role_changes", json::array())) {
      r.role_changes.push_back(
          {TimeOf(c, "at"), Str(c, "primary"), Str(c, "secondary"), Str(c, "cause")});
    }
    for (const json& dj : j.value("directions", json::array())) {
      DirectionMetrics d;
      d.name = Str(dj, "name");
      d.from_server = Str(dj, "from_server");
      d.to_server = Str(dj, "to_server");
      d.completed = dj.value("completed", false);
      d.started_at = TimeOf(dj, "started_at");
      d.roles_swapped_at = TimeOf(dj, "roles_swapped_at");
      d.rw_restored_at = TimeOf(dj, "rw_restored_at");
      if (dj.contains("rto_seconds") && dj["rto_seconds"].is_number()) {
        d.rto = absl::Seconds(dj["rto_seconds"].get<double>());
      }
      d.listener_outage = absl::Seconds(dj.value("listener_outage_seconds", 0.0));
      d.failed_samples = dj.value("failed_samples", 0);
      d.posts_accepted = dj.value("posts_accepted", 0);
      d.data_lost_writes = dj.value("data_lost_writes", std::int64_t{0});
      d.data_loss_basis = Str(dj, "data_loss_basis");
      r.directions.push_back(std::move(d));
    }
    for (const json& s : j.value("samples", json::array())) {
      r.samples.push_back({TimeOf(s, "at"), s.value("ok", false), Str(s, "detail")});
    }
    for (const json& p : j.value("probes", json::array())) {
      ProbeTimeline t{Str(p, "probe"), {}};
      for (const json& pt : p.value("points", json::array())) {
        t.points.push_back({TimeOf(pt, "at"), Str(pt, "outcome")});
      }
      r.probes.push_back(std::move(t));
    }
    for (const json& f : j.value("fixes", json::array())) {
      if (f.is_string()) r.fixes.push_back(f.get<std::string>());
    }
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed drill report: ", e.what()));
  }
  return r;
}

namespace {

// The SVG timeline: lanes for the rw listener samples, each probe and the steps; vertical marks
// for step starts and role changes.
std::string RenderTimeline(const DrillReport& r) {
  absl::Time t0 = r.started_at;
  absl::Time t1 = r.finished_at;
  auto widen = [&](absl::Time t) {
    if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return;
    if (t0 == absl::InfinitePast() || t < t0) t0 = t;
    if (t1 == absl::InfinitePast() || t > t1) t1 = t;
  };
  for (const DrillStep& s : r.steps) {
    widen(s.started_at);
    widen(s.finished_at);
  }
  for (const ListenerSample& s : r.samples) widen(s.at);
  if (t0 == absl::InfinitePast()) t0 = absl::UnixEpoch();
  if (t1 == absl::InfinitePast() || t1 <= t0) t1 = t0 + absl::Seconds(1);

  constexpr double kLeft = 170;
  constexpr double kWidth = 1000;
  constexpr double kLane = 26;
  const int lanes = 2 + static_cast<int>(r.probes.size());
  const double top = 30;
  const double chart_h = lanes * kLane;
  const double height = top + chart_h + 40;
  const double span = absl::ToDoubleSeconds(t1 - t0);
  auto x = [&](absl::Time t) {
    double v = absl::ToDoubleSeconds(t - t0) / span;
    return kLeft + std::clamp(v, 0.0, 1.0) * kWidth;
  };

  std::string svg = fmt::format(
      "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"drill timeline\">\n",
      kLeft + kWidth + 30, height, kLeft + kWidth + 30, height);
  // Axis ticks in seconds since the start.
  for (int i = 0; i <= 10; ++i) {
    double xv = kLeft + kWidth * i / 10.0;
    svg += fmt::format(
        "<line class=\"tick\" x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\"/>"
        "<text class=\"axis\" x=\"{0:.1f}\" y=\"{3}\">+{4:.{5}f}s</text>\n",
        xv, top, top + chart_h, top + chart_h + 14, span * i / 10.0, span < 10 ? 2 : 0);
  }
  int lane = 0;
  auto lane_y = [&](int l) { return top + l * kLane; };
  // Lane 0: the read-write listener as sampled.
  svg += fmt::format("<text class=\"lane\" x=\"4\" y=\"{:.1f}\">rw listener</text>\n",
                     lane_y(lane) + 17);
  for (size_t i = 0; i < r.samples.size(); ++i) {
    const ListenerSample& s = r.samples[i];
    absl::Time end = i + 1 < r.samples.size() ? r.samples[i + 1].at : s.at;
    double x0 = x(s.at);
    double w = std::max(1.5, x(end) - x0);
    svg += fmt::format(
        "<rect class=\"sample {}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"18\">"
        "<title>{} {}</title></rect>\n",
        s.ok ? "ok" : "bad", x0, lane_y(lane) + 4, w, TimeText(s.at),
        s.ok ? "answered" : Escape(s.detail));
  }
  ++lane;
  // One lane per probe from the agent's history.
  for (const ProbeTimeline& p : r.probes) {
    svg += fmt::format("<text class=\"lane\" x=\"4\" y=\"{:.1f}\">{}</text>\n", lane_y(lane) + 17,
                       Escape(p.probe));
    for (const ProbePoint& pt : p.points) {
      svg += fmt::format(
          "<circle class=\"probe {}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\"><title>{} {}</title>"
          "</circle>\n",
          Escape(pt.outcome), x(pt.at), lane_y(lane) + 13, TimeText(pt.at), Escape(pt.outcome));
    }
    ++lane;
  }
  // Steps lane: a bar per step and a vertical mark at its start.
  svg += fmt::format("<text class=\"lane\" x=\"4\" y=\"{:.1f}\">steps</text>\n", lane_y(lane) + 17);
  for (const DrillStep& s : r.steps) {
    double x0 = x(s.started_at);
    double x1 = s.finished_at == absl::InfinitePast() ? x0 : x(s.finished_at);
    svg += fmt::format(
        "<rect class=\"step-bar {}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"18\">"
        "<title>{}: {}</title></rect>\n",
        Escape(s.state), x0, lane_y(lane) + 4, std::max(2.0, x1 - x0), Escape(s.name),
        Escape(s.detail));
    svg += fmt::format(
        "<line class=\"step-mark\" data-step=\"{}\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" "
        "y2=\"{:.1f}\"><title>{} starts</title></line>\n",
        Escape(s.name), x0, top, x0, top + chart_h, Escape(s.name));
  }
  // Role changes: a dashed line across every lane, labelled with the new primary.
  int n = 0;
  for (const RoleChange& c : r.role_changes) {
    double xv = x(c.at);
    const bool near_right = xv > kLeft + kWidth * 0.8;
    svg += fmt::format(
        "<line class=\"role-mark\" data-primary=\"{}\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" "
        "y2=\"{:.1f}\"><title>{}: primary is now {}</title></line>"
        "<text class=\"role-label\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"{}\">{} primary</text>\n",
        Escape(c.primary), xv, top - 12, xv, top + chart_h, Escape(c.cause), Escape(c.primary),
        near_right ? xv - 3 : xv + 3, 12 + 10 * (n++ % 2), near_right ? "end" : "start",
        Escape(c.primary));
  }
  svg += "</svg>\n";
  return svg;
}

constexpr char kCss[] = R"css(
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff}
.passed{background:#1a7f37}.failed{background:#cf222e}.aborted{background:#9a6700}.planned{background:#57606a}
table{border-collapse:collapse;font-size:14px}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.st-pass{color:#1a7f37;font-weight:600}.st-warn{color:#9a6700;font-weight:600}
.st-fail{color:#cf222e;font-weight:600}.st-skip{color:#57606a}
.figures td:first-child{font-weight:600}
svg text{font-size:11px;fill:#1d2330}svg .axis{fill:#57606a;text-anchor:middle}
svg .tick{stroke:#eaeef2}svg .sample.ok{fill:#2da44e}svg .sample.bad{fill:#cf222e}
svg .probe.success{fill:#2da44e}svg .probe.failure{fill:#cf222e}svg .probe.unknown{fill:#8c959f}
svg .step-bar.done{fill:#54aeff}svg .step-bar.failed{fill:#cf222e}svg .step-bar.skipped,svg .step-bar.planned{fill:#d0d7de}
svg .step-mark{stroke:#0969da;stroke-width:1}svg .role-mark{stroke:#8250df;stroke-width:2;stroke-dasharray:5 3}
svg .role-label{fill:#8250df;font-weight:600}
)css";

}  // namespace

std::string RenderReportHtml(const DrillReport& r) {
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += fmt::format("<title>foghorn drill {}</title><style>{}</style></head><body>\n",
                   Escape(r.drill_id), kCss);
  h += fmt::format("<h1>DR drill of {} <span class=\"badge {}\" id=\"outcome\">{}</span></h1>\n",
                   Escape(r.group_name), Escape(r.outcome), Escape(r.outcome));
  h += fmt::format("<p id=\"summary\">{}</p>\n", Escape(r.summary));
  h += "<table class=\"figures\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    h += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", Escape(k), Escape(v));
  };
  row("Drill", r.drill_id);
  row("Group", r.group_id);
  if (!r.description.empty()) row("Runbook", r.description);
  row("Journal operation", r.operation_id.empty() ? "(none)" : r.operation_id);
  row("Started", TimeText(r.started_at));
  row("Finished", TimeText(r.finished_at));
  row("Original primary", r.original_primary);
  row("Partner", r.partner);
  row("Primary at the end", r.final_primary);
  row("Read-write listener sampled", r.rw_listener.empty() ? "(none)" : r.rw_listener);
  h += "</table>\n";

  h += "<h2>Timeline</h2>\n" + RenderTimeline(r);

  h += "<h2>Recovery per direction</h2>\n<table id=\"directions\"><tr><th>Direction</th>"
       "<th>From &rarr; to</th><th>Completed</th><th>RTO (rw listener)</th>"
       "<th>Listener outage</th><th>Failed samples</th><th>Failover POSTs accepted</th>"
       "<th>Data lost</th></tr>\n";
  for (const DirectionMetrics& d : r.directions) {
    h += fmt::format(
        "<tr class=\"direction\" data-name=\"{}\"><td>{}</td><td>{} &rarr; {}</td><td>{}</td>"
        "<td class=\"rto\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} writes ({})</td></tr>\n",
        Escape(d.name), Escape(d.name), Escape(d.from_server), Escape(d.to_server),
        d.completed ? "yes" : "no", DurationText(d.rto), DurationText(d.listener_outage),
        d.failed_samples, d.posts_accepted, d.data_lost_writes, Escape(d.data_loss_basis));
  }
  h += "</table>\n";

  h += "<h2>Steps</h2>\n<table id=\"steps\"><tr><th>Step</th><th>State</th><th>Started</th>"
       "<th>Finished</th><th>Detail</th></tr>\n";
  for (const DrillStep& s : r.steps) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                     Escape(s.name), Escape(s.state), TimeText(s.started_at),
                     TimeText(s.finished_at), Escape(s.detail));
  }
  h += "</table>\n";

  h += "<h2>Readiness checks</h2>\n<table id=\"checks\"><tr><th>Check</th><th>Result</th>"
       "<th>Reason</th><th>Fix</th></tr>\n";
  for (const CheckResult& c : r.checks) {
    std::string st(CheckStatusName(c.status));
    h += fmt::format(
        "<tr class=\"check\"><td>{}</td><td class=\"st-{}\">{}</td><td>{}</td><td>{}</td></tr>\n",
        Escape(c.name), st, st, Escape(c.reason), Escape(c.fix));
  }
  h += "</table>\n";

  h += "<h2>What to fix</h2>\n<ul id=\"fixes\">\n";
  if (r.fixes.empty()) h += "<li>Nothing: every gate passed.</li>\n";
  for (const std::string& f : r.fixes) h += fmt::format("<li>{}</li>\n", Escape(f));
  h += "</ul>\n</body></html>\n";
  return h;
}

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

bool IsValidDrillId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id == "." || id == ".." || id.front() == '.') return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<ReportSummary> ReportStore::Save(const DrillReport& report) {
  if (!IsValidDrillId(report.drill_id)) {
    return absl::InvalidArgumentError("bad drill id: expected 1-128 of [A-Za-z0-9._-]");
  }
  ReportSummary s{report.drill_id,
                  report.group_id,
                  report.outcome,
                  report.dry_run,
                  report.started_at,
                  report.finished_at,
                  dir_ + "/" + report.drill_id + ".json",
                  dir_ + "/" + report.drill_id + ".html"};
  if (absl::Status st = WriteReportFile(s.json_path, ReportToJson(report)); !st.ok()) return st;
  if (absl::Status st = WriteReportFile(s.html_path, RenderReportHtml(report)); !st.ok()) {
    return st;
  }
  return s;
}

absl::StatusOr<std::vector<ReportSummary>> ReportStore::List(const std::string& group_id,
                                                             int limit) const {
  std::vector<ReportSummary> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (entry.path().extension() != ".json") continue;
    absl::StatusOr<std::string> text = common::ReadFile(entry.path().string());
    if (!text.ok()) continue;
    absl::StatusOr<DrillReport> r = ReportFromJson(*text);
    if (!r.ok()) continue;
    if (!group_id.empty() && r->group_id != group_id) continue;
    std::string base = dir_ + "/" + r->drill_id;
    out.push_back({r->drill_id, r->group_id, r->outcome, r->dry_run, r->started_at, r->finished_at,
                   base + ".json", base + ".html"});
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot list ", dir_, ": ", ec.message()));
  std::sort(out.begin(), out.end(), [](const ReportSummary& a, const ReportSummary& b) {
    if (a.started_at != b.started_at) return a.started_at > b.started_at;
    return a.drill_id > b.drill_id;
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
