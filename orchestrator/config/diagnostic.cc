#include "orchestrator/config/diagnostic.h"

#include "absl/strings/str_cat.h"

namespace foghorn::config {

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (line > 0) {
    absl::StrAppend(&out, ":", line);
    if (column > 0) absl::StrAppend(&out, ":", column);
  }
  absl::StrAppend(&out, ": ");
  if (!field_path.empty()) absl::StrAppend(&out, field_path, ": ");
  absl::StrAppend(&out, message);
  return out;
}

absl::Status DiagnosticsToStatus(const std::vector<Diagnostic>& diagnostics) {
  if (diagnostics.empty()) return absl::OkStatus();
  std::string message;
  for (const Diagnostic& d : diagnostics) {
    if (!message.empty()) message.push_back('\n');
    absl::StrAppend(&message, d.ToString());
  }
  return absl::InvalidArgumentError(message);
}

}  // namespace foghorn::config
