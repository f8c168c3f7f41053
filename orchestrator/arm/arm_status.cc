#include "orchestrator/arm/arm_status.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace foghorn::arm {
namespace {

constexpr char kArmCodePayload[] = "type.foghorn.dev/arm.ErrorCode";
constexpr char kHttpStatusPayload[] = "type.foghorn.dev/arm.HttpStatus";
constexpr char kFailedOperationPayload[] = "type.foghorn.dev/arm.FailedOperation";

absl::string_view V(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool Is(std::string_view code, std::string_view want) {
  return absl::EqualsIgnoreCase(V(code), V(want));
}

bool IsWrongSide(std::string_view code) {
  return Is(code, kFailoverRequestOnPrimary) || Is(code, kFailoverGroupNotSecondary) ||
         Is(code, kUpdateOrDeleteOnSecondary);
}

bool IsPlannedTimeout(std::string_view code) {
  return absl::StartsWithIgnoreCase(V(code), "PlannedFailoverTimedOut");
}

// The one classification table (docs/arm-client.md mirrors it, with the code path of each).
// A trailing '*' matches a prefix.
struct ClassEntry {
  std::string_view code;
  ErrorClass error_class;
};
constexpr ClassEntry kErrorClasses[] = {
    {"FailoverGroupBusy", ErrorClass::kRereadThenRetry},
    {"FailoverGroupFailoverRequestOnPrimary", ErrorClass::kRereadThenRetry},
    {"FailoverGroupNotSecondary", ErrorClass::kRereadThenRetry},
    {"FailoverGroupUpdateOrDeleteRequestOnSecondary", ErrorClass::kRereadThenRetry},
    {"OperationIdNotFound", ErrorClass::kRereadThenRetry},
    {"OperationInterrupted", ErrorClass::kRereadThenRetry},
    {"InvalidDatabaseStateForOperation", ErrorClass::kRereadThenRetry},
    {"IncorrectReplicationLinkState", ErrorClass::kRereadThenRetry},
    {"PlannedFailoverTimedOut*", ErrorClass::kTerminal},
    {"OperationTimedOut", ErrorClass::kRetryAfterBackoff},
    {"SubscriptionTooManyRequests", ErrorClass::kRetryAfterBackoff},
    {"SubscriptionTooManyCreateUpdateRequests", ErrorClass::kRetryAfterBackoff},
    {"TooManyRequests", ErrorClass::kRetryAfterBackoff},
    {"ConflictingServerOperation", ErrorClass::kRetryAfterBackoff},
    {"ServiceUnavailable", ErrorClass::kRetryAfterBackoff},
    {"DatabaseUnavailable", ErrorClass::kRetryAfterBackoff},
    {"RequestTimeout", ErrorClass::kRetryAfterBackoff},
    {"GatewayTimeout", ErrorClass::kRetryAfterBackoff},
    {"ConflictingSystemOperationInProgress", ErrorClass::kRetryAfterBackoff},
    {"DatabaseBeingAddedToFailoverGroup", ErrorClass::kRetryAfterBackoff},
    {"DatabaseBeingRemovedFromFailoverGroup", ErrorClass::kRetryAfterBackoff},
    {"UpdateSloInProgress", ErrorClass::kRetryAfterBackoff},
    {"OperationCancelled", ErrorClass::kNeedsHuman},
    {"OperationCanceled", ErrorClass::kNeedsHuman},
    {"FailoverGroupDnsRecordInUse", ErrorClass::kNeedsHuman},
    {"GeoReplicationCannotBecomePrimaryDuringUndo", ErrorClass::kNeedsHuman},
    {"FailoverGroupUnableToPerformGroupOperationOnDatabases", ErrorClass::kNeedsHuman},
    {"FailoverGroupCreateOrUpdatePartiallySucceeded", ErrorClass::kNeedsHuman},
    {"SubscriptionDisabled", ErrorClass::kNeedsHuman},
    {"LimitOfFailoverGroupsPerServerExceeded", ErrorClass::kNeedsHuman},
    {"FailoverGroupWithVirtualNetworkRulesNotSupported", ErrorClass::kNeedsHuman},
    {"GeoReplicaLimitReached", ErrorClass::kNeedsHuman},
    {"RemoteDatabaseCopyPermission", ErrorClass::kNeedsHuman},
    {"InvalidAddSecondaryPermission", ErrorClass::kNeedsHuman},
    {"AuthorizationFailed", ErrorClass::kNeedsHuman},
    {"AuthenticationFailed", ErrorClass::kNeedsHuman},
    {"InvalidAuthenticationToken", ErrorClass::kNeedsHuman},
    {"ExpiredAuthenticationToken", ErrorClass::kNeedsHuman},
    {"DatabaseBelongsToOtherFailoverGroup", ErrorClass::kTerminal},
    {"FailoverGroupAlreadyExists", ErrorClass::kTerminal},
    {"FailoverGroupCreateOrUpdateRequest*", ErrorClass::kTerminal},
    {"InvalidFailoverGroupRegion", ErrorClass::kTerminal},
    {"FailoverGroupPartnerServerFromDifferentSubscription", ErrorClass::kTerminal},
    {"InvalidRequestContent", ErrorClass::kTerminal},
    {"FailoverGroupDoesNotExist", ErrorClass::kTerminal},
    {"ResourceNotFound", ErrorClass::kTerminal},
    {"ServerNotInSubscriptionResourceGroup", ErrorClass::kTerminal},
};

bool StopsAutomation(std::string_view code) {
  const ErrorClass c = ClassifyArmErrorCode(code);
  return c == ErrorClass::kTerminal || c == ErrorClass::kNeedsHuman;
}

// Keeps ARM's message readable but bounded; it never holds credentials (ARM does not echo them).
std::string Clip(std::string_view s, size_t n = 300) {
  if (s.size() <= n) return std::string(s);
  return absl::StrCat(V(s.substr(0, n)), "...");
}

}  // namespace

std::string_view ErrorClassName(ErrorClass c) {
  switch (c) {
    case ErrorClass::kUnclassified:
      return "unclassified";
    case ErrorClass::kRetryAfterBackoff:
      return "retry_after_backoff";
    case ErrorClass::kRereadThenRetry:
      return "reread_then_retry";
    case ErrorClass::kTerminal:
      return "terminal";
    case ErrorClass::kNeedsHuman:
      return "needs_human";
  }
  return "unclassified";
}

ErrorClass ClassifyArmErrorCode(std::string_view code) {
  if (code.empty()) return ErrorClass::kUnclassified;
  for (const ClassEntry& e : kErrorClasses) {
    if (e.code.back() == '*') {
      if (absl::StartsWithIgnoreCase(V(code), V(e.code.substr(0, e.code.size() - 1)))) {
        return e.error_class;
      }
    } else if (Is(code, e.code)) {
      return e.error_class;
    }
  }
  return ErrorClass::kUnclassified;
}

ErrorClass ErrorClassOf(const absl::Status& status) {
  std::optional<std::string> code = ArmErrorCode(status);
  return code ? ClassifyArmErrorCode(*code) : ErrorClass::kUnclassified;
}

absl::StatusCode StatusCodeForHttp(int http_status, std::string_view arm_code) {
  if (http_status == 408 || http_status == 429 || (http_status >= 500 && http_status <= 599)) {
    return absl::StatusCode::kUnavailable;
  }
  switch (http_status) {
    case 400:
    case 422:
      if (IsWrongSide(arm_code) || IsPlannedTimeout(arm_code)) {
        return absl::StatusCode::kFailedPrecondition;
      }
      if (ClassifyArmErrorCode(arm_code) == ErrorClass::kRereadThenRetry) {
        return absl::StatusCode::kAborted;
      }
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      if (Is(arm_code, "FailoverGroupAlreadyExists")) return absl::StatusCode::kAlreadyExists;
      if (StopsAutomation(arm_code)) return absl::StatusCode::kFailedPrecondition;
      return absl::StatusCode::kAborted;
    case 412:
      return absl::StatusCode::kFailedPrecondition;
    default:
      break;
  }
  if (http_status >= 400 && http_status < 500) return absl::StatusCode::kInvalidArgument;
  return absl::StatusCode::kUnknown;
}

absl::StatusCode StatusCodeForFailedOperation(OperationState state, std::string_view arm_code) {
  if (state == OperationState::kCanceled) return absl::StatusCode::kCancelled;
  if (Is(arm_code, "OperationTimedOut")) return absl::StatusCode::kUnavailable;
  if (IsWrongSide(arm_code) || IsPlannedTimeout(arm_code) || StopsAutomation(arm_code)) {
    return absl::StatusCode::kFailedPrecondition;
  }
  return absl::StatusCode::kAborted;
}

void RequestIds::From(const http::HttpHeaders& h) {
  if (auto v = h.Find("x-ms-request-id")) request_id = *v;
  if (auto v = h.Find("x-ms-correlation-request-id")) correlation_request_id = *v;
}

std::string RequestIds::Suffix() const {
  std::string out;
  auto add = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    absl::StrAppend(&out, out.empty() ? " (" : ", ", k, "=", Clip(v, 80));
  };
  add("client-request-id", client_request_id);
  add("request-id", request_id);
  add("correlation-id", correlation_request_id);
  if (!out.empty()) out += ")";
  return out;
}

absl::Status StatusFromHttpError(std::string_view what, const http::HttpResponse& response,
                                 const RequestIds& ids) {
  std::optional<ArmError> err = ParseArmError(response.body);
  std::string code = err ? err->code : "";
  std::string msg = absl::StrCat("arm ", V(what), ": http ", response.status);
  if (err) {
    if (!code.empty()) absl::StrAppend(&msg, " ", Clip(code, 100));
    if (!err->message.empty()) absl::StrAppend(&msg, ": ", Clip(err->message));
  }
  absl::StrAppend(&msg, ids.Suffix());
  absl::Status s(StatusCodeForHttp(response.status, code), msg);
  if (!code.empty()) s.SetPayload(kArmCodePayload, absl::Cord(code));
  s.SetPayload(kHttpStatusPayload, absl::Cord(absl::StrCat(response.status)));
  // An HTTP answer proves the request arrived; for 408/5xx it may also have been acted on.
  http::SetRequestMaybeSent(s, true);
  return s;
}

absl::Status StatusFromFailedOperation(std::string_view what, const OperationStatus& op,
                                       const RequestIds& ids) {
  std::string code = op.error ? op.error->code : "";
  std::string msg = absl::StrCat("arm ", V(what), ": operation ",
                                 op.state == OperationState::kCanceled ? "canceled" : "failed");
  if (!code.empty()) absl::StrAppend(&msg, " ", Clip(code, 100));
  if (op.error && !op.error->message.empty()) absl::StrAppend(&msg, ": ", Clip(op.error->message));
  absl::StrAppend(&msg, ids.Suffix());
  absl::Status s(StatusCodeForFailedOperation(op.state, code), msg);
  if (!code.empty()) s.SetPayload(kArmCodePayload, absl::Cord(code));
  s.SetPayload(kFailedOperationPayload, absl::Cord("1"));
  return s;
}

bool IsFailedOperation(const absl::Status& status) {
  return status.GetPayload(kFailedOperationPayload).has_value();
}

std::optional<std::string> ArmErrorCode(const absl::Status& status) {
  auto p = status.GetPayload(kArmCodePayload);
  if (!p) return std::nullopt;
  return std::string(*p);
}

std::optional<int> HttpStatusOf(const absl::Status& status) {
  auto p = status.GetPayload(kHttpStatusPayload);
  int v = 0;
  if (!p || !absl::SimpleAtoi(std::string(*p), &v)) return std::nullopt;
  return v;
}

}  // namespace foghorn::arm
