// The CLI's help texts, derived from the command table (command_table.h): the overview of
// `foghorn --help`, each command's `foghorn <command> --help`, the one-line synopsis a usage error
// ends with, and the `help` command itself.
#ifndef FOGHORN_TOOLS_CLI_HELP_H_
#define FOGHORN_TOOLS_CLI_HELP_H_

#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "tools/cli/command_table.h"

namespace foghorn::cli {

// Every command with its arguments and summary, every connection flag with its environment
// variable and default, and the exit codes.
std::string Overview();

// "Usage: foghorn <synopsis>", the command's help, its flags with types and defaults.
std::string CommandHelp(const CommandSpec& command);

// The command's synopsis: "failover <group> --reason R [--kind planned|...] ...", wrapped to fit
// 100 columns after `indent` columns.
std::string Synopsis(const CommandSpec& command, size_t indent = 0);

// Writes "foghorn <command>: <message>" and the command's usage line to `err`; returns
// kExitUsage.
int UsageError(std::ostream& err, const CommandSpec& command, absl::string_view message);

// The `help [command]` command: the overview, or one command's help; kExitUsage for an unknown
// command. Needs no agent.
int HelpCommand(Session& session, const Invocation& args);

}  // namespace foghorn::cli

#endif  // FOGHORN_TOOLS_CLI_HELP_H_
