// Durations in their three spellings: absl::Duration in code, google.protobuf.Duration in protos
// (runbooks, the agent config, the control API), and text as runbooks, the agent config and the
// CLI write them ("30s", "1h30m", "500ms", "2d"). Every conversion between them lives here, so a
// runbook, the agent and the CLI agree on what a duration means.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_DURATIONS_H_
#define FOGHORN_ORCHESTRATOR_COMMON_DURATIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"

namespace foghorn::common {

// google.protobuf.Duration's range: +-315,576,000,000 seconds (10,000 years).
inline constexpr std::int64_t kMaxProtoDurationSeconds = 315576000000;

// OK when `d` is a well-formed google.protobuf.Duration (duration.proto): seconds within
// +-kMaxProtoDurationSeconds, nanos within +-999,999,999, and the two not of opposite signs.
// INVALID_ARGUMENT "duration out of range" otherwise. For protos a caller sent (the control API).
absl::Status ValidateProtoDuration(const google::protobuf::Duration& d);

// ValidateProtoDuration, then the conversion. For protos a caller sent.
absl::StatusOr<absl::Duration> FromProtoDurationChecked(const google::protobuf::Duration& d);

// The conversion without the check, for protos foghorn wrote itself (a loaded runbook or config:
// the loader wrote them with ToProtoDuration). Never fails: out-of-range input saturates toward
// an infinite duration the way absl arithmetic does, and an unset message is zero.
absl::Duration FromProtoDuration(const google::protobuf::Duration& d);

// Writes `d` into `out`, truncated toward zero to whole nanoseconds and clamped to the proto's
// range. An infinite `d` leaves `out` untouched: the proto has no infinity, so "no value" (the
// field unset) is the caller's way to say it.
void ToProtoDuration(absl::Duration d, google::protobuf::Duration* out);
google::protobuf::Duration ToProtoDuration(absl::Duration d);

// Parses duration text: one or more <number><unit> terms without spaces ("1h30m"), or a bare
// "0". The number is 1-12 digits with an optional fraction of 1-9 digits ("1.5s"); the unit is
// ms, s, m, h or d (24 hours). Each term goes through absl::ParseDuration (a "d" term as 24 times
// its hours). No sign, no "inf", no ns/us: nullopt for anything else. No upper bound here: a
// runbook's cap (runbooks/yaml_to_proto.h) is its loader's business. Pure; thread-safe.
std::optional<absl::Duration> ParseDurationText(absl::string_view text);

// The shortest text ParseDurationText reads back: "1h30m", "1s500ms", "0s" (hours, minutes,
// seconds and milliseconds; less than a millisecond is dropped). Negative values get a "-".
std::string FormatDurationText(absl::Duration d);

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_DURATIONS_H_
