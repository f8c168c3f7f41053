// Durations as runbooks write them: "30s", "5m", "1h", "1h30m", "500ms", "2d", "0".
#ifndef FOGHORN_RUNBOOKS_DURATION_H_
#define FOGHORN_RUNBOOKS_DURATION_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"

namespace foghorn::runbooks {

// The longest duration a runbook may hold.
inline constexpr absl::Duration kMaxRunbookDuration = absl::Hours(24 * 365);

// Parses one or more <number><unit> terms (units ms, s, m, h, d; the number may have a decimal
// fraction) or a bare "0". Returns nullopt for anything else, including negative values.
std::optional<absl::Duration> ParseRunbookDuration(absl::string_view text);

// The shortest runbook spelling of `d`, e.g. "1h30m", "500ms", "0s".
std::string FormatRunbookDuration(absl::Duration d);

absl::Duration FromProto(const google::protobuf::Duration& d);
void ToProto(absl::Duration d, google::protobuf::Duration* out);

}  // namespace foghorn::runbooks

#endif  // FOGHORN_RUNBOOKS_DURATION_H_
