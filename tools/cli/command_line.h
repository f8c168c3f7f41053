// Reading a command line against the command table (command_table.h): CLI11 splits it into the
// command, its positional arguments and its flags (connection flags may come before or after the
// command, a command's own flags after it); Bind then checks every value against its FlagSpec,
// fills defaults and the environment, and hands the handler typed values (an Invocation).
#ifndef FOGHORN_TOOLS_CLI_COMMAND_LINE_H_
#define FOGHORN_TOOLS_CLI_COMMAND_LINE_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/cli/cli.h"
#include "tools/cli/command_table.h"

namespace foghorn::cli {

// A command line split by the table, before any value is checked.
struct ParsedLine {
  const CommandSpec* command = nullptr;  // nullptr when no command was named
  bool help = false;                     // -h or --help anywhere
  std::string unknown_command;           // set when the first word is not a command
  std::string error;                     // a grammar error ("unknown flag --x"); "" when none
  // What was given, by name (a switch given has one value, "true").
  std::map<std::string, std::vector<std::string>, std::less<>> flags;
  std::map<std::string, std::vector<std::string>, std::less<>> positionals;
};

// Splits `args` (without the program name). Never fails: problems are in `unknown_command` and
// `error`, so the caller words them.
ParsedLine ParseCommandLine(const std::vector<std::string>& args);

// The checked arguments of one command, for its handler. Asking for a name the command's table
// entry does not declare, or with the wrong type, is a bug in the table or the handler: it
// aborts.
class Invocation {
 public:
  const CommandSpec& command() const { return *command_; }

  // A kRequired/kOptional/kWord positional: its value, or nullopt when not given.
  std::optional<std::string> Arg(absl::string_view name) const;
  // A kOneOrMore positional: every value (at least one once bound).
  const std::vector<std::string>& Args(absl::string_view name) const;

  bool Switch(absl::string_view name) const;
  // kText: the value given (or from the environment), else the default, else nullopt.
  std::optional<std::string> Text(absl::string_view name) const;
  const std::vector<std::string>& Texts(absl::string_view name) const;   // kTextList
  std::optional<int> Number(absl::string_view name) const;               // kNumber
  std::optional<absl::Duration> Duration(absl::string_view name) const;  // kDuration
  std::optional<int> ChoiceValue(absl::string_view name) const;          // kChoice
  const std::vector<int>& ChoiceValues(absl::string_view name) const;    // kChoiceList

 private:
  friend absl::StatusOr<Invocation> Bind(const ParsedLine& line, const Getenv& getenv);

  struct Value {
    const FlagSpec* flag = nullptr;  // nullptr for a positional
    std::vector<std::string> texts;  // positionals, kText, kTextList; empty when not given
    bool on = false;                 // kSwitch
    std::optional<int> number;       // kNumber, kChoice
    std::optional<absl::Duration> duration;
    std::vector<int> choices;  // kChoiceList
  };
  const Value& Get(absl::string_view name, std::optional<FlagType> type) const;

  const CommandSpec* command_ = nullptr;
  std::map<std::string, Value, std::less<>> values_;
};

// Checks the values of `line` (which names a command and has no error) against the table:
// connection flags first (flag, else `getenv(env)`, else the default), then the positionals, then
// the command's flags, in table order. INVALID_ARGUMENT with the table's message for the first
// problem ("--limit must be a positive number", "which group?").
absl::StatusOr<Invocation> Bind(const ParsedLine& line, const Getenv& getenv);

}  // namespace foghorn::cli

#endif  // FOGHORN_TOOLS_CLI_COMMAND_LINE_H_
