// The CLI's commands about failover operations and the event stream: failover (request one and
// follow it live), ops, op, watch. Handlers of the command table (command_table.h).
#ifndef FOGHORN_TOOLS_CLI_OPERATION_COMMANDS_H_
#define FOGHORN_TOOLS_CLI_OPERATION_COMMANDS_H_

#include <string>

#include "tools/cli/command_line.h"
#include "tools/cli/session.h"

namespace foghorn::cli {

int FailoverCommand(Session& session, const Invocation& args);
int OpsCommand(Session& session, const Invocation& args);
int OpCommand(Session& session, const Invocation& args);
int WatchCommand(Session& session, const Invocation& args);
// Recent decisions and operations, then (--follow) the live event stream: the events the status
// page shows.
int EventsCommand(Session& session, const Invocation& args);

// "cli-" and 16 random hex digits: the request id of a failover or drill started without
// --request-id, so re-running the command is a new request.
std::string RandomRequestId();

}  // namespace foghorn::cli

#endif  // FOGHORN_TOOLS_CLI_OPERATION_COMMANDS_H_
