// How ARM answers become absl::Status: the code says what the caller should do (STYLE.md §3), the
// message names the resource, ARM's error code and the request ids, and ARM's error code and the
// HTTP status also travel as payloads for programmatic checks (ArmErrorCode(), HttpStatusOf()).
#ifndef FOGHORN_ORCHESTRATOR_ARM_ARM_STATUS_H_
#define FOGHORN_ORCHESTRATOR_ARM_ARM_STATUS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "orchestrator/arm/models.h"
#include "orchestrator/http/http_transport.h"

namespace foghorn::arm {

// ARM error codes the client acts on.
inline constexpr std::string_view kFailoverRequestOnPrimary =
    "FailoverGroupFailoverRequestOnPrimary";
inline constexpr std::string_view kFailoverGroupNotSecondary = "FailoverGroupNotSecondary";
inline constexpr std::string_view kUpdateOrDeleteOnSecondary =
    "FailoverGroupUpdateOrDeleteRequestOnSecondary";

// What an ARM error code asks of a caller (docs/arm-client.md, "Failover-group and
// geo-replication error codes", lists every code with its class and code path):
//   kRetryAfterBackoff  nothing changed; the same request later will do (throttling, 5xx,
//                       a system operation or a database add/remove still running);
//   kRereadThenRetry    state moved or is moving: read the group first, then decide and maybe send
//                       again (busy, wrong side, an operation interrupted by Azure);
//   kTerminal           the request itself is wrong; sending it again cannot help;
//   kNeedsHuman         configuration, permission or a state only a person should resolve
//                       (someone cancelled the operation, a DNS name taken, ...): stop and page.
enum class ErrorClass {
  kUnclassified,
  kRetryAfterBackoff,
  kRereadThenRetry,
  kTerminal,
  kNeedsHuman
};
std::string_view ErrorClassName(ErrorClass c);  // "retry_after_backoff", ...

// The class of ARM error code `code` (case-insensitive) from the one table in arm_status.cc;
// kUnclassified for a code it does not list (the HTTP status then decides alone).
ErrorClass ClassifyArmErrorCode(std::string_view code);
// The class of the ARM error code `status` carries (kUnclassified without one).
ErrorClass ErrorClassOf(const absl::Status& status);

// ARM error codes the failover path treats by name.
inline constexpr std::string_view kConflictingSystemOperation =
    "ConflictingSystemOperationInProgress";
inline constexpr std::string_view kOperationInterrupted = "OperationInterrupted";

// The status code for an HTTP error answer with ARM error code `arm_code` (may be empty):
//   408, 429, 5xx                         -> UNAVAILABLE
//   409 FailoverGroupAlreadyExists        -> ALREADY_EXISTS
//   409 terminal / needs-a-human codes    -> FAILED_PRECONDITION (never "retry higher up")
//   other 409 (busy, conflicting op)      -> ABORTED
//   400 wrong side / PlannedFailoverTimedOut* -> FAILED_PRECONDITION
//   400 re-read-then-retry codes (IncorrectReplicationLinkState) -> ABORTED
//   other 400/422 -> INVALID_ARGUMENT
//   401 -> UNAUTHENTICATED, 403 -> PERMISSION_DENIED, 404 -> NOT_FOUND, 412 -> FAILED_PRECONDITION
//   other -> UNKNOWN
absl::StatusCode StatusCodeForHttp(int http_status, std::string_view arm_code);

// The status code for an operation that ended Failed/Canceled with ARM error code `arm_code`:
// Canceled -> CANCELLED; busy/conflict codes -> ABORTED; OperationTimedOut -> UNAVAILABLE;
// wrong side, PlannedFailoverTimedOut* and terminal / needs-a-human codes -> FAILED_PRECONDITION;
// anything else (OperationInterrupted included) -> ABORTED.
absl::StatusCode StatusCodeForFailedOperation(OperationState state, std::string_view arm_code);

// Request ids that go into every error and log line of one exchange.
struct RequestIds {
  std::string client_request_id;       // x-ms-client-request-id we sent
  std::string request_id;              // x-ms-request-id ARM returned
  std::string correlation_request_id;  // x-ms-correlation-request-id ARM returned
  // Fills request_id / correlation_request_id from a response.
  void From(const http::HttpHeaders& response_headers);
  // " (client-request-id=..., request-id=..., correlation-id=...)", empty parts left out.
  std::string Suffix() const;
};

// Builds the status for an HTTP error response: `what` names the call ("get failover group
// srv/fg"). The message holds the HTTP status, ARM's code and message (truncated) and the ids.
absl::Status StatusFromHttpError(std::string_view what, const http::HttpResponse& response,
                                 const RequestIds& ids);

// Builds the status for an async operation that ended Failed or Canceled.
absl::Status StatusFromFailedOperation(std::string_view what, const OperationStatus& op,
                                       const RequestIds& ids);

// True when `status` reports an operation that ended Failed or Canceled (as opposed to a status
// URL that could not be read).
bool IsFailedOperation(const absl::Status& status);

// ARM's error code carried by `status`, if any.
std::optional<std::string> ArmErrorCode(const absl::Status& status);
// The HTTP status carried by `status`, if it came from an HTTP answer.
std::optional<int> HttpStatusOf(const absl::Status& status);

}  // namespace foghorn::arm

#endif  // FOGHORN_ORCHESTRATOR_ARM_ARM_STATUS_H_
