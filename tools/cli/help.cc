#include "tools/cli/help.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tools/cli/cli.h"
#include "tools/cli/command_line.h"
#include "tools/cli/session.h"

namespace foghorn::cli {
namespace {

constexpr size_t kWidth = 100;
constexpr size_t kColumn = 30;  // where a row's text starts in the overview and flag lists

// Joins `words` into lines of at most kWidth columns; every line after the first starts with
// `indent` spaces and the first is assumed to start at column `first_column`.
std::string Fill(const std::vector<std::string>& words, size_t indent, size_t first_column) {
  std::string out;
  size_t column = first_column;
  bool line_empty = true;
  for (const std::string& w : words) {
    if (!line_empty && column + 1 + w.size() > kWidth) {
      absl::StrAppend(&out, "\n", std::string(indent, ' '));
      column = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++column;
    }
    out += w;
    column += w.size();
    line_empty = false;
  }
  return out;
}

std::string Wrap(absl::string_view text, size_t indent, size_t first_column) {
  return Fill(absl::StrSplit(text, ' ', absl::SkipEmpty()), indent, first_column);
}

// "  left        text", the text wrapped at kColumn (on the next line when `left` is too long).
std::string Row(const std::string& left, absl::string_view text) {
  std::string row = absl::StrCat("  ", left);
  if (row.size() + 2 > kColumn) {
    absl::StrAppend(&row, "\n", std::string(kColumn, ' '));
  } else {
    row.resize(kColumn, ' ');
  }
  return absl::StrCat(row, Wrap(text, kColumn, kColumn), "\n");
}

std::string ValueName(const FlagSpec& f) {
  if (f.type != FlagType::kChoice && f.type != FlagType::kChoiceList)
    return std::string(f.value_name);
  std::vector<absl::string_view> texts;
  for (const Choice& c : f.choices) {
    if (!c.hidden) texts.push_back(c.text);
  }
  return absl::StrJoin(texts, "|");
}

std::string FlagWithValue(const FlagSpec& f) {
  std::string s = absl::StrCat("--", f.name);
  if (f.type != FlagType::kSwitch) absl::StrAppend(&s, " ", ValueName(f));
  return s;
}

bool Repeatable(const FlagSpec& f) {
  return f.type == FlagType::kTextList || f.type == FlagType::kChoiceList;
}

std::string PositionalToken(const PositionalSpec& p) {
  switch (p.arity) {
    case Arity::kRequired:
      return absl::StrCat("<", p.name, ">");
    case Arity::kOptional:
      if (!p.or_switch.empty()) return absl::StrCat("(<", p.name, "> | --", p.or_switch, ")");
      return absl::StrCat("[", p.name, "]");
    case Arity::kOneOrMore:
      return absl::StrCat("<", p.name, ">...");
    case Arity::kWord:
      return std::string(p.name);
  }
  return "";
}

bool IsOrSwitch(const CommandSpec& c, const FlagSpec& f) {
  for (const PositionalSpec& p : c.positionals) {
    if (p.or_switch == f.name) return true;
  }
  return false;
}

std::vector<std::string> SynopsisWords(const CommandSpec& c, bool with_flags) {
  std::vector<std::string> words = {absl::StrCat("foghorn ", c.name)};
  for (const PositionalSpec& p : c.positionals) words.push_back(PositionalToken(p));
  if (!with_flags) return words;
  for (const FlagSpec& f : c.flags) {
    if (IsOrSwitch(c, f)) continue;
    if (f.required) {
      words.push_back(FlagWithValue(f));
    } else {
      words.push_back(absl::StrCat("[", FlagWithValue(f), "]", Repeatable(f) ? "..." : ""));
    }
  }
  return words;
}

std::string FlagText(const FlagSpec& f) {
  std::vector<std::string> notes;
  if (!f.env.empty()) notes.push_back(std::string(f.env));
  if (!f.default_value.empty()) notes.push_back(absl::StrCat("default ", f.default_value));
  if (f.required) {
    notes.push_back(f.required_unless.empty()
                        ? "required"
                        : absl::StrCat("required unless --", f.required_unless));
  }
  if (Repeatable(f)) notes.push_back("repeatable");
  if (notes.empty()) return std::string(f.help);
  return absl::StrCat(f.help, " (", absl::StrJoin(notes, ", "), ")");
}

std::string FlagRow(const FlagSpec& f) {
  std::string left = FlagWithValue(f);
  if (!f.short_name.empty()) left = absl::StrCat("-", f.short_name, ", ", left);
  return Row(left, FlagText(f));
}

}  // namespace

std::string Synopsis(const CommandSpec& command, size_t indent) {
  std::vector<std::string> words = SynopsisWords(command, /*with_flags=*/true);
  return Fill(words, indent + words.front().size() + 1, indent);
}

std::string Overview() {
  std::string s =
      "foghorn: the command line for foghornd's control API\n\n"
      "Usage: foghorn [connection flags] <command> [args] [flags]\n\n"
      "Commands:\n";
  for (const CommandSpec& c : Commands()) {
    std::vector<std::string> words = SynopsisWords(c, /*with_flags=*/false);
    words.front() = std::string(c.name);
    absl::StrAppend(&s, Row(absl::StrJoin(words, " "), c.summary));
  }
  absl::StrAppend(
      &s, "\nConnection flags (or environment; a flag wins), before or after the command:\n");
  for (const FlagSpec& f : ConnectionFlags()) absl::StrAppend(&s, FlagRow(f));
  absl::StrAppend(&s,
                  "\nRun 'foghorn <command> --help' for a command's flags, 'foghorn --version' "
                  "for the version.\nExit codes: 0 ok, 1 failed outcome, 2 usage, 3 agent "
                  "unreachable, 4 auth, 5 not found, 6\nrefused by state, 7 other error.\n");
  return s;
}

std::string CommandHelp(const CommandSpec& command) {
  std::string s = absl::StrCat("Usage: ", Synopsis(command, /*indent=*/7), "\n\n",
                               Wrap(command.help, 0, 0), "\n");
  if (!command.flags.empty()) {
    absl::StrAppend(&s, "\nFlags:\n");
    for (const FlagSpec& f : command.flags) absl::StrAppend(&s, FlagRow(f));
  }
  if (command.connects) {
    absl::StrAppend(&s,
                    "\nConnection flags (--addr, --token, --ca, ...) and -o json apply to every "
                    "command: see\n'foghorn --help'.\n");
  }
  return s;
}

int UsageError(std::ostream& err, const CommandSpec& command, absl::string_view message) {
  err << "foghorn " << command.name << ": " << message << "\n"
      << "Usage: " << Synopsis(command, /*indent=*/7) << "\n";
  return kExitUsage;
}

int HelpCommand(Session& session, const Invocation& args) {
  std::optional<std::string> name = args.Arg("command");
  if (!name) {
    session.out() << Overview();
    return kExitOk;
  }
  const CommandSpec* command = FindCommand(*name);
  if (command == nullptr) {
    session.err() << "foghorn: unknown command \"" << *name << "\"\n";
    return kExitUsage;
  }
  session.out() << CommandHelp(*command);
  return kExitOk;
}

}  // namespace foghorn::cli
