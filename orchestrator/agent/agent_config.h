// foghornd's configuration file: YAML mapped onto foghorn.v1.AgentConfig by the runbook loader's
// descriptor-driven parser, so every error names file:line:column and the field. Relative paths
// are resolved against the config file's directory and defaults are filled in.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_AGENT_CONFIG_H_
#define FOGHORN_ORCHESTRATOR_AGENT_AGENT_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "foghorn/v1/agent.pb.h"
#include "orchestrator/journal/journal.h"

namespace foghorn::agent {

inline constexpr char kDefaultApiListen[] = "127.0.0.1:7443";
inline constexpr char kDefaultMetricsListen[] = "127.0.0.1:9464";

// Loads, defaults and validates the config at `path`. INVALID_ARGUMENT listing every problem,
// each as "file:line:column: field: message"; NOT_FOUND when the file cannot be read.
absl::StatusOr<v1::AgentConfig> LoadAgentConfig(const std::string& path);

// Parses config text (named `file` in errors); relative paths resolve against `base_dir`.
absl::StatusOr<v1::AgentConfig> ParseAgentConfig(const std::string& file, const std::string& text,
                                                 const std::string& base_dir);

// The runbook files the config names: files as given, directories expanded to their *.yaml and
// *.yml files (sorted). NOT_FOUND for a path that does not exist.
absl::StatusOr<std::vector<std::string>> RunbookFiles(const v1::AgentConfig& config);

// The journal retention `config` asks for (journal.retention): each limit as written, the
// journal::RetentionPolicy default where it is unset. ParseAgentConfig has refused negative ones.
journal::RetentionPolicy JournalRetention(const v1::AgentConfig& config);

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_AGENT_CONFIG_H_
