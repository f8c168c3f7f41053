// The CLI's commands about failover groups and their automation: status, groups, group,
// approve, reject, pause, resume. Each is a Handler of the command table (command_table.h):
// it reads its checked arguments, calls the control API through the session, prints a table or
// JSON, and returns the exit code (cli.h).
#ifndef FOGHORN_TOOLS_CLI_GROUP_COMMANDS_H_
#define FOGHORN_TOOLS_CLI_GROUP_COMMANDS_H_

#include "tools/cli/command_line.h"
#include "tools/cli/session.h"

namespace foghorn::cli {

int StatusCommand(Session& session, const Invocation& args);
int GroupsCommand(Session& session, const Invocation& args);
int GroupCommand(Session& session, const Invocation& args);
int ApproveCommand(Session& session, const Invocation& args);
int RejectCommand(Session& session, const Invocation& args);
int PauseCommand(Session& session, const Invocation& args);
int ResumeCommand(Session& session, const Invocation& args);

}  // namespace foghorn::cli

#endif  // FOGHORN_TOOLS_CLI_GROUP_COMMANDS_H_
