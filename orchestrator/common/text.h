// Small text utilities shared across the flow. TruncateUtf8 bounds text that a caller controls
// (audit fields, step details) before it is stored, so no row grows with what a caller sends.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_TEXT_H_
#define FOGHORN_ORCHESTRATOR_COMMON_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace foghorn::common {

// Returns `text` unchanged when it holds at most `max_bytes` bytes. Otherwise returns a prefix of
// it followed by the marker "…[truncated N bytes]", N being how many bytes of `text` were cut,
// and the whole at most `max_bytes` bytes long. The cut never splits a UTF-8 sequence: it moves
// back to the start of the sequence it would split (at most 3 bytes; text that is not UTF-8 is
// cut where it falls). When `max_bytes` cannot hold the marker, the result is the prefix alone.
// Pure function; thread-safe.
std::string TruncateUtf8(absl::string_view text, std::size_t max_bytes);

// In place: `*text` becomes TruncateUtf8(*text, max_bytes) (nothing is copied when it fits).
void TruncateUtf8InPlace(std::string* text, std::size_t max_bytes);

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_TEXT_H_
