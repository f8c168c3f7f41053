// RunCli: reads the command line against the command table (command_table.h), prints help or a
// usage error, connects, and runs the command's handler. Everything a command is (its flags, its
// help, its handler) lives in the table; this file only orders the steps.
#include "tools/cli/cli.h"

#include "tools/cli/command_line.h"
#include "tools/cli/command_table.h"
#include "tools/cli/help.h"
#include "tools/cli/session.h"

namespace foghorn::cli {

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Getenv& getenv) {
  ParsedLine line = ParseCommandLine(args);
  if (!line.unknown_command.empty()) {
    err << "foghorn: unknown command \"" << line.unknown_command << "\"\n\n" << Overview();
    return kExitUsage;
  }
  if (!line.error.empty()) {
    err << "foghorn: " << line.error << "\n";
    return kExitUsage;
  }
  if (line.command == nullptr) {
    // No command: the overview, on stdout when asked for, else on stderr as a usage error.
    (line.help ? out : err) << Overview();
    return line.help ? kExitOk : kExitUsage;
  }
  const CommandSpec& command = *line.command;
  if (line.help) {
    out << CommandHelp(command);
    return kExitOk;
  }
  absl::StatusOr<Invocation> invocation = Bind(line, getenv);
  if (!invocation.ok()) return UsageError(err, command, invocation.status().message());
  Session session(out, err);
  session.Configure(*invocation);
  if (command.connects) {
    if (absl::Status s = session.Connect(*invocation); !s.ok()) {
      return UsageError(err, command, s.message());
    }
  }
  return command.handler(session, *invocation);
}

}  // namespace foghorn::cli
