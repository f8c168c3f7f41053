#include "orchestrator/api/request_limits.h"

#include <cstdint>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "foghorn/v1/common.pb.h"
#include "orchestrator/common/durations.h"
#include "orchestrator/common/status_macros.h"
#include "orchestrator/drill/report.h"

namespace foghorn::api {
namespace {

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Where the first forbidden byte is; npos when there is none. Free text may hold tabs and line
// breaks, ids nothing below 0x20.
std::size_t FirstControlByte(absl::string_view value, bool allow_whitespace) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (!IsControl(c)) continue;
    if (allow_whitespace && (c == '\t' || c == '\n' || c == '\r')) continue;
    return i;
  }
  return absl::string_view::npos;
}

// The size and content checks of one string field. The message says how long the value is and
// where the bad byte sits, never what the value is.
absl::Status CheckString(absl::string_view field, absl::string_view value, std::size_t max_bytes,
                         bool required, bool free_text) {
  if (value.empty()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
    return absl::OkStatus();
  }
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is longer than ", max_bytes, " bytes (", value.size(), " bytes)"));
  }
  const std::size_t bad = FirstControlByte(value, free_text);
  if (bad != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " contains control byte 0x",
        absl::Hex(static_cast<unsigned char>(value[bad]), absl::kZeroPad2), " at offset ", bad));
  }
  return absl::OkStatus();
}

absl::Status CheckId(absl::string_view field, absl::string_view value, std::size_t max_bytes,
                     bool required) {
  return CheckString(field, value, max_bytes, required, /*free_text=*/false);
}

absl::Status CheckReason(absl::string_view field, absl::string_view value, bool required) {
  return CheckString(field, value, kMaxReasonBytes, required, /*free_text=*/true);
}

absl::Status CheckPageSize(int page_size) {
  if (page_size < 0 || page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must be between 0 and ", kMaxPageSize, " (got ", page_size, ")"));
  }
  return absl::OkStatus();
}

// A well-formed google.protobuf.Duration between zero and `max` (named `max_text` for people).
absl::Status CheckDuration(absl::string_view field, const google::protobuf::Duration& d,
                           absl::Duration max, absl::string_view max_text) {
  const std::int64_t s = d.seconds();
  const std::int32_t n = d.nanos();
  if (!common::ValidateProtoDuration(d).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not a valid duration (seconds and nanos out of range)"));
  }
  if (s < 0 || n < 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must not be negative"));
  }
  // Compared in whole seconds plus nanos: no absl::Duration arithmetic on caller values.
  const std::int64_t max_seconds = absl::ToInt64Seconds(max);
  if (s > max_seconds || (s == max_seconds && n > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(field, " must be at most ", max_text));
  }
  return absl::OkStatus();
}

absl::Status CheckGroupId(const std::string& group_id, bool required) {
  return CheckId("group_id", group_id, kMaxGroupIdBytes, required);
}

}  // namespace

absl::Status ValidateRequest(const v1::ListGroupsRequest& req) {
  RETURN_IF_ERROR(CheckPageSize(req.page_size()));
  return CheckId("page_token", req.page_token(), kMaxPageTokenBytes, /*required=*/false);
}

absl::Status ValidateRequest(const v1::GetGroupRequest& req) {
  return CheckGroupId(req.group_id(), /*required=*/true);
}

absl::Status ValidateRequest(const v1::ListOperationsRequest& req) {
  RETURN_IF_ERROR(CheckPageSize(req.page_size()));
  return CheckGroupId(req.group_id(), /*required=*/false);
}

absl::Status ValidateRequest(const v1::GetOperationRequest& req) {
  return CheckId("operation_id", req.operation_id(), kMaxOperationIdBytes, /*required=*/true);
}

absl::Status ValidateRequest(const v1::ListDecisionsRequest& req) {
  RETURN_IF_ERROR(CheckPageSize(req.page_size()));
  return CheckGroupId(req.group_id(), /*required=*/true);
}

absl::Status ValidateRequest(const v1::RequestFailoverRequest& req) {
  // A dry run changes nothing, so it may come without a reason (as before).
  RETURN_IF_ERROR(CheckReason("reason", req.reason(), /*required=*/!req.dry_run()));
  if (!v1::FailoverKind_IsValid(req.kind())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown kind ", req.kind()));
  }
  RETURN_IF_ERROR(CheckId("request_id", req.request_id(), kMaxRequestIdBytes, /*required=*/false));
  RETURN_IF_ERROR(CheckGroupId(req.group_id(), /*required=*/true));
  // Whether override_holds needs the reason is the agent's call (after the role check).
  return CheckReason("override_reason", req.override_reason(), /*required=*/false);
}

absl::Status ValidateRequest(const v1::CancelOperationRequest& req) {
  RETURN_IF_ERROR(
      CheckId("operation_id", req.operation_id(), kMaxOperationIdBytes, /*required=*/true));
  return CheckReason("reason", req.reason(), /*required=*/true);
}

absl::Status ValidateRequest(const v1::ApproveDecisionRequest& req) {
  RETURN_IF_ERROR(CheckReason("reason", req.reason(), /*required=*/true));
  return CheckGroupId(req.group_id(), /*required=*/true);
}

absl::Status ValidateRequest(const v1::RejectDecisionRequest& req) {
  RETURN_IF_ERROR(CheckReason("reason", req.reason(), /*required=*/true));
  return CheckGroupId(req.group_id(), /*required=*/true);
}

absl::Status ValidateRequest(const v1::PauseAutomationRequest& req) {
  RETURN_IF_ERROR(CheckReason("reason", req.reason(), /*required=*/true));
  if (req.has_duration()) {
    RETURN_IF_ERROR(CheckDuration("duration", req.duration(), kMaxPauseDuration, "365 days"));
  }
  // Empty: the global pause.
  return CheckGroupId(req.group_id(), /*required=*/false);
}

absl::Status ValidateRequest(const v1::ResumeAutomationRequest& req) {
  return CheckGroupId(req.group_id(), /*required=*/false);
}

absl::Status ValidateRequest(const v1::WatchRequest& req) {
  if (req.group_ids_size() > kMaxWatchGroupIds) {
    return absl::InvalidArgumentError(absl::StrCat("group_ids has ", req.group_ids_size(),
                                                   " entries; at most ", kMaxWatchGroupIds));
  }
  for (int i = 0; i < req.group_ids_size(); ++i) {
    RETURN_IF_ERROR(CheckId(absl::StrCat("group_ids[", i, "]"), req.group_ids(i), kMaxGroupIdBytes,
                            /*required=*/true));
  }
  if (req.kinds_size() > kMaxWatchKinds) {
    return absl::InvalidArgumentError(
        absl::StrCat("kinds has ", req.kinds_size(), " entries; at most ", kMaxWatchKinds));
  }
  for (int i = 0; i < req.kinds_size(); ++i) {
    const int k = req.kinds(i);
    if (!v1::EventKind_IsValid(k) || k == v1::EVENT_KIND_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown event kind ", k, " in kinds[", i, "]"));
    }
  }
  return CheckId("operation_id", req.operation_id(), kMaxOperationIdBytes, /*required=*/false);
}

absl::Status ValidateRequest(const v1::ValidateRunbookRequest& req) {
  if (req.text().empty()) return absl::InvalidArgumentError("text is required");
  if (req.text().size() > kMaxRunbookTextBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is larger than 1 MiB (", req.text().size(), " bytes)"));
  }
  // The text itself is the loader's to judge (it reports every problem as a diagnostic).
  return CheckId("file_name", req.file_name(), kMaxFileNameBytes, /*required=*/false);
}

absl::Status ValidateRequest(const v1::StartDrillRequest& req) {
  RETURN_IF_ERROR(CheckReason("reason", req.reason(), /*required=*/!req.dry_run()));
  RETURN_IF_ERROR(CheckId("request_id", req.request_id(), kMaxRequestIdBytes, /*required=*/false));
  if (req.has_hold()) RETURN_IF_ERROR(CheckDuration("hold", req.hold(), kMaxDrillHold, "7 days"));
  return CheckGroupId(req.group_id(), /*required=*/true);
}

absl::Status ValidateRequest(const v1::CheckReadinessRequest& req) {
  return CheckGroupId(req.group_id(), /*required=*/true);
}

absl::Status ValidateRequest(const v1::ListDrillReportsRequest& req) {
  RETURN_IF_ERROR(CheckPageSize(req.page_size()));
  return CheckGroupId(req.group_id(), /*required=*/false);
}

absl::Status ValidateRequest(const v1::GetDrillReportRequest& req) {
  const std::string& id = req.drill_id();
  RETURN_IF_ERROR(CheckId("drill_id", id, kMaxDrillIdBytes, /*required=*/true));
  // The id names a file under the report directory: the report store's own rule.
  if (!drill::IsValidDrillId(std::string_view(id.data(), id.size()))) {
    return absl::InvalidArgumentError(
        absl::StrCat("drill_id \"", EchoForMessage(id),
                     "\" is malformed: expected 1-128 of [A-Za-z0-9._-], not starting with '.'"));
  }
  return absl::OkStatus();
}

std::string EchoForMessage(absl::string_view value) {
  std::string out;
  std::size_t used = 0;
  for (; used < value.size(); ++used) {
    const std::string escaped = absl::CHexEscape(value.substr(used, 1));
    if (out.size() + escaped.size() > kMaxEchoBytes) break;
    out += escaped;
  }
  if (used < value.size()) absl::StrAppend(&out, "...(", value.size(), " bytes)");
  return out;
}

}  // namespace foghorn::api
