// The CLI's one command table: every command with its synopsis, help, positional arguments,
// flags (type, default, validation message) and handler, plus the connection flags every command
// takes. The usage overview, `--help`, each command's help, the parser (command_line.h) and the
// dispatch in cli.cc are all derived from it: adding a command or a flag means adding it here.
#ifndef FOGHORN_TOOLS_CLI_COMMAND_TABLE_H_
#define FOGHORN_TOOLS_CLI_COMMAND_TABLE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace foghorn::cli {

class Invocation;
class Session;

// What a flag's value is, and how it is checked before a handler runs.
enum class FlagType {
  kSwitch,      // --dry-run: no value.
  kText,        // --reason R: any non-empty text.
  kTextList,    // --group G, repeatable: every value, in order.
  kNumber,      // --limit N: an integer >= FlagSpec::min.
  kDuration,    // --hold 30s: common::ParseDurationText; > 0 when FlagSpec::positive.
  kChoice,      // --kind planned: one of FlagSpec::choices.
  kChoiceList,  // --kind step, repeatable: each one of FlagSpec::choices.
};

// One accepted value of a kChoice/kChoiceList flag and what the handler receives for it.
struct Choice {
  absl::string_view text = {};
  int value = 0;
  bool hidden = false;  // accepted (an old spelling) but not listed in help
};

struct FlagSpec {
  absl::string_view name = {};  // the long name without "--"
  FlagType type = FlagType::kText;
  absl::string_view value_name = {};  // "N", "DURATION"; for choices derived from the list
  absl::string_view help = {};
  // Used when the flag is not given (and, for connection flags, the environment is empty);
  // parsed and checked like a given value. "" for none.
  absl::string_view default_value = {};
  // The usage error when the value does not parse or is out of range ("" for a generic one).
  absl::string_view invalid = {};
  int min = 0;            // kNumber: the smallest valid value
  bool positive = false;  // kDuration: must be > 0
  bool required = false;
  absl::string_view required_unless = {};  // a switch of the same command that lifts `required`
  std::vector<Choice> choices = {};
  absl::string_view short_name = {};  // one letter ("o" for -o), or ""
  absl::string_view env = {};         // connection flags: the environment variable behind the flag
};

enum class Arity {
  kRequired,   // <group>
  kOptional,   // [group]
  kOneOrMore,  // <file>...
  kWord,       // a literal word that must be there ("validate" in "runbook validate")
};

struct PositionalSpec {
  absl::string_view name = {};
  Arity arity = Arity::kRequired;
  // The usage error when it is missing (or, for kWord, is not the word).
  absl::string_view missing = {};
  // kOptional only: a switch of the same command that names the target instead; exactly one
  // of the two must be given ("(<group> | --all)"), else `missing`.
  absl::string_view or_switch = {};
};

using Handler = int (*)(Session& session, const Invocation& args);

// The values of the -o/--output choice.
enum OutputFormat { kOutputTable = 0, kOutputJson = 1 };

struct CommandSpec {
  absl::string_view name = {};
  absl::string_view summary = {};  // one line for the overview
  absl::string_view help = {};     // the paragraph of `foghorn <name> --help`
  std::vector<PositionalSpec> positionals = {};
  std::vector<FlagSpec> flags = {};
  Handler handler = nullptr;
  bool connects = true;  // false: runs without the agent (help)
};

// Every command, in the order the overview lists them. Built once; never null entries.
const std::vector<CommandSpec>& Commands();

// The flags every command takes: where the agent is, credentials, TLS, timeout, output format.
const std::vector<FlagSpec>& ConnectionFlags();

// The command named `name`, or nullptr.
const CommandSpec* FindCommand(absl::string_view name);

// The flag `name` of `command` or a connection flag, or nullptr.
const FlagSpec* FindFlag(const CommandSpec& command, absl::string_view name);

// Mistakes in the table itself (a missing handler, a duplicate flag, a required_unless or
// or_switch naming no switch, a choice flag without choices); empty when it is sound. Tests
// call it; RunCli trusts the table.
std::vector<std::string> CheckCommandTable();

}  // namespace foghorn::cli

#endif  // FOGHORN_TOOLS_CLI_COMMAND_TABLE_H_
