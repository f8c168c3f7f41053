// The CLI's runbook commands: `runbook validate <file>...` checks files on the agent (the
// agent's own loader, so the CLI and foghornd never disagree). A handler of the command table.
#ifndef FOGHORN_TOOLS_CLI_RUNBOOK_COMMANDS_H_
#define FOGHORN_TOOLS_CLI_RUNBOOK_COMMANDS_H_

#include "tools/cli/command_line.h"
#include "tools/cli/session.h"

namespace foghorn::cli {

int RunbookValidateCommand(Session& session, const Invocation& args);

}  // namespace foghorn::cli

#endif  // FOGHORN_TOOLS_CLI_RUNBOOK_COMMANDS_H_
