// The drill report as one self-contained HTML page: inline CSS and an inline SVG timeline, no
// scripts and no external assets, so the file can be mailed or attached to a ticket. ReportStore
// (report_store.h) writes it beside the JSON; the control API returns it on request.
#ifndef FOGHORN_ORCHESTRATOR_DRILL_REPORT_HTML_H_
#define FOGHORN_ORCHESTRATOR_DRILL_REPORT_HTML_H_

#include <string>
#include <string_view>

#include "orchestrator/drill/report.h"

namespace foghorn::drill {

// The page. Every text taken from the report (ids, names, details, hook output, enum names) is
// HTML-escaped, in element content and in attribute values alike. The SVG timeline (id "timeline")
// has one element with class "step-mark" per step (data-step = name) and one with class
// "role-mark" per role change. Pure; thread-safe.
std::string RenderReportHtml(const DrillReport& report);

// &, <, >, " and ' as entities; everything else unchanged. Safe in element content and in quoted
// attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace foghorn::drill

#endif  // FOGHORN_ORCHESTRATOR_DRILL_REPORT_HTML_H_
