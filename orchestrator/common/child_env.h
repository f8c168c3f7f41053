// The environment foghorn gives the programs it starts (exec probes, runbook exec steps and hooks,
// drill check hooks). The agent's own environment holds its credentials (AZURE_CLIENT_SECRET,
// FOGHORN_ARM_TOKEN, IDENTITY_HEADER, the control API's token variables, proxy URLs with
// passwords): a child gets none of it unless named. It gets a short documented allow-list
// (kDefaultInheritedEnv), the variables its runbook names in `inherit_env`, and the variables the
// runbook sets in `env` (which win). Agent credential variables are never inherited, even when
// named (IsAgentSecretEnv); a runbook that names one is refused at load.
#ifndef FOGHORN_ORCHESTRATOR_COMMON_CHILD_ENV_H_
#define FOGHORN_ORCHESTRATOR_COMMON_CHILD_ENV_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace foghorn::common {

// PATH, HOME, USER, LOGNAME, SHELL, LANG, LC_ALL, LC_CTYPE, TZ, TMPDIR, TERM.
extern const std::vector<std::string_view> kDefaultInheritedEnv;

// True for the variables that carry the agent's own credentials: AZURE_CLIENT_SECRET,
// AZURE_CLIENT_CERTIFICATE_PASSWORD, AZURE_FEDERATED_TOKEN_FILE, FOGHORN_ARM_TOKEN[_FILE],
// IDENTITY_HEADER, IDENTITY_ENDPOINT, MSI_SECRET, MSI_ENDPOINT, FOGHORN_TOKEN[_FILE], every
// FOGHORN_API_* variable, and the proxy variables (which may hold a password).
bool IsAgentSecretEnv(std::string_view name);

// "KEY=VALUE" entries for a child: from `parent` (e.g. `environ`), the allow-listed names and
// `inherit` (minus IsAgentSecretEnv names), then every entry of `set`.
std::vector<std::string> ChildEnvironment(char** parent, const std::vector<std::string>& inherit,
                                          const std::map<std::string, std::string>& set);

}  // namespace foghorn::common

#endif  // FOGHORN_ORCHESTRATOR_COMMON_CHILD_ENV_H_
