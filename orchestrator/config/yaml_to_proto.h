// Maps a YAML document onto any protobuf message by walking its descriptor: scalars, enums (full
// name or the short lowercase form, e.g. approve_forced), repeated fields, maps, nested messages,
// oneofs and google.protobuf.Duration written as "30s". Every problem becomes a Diagnostic with
// file, line, column and field path; the walk continues past errors so all are reported. yaml-cpp
// exceptions are caught here and never escape.
#ifndef FOGHORN_ORCHESTRATOR_CONFIG_YAML_TO_PROTO_H_
#define FOGHORN_ORCHESTRATOR_CONFIG_YAML_TO_PROTO_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "orchestrator/config/diagnostic.h"

namespace foghorn::config {

// The longest duration a runbook or the agent config may hold (text as common::ParseDurationText
// reads it; a longer one is refused with a diagnostic).
inline constexpr absl::Duration kMaxRunbookDuration = absl::Hours(24 * 365);

// Parses `yaml` (named `file` in diagnostics) into `message`, which should be empty. Records the
// position of every field written in `source_map` and appends problems to `diagnostics`. Returns
// false if the text is not YAML at all or its root is not a mapping (then `message` is untouched),
// or when the document expands past the walker's limits (100,000 values or 8 MiB of scalar text,
// counting every use of a YAML alias: a "billion laughs" document is refused with one diagnostic,
// and `message` holds a partial result); true otherwise, even when field-level diagnostics were
// added. At most 100 diagnostics are added.
bool YamlToMessage(absl::string_view file, absl::string_view yaml,
                   google::protobuf::Message* message, SourceMap* source_map,
                   std::vector<Diagnostic>* diagnostics);

// The short lowercase spelling of an enum value: APPROVAL_MODE_APPROVE_FORCED -> approve_forced.
std::string ShortEnumName(const google::protobuf::EnumValueDescriptor& value);

}  // namespace foghorn::config

#endif  // FOGHORN_ORCHESTRATOR_CONFIG_YAML_TO_PROTO_H_
