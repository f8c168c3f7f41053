// Fuzzes foghornd's config parser: any text must give a config or an INVALID_ARGUMENT naming
// file:line:field, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "orchestrator/agent/agent_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto config = foghorn::agent::ParseAgentConfig("fuzz.yaml", text, "/tmp");
  if (!config.ok() && config.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
  if (config.ok() && config->state_dir().empty()) std::abort();  // required, so never empty
  return 0;
}
