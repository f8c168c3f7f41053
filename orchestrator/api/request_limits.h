// Bounds on what a control API caller may send (security issue 13), checked before any work: one
// pure function per request message of foghorn.v1.ControlService. The server calls the matching
// ValidateRequest at the top of each handler, before it resolves a group, reads the journal or
// parses a runbook, and sets kMaxReceiveMessageBytes on the gRPC server so no request larger
// than that is even decoded. docs/api.md ("Request limits") lists the same numbers for callers.
//
// Every refusal is INVALID_ARGUMENT with a short message naming the field and the limit. A
// message never carries more than kMaxEchoBytes of a caller's value (see EchoForMessage), so a
// huge or hostile field is not reflected back into the response, the logs or the audit trail.
#ifndef FOGHORN_ORCHESTRATOR_API_REQUEST_LIMITS_H_
#define FOGHORN_ORCHESTRATOR_API_REQUEST_LIMITS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "foghorn/v1/control.pb.h"

namespace foghorn::api {

// Largest request message the gRPC server decodes (ServerBuilder::SetMaxReceiveMessageSize);
// larger ones fail with RESOURCE_EXHAUSTED before any handler runs. Room for a 1 MiB runbook and
// its envelope; every other request is far smaller.
inline constexpr int kMaxReceiveMessageBytes = 2 << 20;

// Ids. A group id is "<subscription>/<resource group>/<name>" (36 + 90 + 63 characters in Azure)
// or a bare name; 512 leaves room for aliases without letting an id be a payload. Ids must not
// hold control bytes (0x00-0x1f, 0x7f): they end up in logs, audit lines and file names.
inline constexpr std::size_t kMaxGroupIdBytes = 512;
inline constexpr std::size_t kMaxOperationIdBytes = 128;
// Also the bound of StartDrill's request_id (the proto says "at most 128 characters").
inline constexpr std::size_t kMaxRequestIdBytes = 128;
// Drill ids must also pass drill::IsValidDrillId (1-128 of [A-Za-z0-9._-], no leading dot).
inline constexpr std::size_t kMaxDrillIdBytes = 128;
// ListGroups' page_token is the last group id of the previous page.
inline constexpr std::size_t kMaxPageTokenBytes = kMaxGroupIdBytes;

// Free text written to the journal and the audit trail: reason and override_reason. Tab, line
// feed and carriage return are allowed; other control bytes are not (terminal escapes in an audit
// line are a way to hide what was done).
inline constexpr std::size_t kMaxReasonBytes = 1024;

// ValidateRunbook: the file name shown in diagnostics (no control bytes) and the YAML text.
inline constexpr std::size_t kMaxFileNameBytes = 256;
inline constexpr std::size_t kMaxRunbookTextBytes = 1 << 20;

// page_size of ListGroups, ListOperations, ListDecisions and ListDrillReports: 0 (the method's
// default) up to this.
inline constexpr int kMaxPageSize = 1000;

// PauseAutomation's duration: not negative, at most a year (zero or unset: until resumed).
inline constexpr absl::Duration kMaxPauseDuration = absl::Hours(24 * 365);
// StartDrill's hold: not negative, at most a week. A drill parks the group on its partner for the
// hold with automation paused; longer than a week is no longer a drill.
inline constexpr absl::Duration kMaxDrillHold = absl::Hours(24 * 7);

// Watch filters: at most this many group ids (each a group id as above) and event kinds (each
// a known EventKind other than UNSPECIFIED); operation_id as kMaxOperationIdBytes.
inline constexpr int kMaxWatchGroupIds = 64;
inline constexpr int kMaxWatchKinds = 32;

// At most this many bytes of a caller's value appear in an error message (EchoForMessage).
inline constexpr std::size_t kMaxEchoBytes = 64;

// The ValidateRequest overloads return OK or INVALID_ARGUMENT naming the first field that breaks
// a limit above (fields are checked in the order the handlers checked them before these
// functions existed, so the messages of required fields are unchanged: "group_id is required",
// "reason is required", "operation_id is required", "drill_id is required", "text is required").
// They only look at the message (no I/O, no shared state): safe from any thread.
// Checks that need the agent's state or the caller's role (unknown group, reserved "auto/"
// request ids, override_holds rules) stay with the handlers.
absl::Status ValidateRequest(const v1::ListGroupsRequest& req);
absl::Status ValidateRequest(const v1::GetGroupRequest& req);
absl::Status ValidateRequest(const v1::ListOperationsRequest& req);
absl::Status ValidateRequest(const v1::GetOperationRequest& req);
absl::Status ValidateRequest(const v1::ListDecisionsRequest& req);
absl::Status ValidateRequest(const v1::RequestFailoverRequest& req);
absl::Status ValidateRequest(const v1::CancelOperationRequest& req);
absl::Status ValidateRequest(const v1::ApproveDecisionRequest& req);
absl::Status ValidateRequest(const v1::RejectDecisionRequest& req);
absl::Status ValidateRequest(const v1::PauseAutomationRequest& req);
absl::Status ValidateRequest(const v1::ResumeAutomationRequest& req);
absl::Status ValidateRequest(const v1::WatchRequest& req);
absl::Status ValidateRequest(const v1::ValidateRunbookRequest& req);
absl::Status ValidateRequest(const v1::StartDrillRequest& req);
absl::Status ValidateRequest(const v1::CheckReadinessRequest& req);
absl::Status ValidateRequest(const v1::ListDrillReportsRequest& req);
absl::Status ValidateRequest(const v1::GetDrillReportRequest& req);

// A caller's value made safe to quote in a message or an audit line: printable ASCII kept,
// everything else C-escaped (\n, \x00, \xc3 ...), cut after kMaxEchoBytes output bytes with
// "...(N bytes)" appended. Never longer than kMaxEchoBytes + 32.
std::string EchoForMessage(absl::string_view value);

}  // namespace foghorn::api

#endif  // FOGHORN_ORCHESTRATOR_API_REQUEST_LIMITS_H_
