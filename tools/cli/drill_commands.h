// The CLI's DR drill commands: drill (start one, optionally follow it to its summary),
// readiness, reports, report. Handlers of the command table (command_table.h).
#ifndef FOGHORN_TOOLS_CLI_DRILL_COMMANDS_H_
#define FOGHORN_TOOLS_CLI_DRILL_COMMANDS_H_

#include "tools/cli/command_line.h"
#include "tools/cli/session.h"

namespace foghorn::cli {

int DrillCommand(Session& session, const Invocation& args);
int ReadinessCommand(Session& session, const Invocation& args);
int ReportsCommand(Session& session, const Invocation& args);
int ReportCommand(Session& session, const Invocation& args);

}  // namespace foghorn::cli

#endif  // FOGHORN_TOOLS_CLI_DRILL_COMMANDS_H_
