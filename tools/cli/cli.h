// The foghorn CLI (docs/cli.md): subcommands over the gRPC control API, human-readable tables by
// default and JSON with --output json, live progress for failovers, and exit codes scripts can
// rely on. A library so tests can run it in process against a real server.
#ifndef FOGHORN_TOOLS_CLI_CLI_H_
#define FOGHORN_TOOLS_CLI_CLI_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace foghorn::cli {

// Exit codes (docs/cli.md). Stable: scripts may rely on them.
enum ExitCode {
  kExitOk = 0,
  // The command ran but the outcome is bad: the failover ended FAILED/ABORTED/CANCELLED, the
  // runbook has problems, the watch ended with an error after it started.
  kExitFailed = 1,
  // Bad command line, or the server rejected the request as malformed (INVALID_ARGUMENT).
  kExitUsage = 2,
  // The agent could not be reached in time (UNAVAILABLE, DEADLINE_EXCEEDED).
  kExitUnavailable = 3,
  // UNAUTHENTICATED or PERMISSION_DENIED.
  kExitAuth = 4,
  // NOT_FOUND.
  kExitNotFound = 5,
  // Refused by the current state: FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS.
  kExitRefused = 6,
  // Anything else (INTERNAL, UNIMPLEMENTED, ...).
  kExitError = 7,
};

// Reads an environment variable ("" when unset). Injected for tests.
using Getenv = std::function<std::string(const std::string&)>;

// Runs one command line (args excludes the program name). Writes results to `out` and
// diagnostics to `err`; returns the exit code.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Getenv& getenv);

// True when `target` ("host:port", "[v6]:port", "unix:...", "dns:///host:port") stays on this
// machine: a loopback host (common::IsLoopbackHost: 127.0.0.0/8, ::1, "localhost"), or a unix
// socket. Elsewhere the CLI never sends a bearer token without TLS.
bool IsLoopbackTarget(std::string target);

}  // namespace foghorn::cli

#endif  // FOGHORN_TOOLS_CLI_CLI_H_
