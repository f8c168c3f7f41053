#include "tools/cli/command_line.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orchestrator/common/durations.h"

namespace foghorn::cli {
namespace {

std::string Dashed(absl::string_view name) { return absl::StrCat("--", name); }

// Every value option takes at most one value per occurrence and keeps every occurrence: an empty
// or missing value and the first-of-several rule are Bind's to word, not CLI11's.
CLI::Option* AddFlag(CLI::App& app, const FlagSpec& f) {
  std::string names = Dashed(f.name);
  if (!f.short_name.empty()) names = absl::StrCat("-", f.short_name, ",", names);
  if (f.type == FlagType::kSwitch) return app.add_flag(names)->disable_flag_override();
  return app.add_option(names)->expected(0, 1)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll);
}

CLI::Option* AddPositional(CLI::App& app, const PositionalSpec& p) {
  CLI::Option* o = app.add_option(std::string(p.name));
  if (p.arity == Arity::kOneOrMore) return o->expected(1, -1)->allow_extra_args();
  return o->expected(1);
}

bool IsSwitchAnywhere(absl::string_view name) {
  if (name == "help") return true;
  for (const CommandSpec& c : Commands()) {
    const FlagSpec* f = FindFlag(c, name);
    if (f != nullptr && f->type == FlagType::kSwitch) return true;
  }
  return false;
}

bool IsOwnFlag(const CommandSpec& c, absl::string_view name) {
  for (const FlagSpec& f : c.flags) {
    if (f.name == name) return true;
  }
  return false;
}

bool IsCommandFlag(absl::string_view name) {
  for (const CommandSpec& c : Commands()) {
    if (IsOwnFlag(c, name)) return true;
  }
  return false;
}

// The grammar error for the words CLI11 could not place, as foghorn words it.
void ExplainExtras(const std::vector<std::string>& extras, ParsedLine* line) {
  for (const std::string& x : extras) {
    if (x.size() < 2 || x[0] != '-') continue;
    std::string flag = x.substr(0, x.find('='));
    // A command's own flag CLI11 could not place came before the command's name.
    bool misplaced = false;
    if (absl::StartsWith(flag, "--")) {
      const absl::string_view name = absl::string_view(flag).substr(2);
      misplaced = line->command == nullptr ? IsCommandFlag(name) : IsOwnFlag(*line->command, name);
    }
    line->error = misplaced ? absl::StrCat(flag, " goes after the command it belongs to")
                            : absl::StrCat("unknown flag ", flag);
    return;
  }
  if (line->command == nullptr) {
    line->unknown_command = extras.front();
  } else {
    line->error = absl::StrCat("unexpected argument \"", extras.front(), "\"");
  }
}

// "--x takes no value" for the first switch given a value ("--dry-run=yes"), else "".
std::string SwitchGivenAValue(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") break;
    size_t eq = a.find('=');
    if (absl::StartsWith(a, "--") && eq != std::string::npos &&
        IsSwitchAnywhere(a.substr(2, eq - 2)))
      return absl::StrCat(a.substr(0, eq), " takes no value");
  }
  return "";
}

std::string ChoiceList(const FlagSpec& f) {
  std::vector<absl::string_view> texts;
  for (const Choice& c : f.choices) {
    if (!c.hidden) texts.push_back(c.text);
  }
  return absl::StrJoin(texts, ", ");
}

absl::Status Invalid(const FlagSpec& f, absl::string_view generic) {
  return absl::InvalidArgumentError(f.invalid.empty() ? absl::StrCat(Dashed(f.name), " ", generic)
                                                      : std::string(f.invalid));
}

std::optional<int> FindChoice(const FlagSpec& f, absl::string_view text) {
  for (const Choice& c : f.choices) {
    if (c.text == text) return c.value;
  }
  return std::nullopt;
}

}  // namespace

ParsedLine ParseCommandLine(const std::vector<std::string>& args) {
  ParsedLine line;
  // CLI11 would take "--dry-run=true" (and throw, unnamed, for other values): a switch has none.
  line.error = SwitchGivenAValue(args);
  if (!line.error.empty()) return line;
  CLI::App app("foghorn", "foghorn");
  app.set_help_flag();  // help is ours (help.h), derived from the same table
  app.allow_extras();   // unknown words are collected and worded by ExplainExtras
  app.fallthrough();    // connection flags after the command
  app.require_subcommand(0, 1);
  CLI::Option* help = app.add_flag("-h,--help");
  using Options = std::vector<std::pair<CLI::Option*, absl::string_view>>;
  Options flags;
  for (const FlagSpec& f : ConnectionFlags()) flags.emplace_back(AddFlag(app, f), f.name);
  struct Sub {
    CLI::App* app;
    const CommandSpec* spec;
    Options flags, positionals;
  };
  std::vector<Sub> subs;
  for (const CommandSpec& c : Commands()) {
    Sub s{app.add_subcommand(std::string(c.name), std::string(c.summary)), &c, {}, {}};
    for (const FlagSpec& f : c.flags) s.flags.emplace_back(AddFlag(*s.app, f), f.name);
    for (const PositionalSpec& p : c.positionals)
      s.positionals.emplace_back(AddPositional(*s.app, p), p.name);
    subs.push_back(std::move(s));
  }
  try {
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));
  } catch (const CLI::ParseError& e) {
    line.error = e.what();
    return line;
  }
  line.help = help->count() > 0;
  // A switch's results are CLI11's "true"; Bind only asks whether it was given.
  auto record = [](const Options& options, decltype(line.flags)* into) {
    for (const auto& [o, name] : options) {
      if (o->count() == 0) continue;
      std::vector<std::string>& values = (*into)[std::string(name)];
      for (const std::string& r : o->results()) values.push_back(r);
    }
  };
  record(flags, &line.flags);
  for (const Sub& s : subs) {
    if (!s.app->parsed()) continue;
    line.command = s.spec;
    record(s.flags, &line.flags);
    record(s.positionals, &line.positionals);
  }
  std::vector<std::string> extras = app.remaining(/*recurse=*/true);
  if (!extras.empty()) ExplainExtras(extras, &line);
  return line;
}

absl::StatusOr<Invocation> Bind(const ParsedLine& line, const Getenv& getenv) {
  Invocation inv;
  inv.command_ = line.command;
  const CommandSpec& command = *line.command;
  auto given = [&](absl::string_view name) -> const std::vector<std::string>* {
    auto it = line.flags.find(name);
    return it == line.flags.end() ? nullptr : &it->second;
  };
  auto bind_flag = [&](const FlagSpec& f) -> absl::Status {
    Invocation::Value& v = inv.values_[std::string(f.name)];
    v.flag = &f;
    const std::vector<std::string>* values = given(f.name);
    if (f.type == FlagType::kSwitch) {
      v.on = values != nullptr;
      return absl::OkStatus();
    }
    std::vector<std::string> texts;
    if (values != nullptr) {
      texts = *values;
    } else if (std::string env = f.env.empty() ? "" : getenv(std::string(f.env)); !env.empty()) {
      texts = {env};
    } else if (!f.default_value.empty()) {
      texts = {std::string(f.default_value)};
    }
    if (texts.empty()) {
      const bool lifted = !f.required_unless.empty() && given(f.required_unless) != nullptr;
      if (f.required && !lifted) {
        return absl::InvalidArgumentError(absl::StrCat(Dashed(f.name), " is required"));
      }
      return absl::OkStatus();
    }
    for (const std::string& t : texts) {
      if (t.empty()) return Invalid(f, "needs a value");
    }
    // A single-valued flag given several times keeps the first.
    const std::string& first = texts.front();
    switch (f.type) {
      case FlagType::kSwitch:
        break;
      case FlagType::kText:
        v.texts = {first};
        break;
      case FlagType::kTextList:
        v.texts = texts;
        break;
      case FlagType::kNumber: {
        int n = 0;
        if (!absl::SimpleAtoi(first, &n) || n < f.min) {
          return Invalid(f, absl::StrCat("must be a number >= ", f.min));
        }
        v.number = n;
        break;
      }
      case FlagType::kDuration: {
        std::optional<absl::Duration> d = common::ParseDurationText(first);
        if (!d || (f.positive && *d <= absl::ZeroDuration())) {
          return Invalid(f, "must be a duration such as 30s");
        }
        v.duration = d;
        break;
      }
      case FlagType::kChoice:
        v.number = FindChoice(f, first);
        if (!v.number) return Invalid(f, absl::StrCat("must be one of ", ChoiceList(f)));
        break;
      case FlagType::kChoiceList:
        for (const std::string& t : texts) {
          std::optional<int> c = FindChoice(f, t);
          if (!c) return Invalid(f, absl::StrCat("must be one of ", ChoiceList(f)));
          v.choices.push_back(*c);
        }
        break;
    }
    return absl::OkStatus();
  };

  for (const FlagSpec& f : ConnectionFlags()) {
    if (absl::Status s = bind_flag(f); !s.ok()) return s;
  }
  for (const PositionalSpec& p : command.positionals) {
    Invocation::Value& v = inv.values_[std::string(p.name)];
    if (auto it = line.positionals.find(p.name); it != line.positionals.end()) v.texts = it->second;
    bool ok = true;
    switch (p.arity) {
      case Arity::kRequired:
      case Arity::kOneOrMore:
        ok = !v.texts.empty();
        break;
      case Arity::kOptional:
        ok = p.or_switch.empty() || v.texts.empty() == (given(p.or_switch) != nullptr);
        break;
      case Arity::kWord:
        ok = !v.texts.empty() && v.texts.front() == p.name;
        break;
    }
    if (!ok) {
      return absl::InvalidArgumentError(p.missing.empty() ? absl::StrCat("which ", p.name, "?")
                                                          : std::string(p.missing));
    }
  }
  for (const FlagSpec& f : command.flags) {
    if (absl::Status s = bind_flag(f); !s.ok()) return s;
  }
  return inv;
}

const Invocation::Value& Invocation::Get(absl::string_view name,
                                         std::optional<FlagType> type) const {
  auto it = values_.find(name);
  const bool type_ok =
      it != values_.end() &&
      (it->second.flag == nullptr ? !type.has_value()
                                  : type.has_value() && it->second.flag->type == *type);
  if (!type_ok) {
    // The handler asked for something its table entry does not declare (command_table.cc).
    std::fprintf(stderr, "foghorn: internal error: command %s has no %s argument %s\n",
                 std::string(command_->name).c_str(), type ? "flag" : "positional",
                 std::string(name).c_str());
    std::abort();
  }
  return it->second;
}

std::optional<std::string> Invocation::Arg(absl::string_view name) const {
  const Value& v = Get(name, std::nullopt);
  if (v.texts.empty()) return std::nullopt;
  return v.texts.front();
}

const std::vector<std::string>& Invocation::Args(absl::string_view name) const {
  return Get(name, std::nullopt).texts;
}

bool Invocation::Switch(absl::string_view name) const { return Get(name, FlagType::kSwitch).on; }

std::optional<std::string> Invocation::Text(absl::string_view name) const {
  const Value& v = Get(name, FlagType::kText);
  if (v.texts.empty()) return std::nullopt;
  return v.texts.front();
}

const std::vector<std::string>& Invocation::Texts(absl::string_view name) const {
  return Get(name, FlagType::kTextList).texts;
}

std::optional<int> Invocation::Number(absl::string_view name) const {
  return Get(name, FlagType::kNumber).number;
}

std::optional<absl::Duration> Invocation::Duration(absl::string_view name) const {
  return Get(name, FlagType::kDuration).duration;
}

std::optional<int> Invocation::ChoiceValue(absl::string_view name) const {
  return Get(name, FlagType::kChoice).number;
}

const std::vector<int>& Invocation::ChoiceValues(absl::string_view name) const {
  return Get(name, FlagType::kChoiceList).choices;
}

}  // namespace foghorn::cli
