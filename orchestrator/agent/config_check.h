// The start-up check of foghornd's config: everything that can be known to be wrong before the
// agent starts anything (listen rules of the control API and /metrics, TLS files, API and ARM
// token sources, the ARM CA file, the state dir and the log file). `foghornd --check` and start-up
// both call CheckAgentConfig, so a config that --check accepts is not refused later for a reason
// that could have been found up front, and start-up refuses before it probes, reads ARM or resumes
// an operation. What only running can tell (a port already taken, ARM unreachable) is not checked.
#ifndef FOGHORN_ORCHESTRATOR_AGENT_CONFIG_CHECK_H_
#define FOGHORN_ORCHESTRATOR_AGENT_CONFIG_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "foghorn/v1/agent.pb.h"
#include "orchestrator/arm/credentials.h"

namespace foghorn::agent {

// Checks a config as LoadAgentConfig returns it (defaults filled in, paths resolved):
//  - api.listen is well-formed (common::ParseHostPort, port 0 allowed); on a non-loopback address
//    (common::IsLoopbackHost) the API needs tls and at least one token;
//  - api.tls: cert_file and key_file together (client_ca_file only with them), each readable PEM
//    that parses, the key unencrypted and matching the certificate;
//  - api.tokens: unique names, a role, exactly one source that exists (file readable, variable
//    set), a value of at least 16 characters, no two tokens with the same value;
//  - metrics.listen is "off" or well-formed, and does not take the control API's port;
//  - arm.ca_file parses as PEM certificates; arm.credentials' token file is readable and not empty,
//    its variable set; with no static token, the authority host is https;
//  - state_dir is a writable directory or can be created, its journal.db (if any) read-writable;
//  - log.file can be opened for append (or created); every webhook URL is http(s) with a host.
// `file` names the config in messages; `env` reads environment variables (unset or empty: nullopt).
// OK, or INVALID_ARGUMENT listing every problem, one per line, as "file: field: message"; no
// message holds a token's value. Reads files; writes nothing. Thread-compatible.
absl::Status CheckAgentConfig(const std::string& file, const v1::AgentConfig& config,
                              const arm::EnvLookup& env = arm::ProcessEnvironment());

}  // namespace foghorn::agent

#endif  // FOGHORN_ORCHESTRATOR_AGENT_CONFIG_CHECK_H_
