#include "orchestrator/drill/report_html.h"

#include <algorithm>
#include <optional>

#include "absl/time/time.h"
#include "fmt/format.h"
#include "orchestrator/common/durations.h"

namespace foghorn::drill {
namespace {

std::string TimeText(absl::Time t) {
  if (!IsFiniteTime(t)) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string DurationText(std::optional<absl::Duration> d) {
  if (!d.has_value()) return "not measured";
  return fmt::format("{:.3f} s", absl::ToDoubleSeconds(*d));
}

// Shorthands: Esc(x) escapes, and the times of the report's messages read as absl::Time.
std::string Esc(std::string_view s) { return HtmlEscape(s); }
absl::Time StartOf(const v1::DrillStep& s) {
  return TimeOrPast(s.has_started_at(), s.started_at());
}
absl::Time EndOf(const v1::DrillStep& s) {
  return TimeOrPast(s.has_finished_at(), s.finished_at());
}
absl::Time AtOf(const v1::DrillListenerSample& s) { return TimeOrPast(s.has_at(), s.at()); }

// The SVG timeline: lanes for the rw listener samples, each probe and the steps; vertical marks
// for step starts and role changes.
std::string RenderTimeline(const DrillReport& r) {
  absl::Time t0 = TimeOrPast(r.has_started_at(), r.started_at());
  absl::Time t1 = TimeOrPast(r.has_finished_at(), r.finished_at());
  auto widen = [&](absl::Time t) {
    if (!IsFiniteTime(t)) return;
    if (t0 == absl::InfinitePast() || t < t0) t0 = t;
    if (t1 == absl::InfinitePast() || t > t1) t1 = t;
  };
  for (const v1::DrillStep& s : r.steps()) {
    widen(StartOf(s));
    widen(EndOf(s));
  }
  for (const v1::DrillListenerSample& s : r.samples()) widen(AtOf(s));
  if (t0 == absl::InfinitePast()) t0 = absl::UnixEpoch();
  if (t1 == absl::InfinitePast() || t1 <= t0) t1 = t0 + absl::Seconds(1);

  constexpr double kLeft = 170;
  constexpr double kWidth = 1000;
  constexpr double kLane = 26;
  const int lanes = 2 + r.probes_size();
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
  for (int i = 0; i < r.samples_size(); ++i) {
    const v1::DrillListenerSample& s = r.samples(i);
    absl::Time end = i + 1 < r.samples_size() ? AtOf(r.samples(i + 1)) : AtOf(s);
    double x0 = x(AtOf(s));
    double w = std::max(1.5, x(end) - x0);
    svg += fmt::format(
        "<rect class=\"sample {}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"18\">"
        "<title>{} {}</title></rect>\n",
        s.ok() ? "ok" : "bad", x0, lane_y(lane) + 4, w, TimeText(AtOf(s)),
        s.ok() ? "answered" : Esc(s.detail()));
  }
  ++lane;
  // One lane per probe from the agent's history.
  for (const v1::DrillProbeTimeline& p : r.probes()) {
    svg += fmt::format("<text class=\"lane\" x=\"4\" y=\"{:.1f}\">{}</text>\n", lane_y(lane) + 17,
                       Esc(p.probe()));
    for (const v1::DrillProbeTimeline::Point& pt : p.points()) {
      const std::string outcome = Esc(DrillProbeOutcomeName(pt.outcome()));
      const absl::Time at = TimeOrPast(pt.has_at(), pt.at());
      svg += fmt::format(
          "<circle class=\"probe {}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\"><title>{} {}</title>"
          "</circle>\n",
          outcome, x(at), lane_y(lane) + 13, TimeText(at), outcome);
    }
    ++lane;
  }
  // Steps lane: a bar per step and a vertical mark at its start.
  svg += fmt::format("<text class=\"lane\" x=\"4\" y=\"{:.1f}\">steps</text>\n", lane_y(lane) + 17);
  for (const v1::DrillStep& s : r.steps()) {
    double x0 = x(StartOf(s));
    double x1 = s.has_finished_at() ? x(EndOf(s)) : x0;
    svg += fmt::format(
        "<rect class=\"step-bar {}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"18\">"
        "<title>{}: {}</title></rect>\n",
        Esc(DrillStepStateName(s.state())), x0, lane_y(lane) + 4, std::max(2.0, x1 - x0),
        Esc(s.name()), Esc(s.detail()));
    svg += fmt::format(
        "<line class=\"step-mark\" data-step=\"{}\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" "
        "y2=\"{:.1f}\"><title>{} starts</title></line>\n",
        Esc(s.name()), x0, top, x0, top + chart_h, Esc(s.name()));
  }
  // Role changes: a dashed line across every lane, labelled with the new primary.
  int n = 0;
  for (const v1::DrillRoleChange& c : r.role_changes()) {
    double xv = x(TimeOrPast(c.has_at(), c.at()));
    const bool near_right = xv > kLeft + kWidth * 0.8;
    svg += fmt::format(
        "<line class=\"role-mark\" data-primary=\"{}\" x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" "
        "y2=\"{:.1f}\"><title>{}: primary is now {}</title></line>"
        "<text class=\"role-label\" x=\"{:.1f}\" y=\"{}\" text-anchor=\"{}\">{} primary</text>\n",
        Esc(c.primary()), xv, top - 12, xv, top + chart_h, Esc(c.cause()), Esc(c.primary()),
        near_right ? xv - 3 : xv + 3, 12 + 10 * (n++ % 2), near_right ? "end" : "start",
        Esc(c.primary()));
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

std::string HtmlEscape(std::string_view s) {
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

std::string RenderReportHtml(const DrillReport& r) {
  const std::string outcome = Esc(DrillOutcomeName(r.outcome()));
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += fmt::format("<title>foghorn drill {}</title><style>{}</style></head><body>\n",
                   Esc(r.drill_id()), kCss);
  h += fmt::format("<h1>DR drill of {} <span class=\"badge {}\" id=\"outcome\">{}</span></h1>\n",
                   Esc(r.group_name()), outcome, outcome);
  h += fmt::format("<p id=\"summary\">{}</p>\n", Esc(r.summary()));
  h += "<table class=\"figures\">\n";
  auto row = [&](std::string_view k, std::string_view v) {
    h += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", Esc(k), Esc(v));
  };
  row("Drill", r.drill_id());
  row("Group", r.group_id());
  if (!r.description().empty()) row("Runbook", r.description());
  row("Journal operation", r.operation_id().empty() ? "(none)" : r.operation_id());
  row("Started", TimeText(TimeOrPast(r.has_started_at(), r.started_at())));
  row("Finished", TimeText(TimeOrPast(r.has_finished_at(), r.finished_at())));
  row("Original primary", r.original_primary());
  row("Partner", r.partner());
  row("Primary at the end", r.final_primary());
  row("Read-write listener sampled", r.rw_listener().empty() ? "(none)" : r.rw_listener());
  h += "</table>\n";

  h += "<h2>Timeline</h2>\n" + RenderTimeline(r);

  h += "<h2>Recovery per direction</h2>\n<table id=\"directions\"><tr><th>Direction</th>"
       "<th>From &rarr; to</th><th>Completed</th><th>RTO (rw listener)</th>"
       "<th>Listener outage</th><th>Failed samples</th><th>Failover POSTs accepted</th>"
       "<th>Data lost</th></tr>\n";
  for (const v1::DrillDirection& d : r.directions()) {
    std::optional<absl::Duration> rto;
    if (d.has_rto()) rto = common::FromProtoDuration(d.rto());
    h += fmt::format(
        "<tr class=\"direction\" data-name=\"{}\"><td>{}</td><td>{} &rarr; {}</td><td>{}</td>"
        "<td class=\"rto\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} writes ({})</td></tr>\n",
        Esc(d.name()), Esc(d.name()), Esc(d.from_server()), Esc(d.to_server()),
        d.completed() ? "yes" : "no", DurationText(rto),
        DurationText(common::FromProtoDuration(d.listener_outage())), d.failed_samples(),
        d.posts_accepted(), d.data_lost_writes(), Esc(d.data_loss_basis()));
  }
  h += "</table>\n";

  h += "<h2>Steps</h2>\n<table id=\"steps\"><tr><th>Step</th><th>State</th><th>Started</th>"
       "<th>Finished</th><th>Detail</th></tr>\n";
  for (const v1::DrillStep& s : r.steps()) {
    h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                     Esc(s.name()), Esc(DrillStepStateName(s.state())), TimeText(StartOf(s)),
                     TimeText(EndOf(s)), Esc(s.detail()));
  }
  h += "</table>\n";

  h += "<h2>Readiness checks</h2>\n<table id=\"checks\"><tr><th>Check</th><th>Result</th>"
       "<th>Reason</th><th>Fix</th></tr>\n";
  for (const v1::ReadinessCheck& c : r.checks()) {
    const std::string st = Esc(ReadinessStatusName(c.status()));
    h += fmt::format(
        "<tr class=\"check\"><td>{}</td><td class=\"st-{}\">{}</td><td>{}</td><td>{}</td></tr>\n",
        Esc(c.name()), st, st, Esc(c.reason()), Esc(c.fix()));
  }
  h += "</table>\n";

  h += "<h2>What to fix</h2>\n<ul id=\"fixes\">\n";
  if (r.fixes().empty()) h += "<li>Nothing: every gate passed.</li>\n";
  for (const std::string& f : r.fixes()) h += fmt::format("<li>{}</li>\n", Esc(f));
  h += "</ul>\n</body></html>\n";
  return h;
}

}  // namespace foghorn::drill
