#include "tools/cli/command_table.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "foghorn/v1/control.pb.h"
#include "tools/cli/drill_commands.h"
#include "tools/cli/group_commands.h"
#include "tools/cli/help.h"
#include "tools/cli/operation_commands.h"
#include "tools/cli/runbook_commands.h"

namespace foghorn::cli {
namespace {

// Flags several commands share, so they read the same everywhere.
FlagSpec ReasonFlag(absl::string_view help, absl::string_view required_unless = "") {
  return {.name = "reason",
          .value_name = "R",
          .help = help,
          .required = true,
          .required_unless = required_unless};
}
FlagSpec RequestIdFlag() {
  return {.name = "request-id",
          .value_name = "ID",
          .help =
              "makes retries safe: the same id returns the same operation and never acts "
              "twice (default: a random id)"};
}
FlagSpec LimitFlag() {
  return {.name = "limit",
          .type = FlagType::kNumber,
          .value_name = "N",
          .help = "how many to list, newest first",
          .default_value = "20",
          .invalid = "--limit must be a positive number",
          .min = 1};
}
PositionalSpec GroupArg() { return {.name = "group", .missing = "which group?"}; }
PositionalSpec GroupOrAllArg() {
  return {.name = "group",
          .arity = Arity::kOptional,
          .missing = "name one group or --all",
          .or_switch = "all"};
}
FlagSpec AllFlag() { return {.name = "all", .type = FlagType::kSwitch, .help = "every group"}; }

std::vector<CommandSpec>* BuildCommands() {
  using F = FlagType;
  return new std::vector<CommandSpec>{
      {.name = "status",
       .summary = "overview of every group and the global pause",
       .help = "Shows counts of healthy, failing, paused and busy groups, the global pause, and "
               "every group.",
       .handler = StatusCommand},
      {.name = "groups",
       .summary = "list failover groups",
       .help = "Lists the failover groups the agent watches.",
       .handler = GroupsCommand},
      {.name = "group",
       .summary = "one group: roles, verdicts, decision, pause, history",
       .help = "Shows one group (id or unique name): roles and verdicts, the last decision with "
               "its reasons, the data-loss estimate, pause state, probes and the last N "
               "decisions.",
       .positionals = {GroupArg()},
       .flags = {{.name = "history",
                  .type = F::kNumber,
                  .value_name = "N",
                  .help = "how many recent decisions to show (0: none)",
                  .default_value = "5",
                  .invalid = "--history must be a number",
                  .min = 0}},
       .handler = GroupCommand},
      {.name = "failover",
       .summary = "request a failover and follow it live",
       .help = "Requests a failover (kind default auto: what the engine would do now) and "
               "follows its steps live until it ends, then prints a summary. --dry-run prints "
               "the plan and the gating decision and changes nothing. --request-id makes retries "
               "safe: the same id returns the same operation and never fails over twice. "
               "--no-wait returns once the operation is accepted. Forced kinds need the approver "
               "role (or another person's approval). A pause, maintenance window, cooldown or "
               "blast-radius cap refuses the request; an approver may start it anyway with "
               "--override-holds and the reason, which is audited (explicit kind only). Exit 0 "
               "when it succeeded, 1 when it failed.",
       .positionals = {GroupArg()},
       .flags = {ReasonFlag("why; recorded with the operation", /*required_unless=*/"dry-run"),
                 {.name = "kind",
                  .type = F::kChoice,
                  .help = "planned, forced (may lose data), try-planned (planned, then forced "
                          "once the grace allows), or auto (what the engine would do now)",
                  .default_value = "auto",
                  .invalid = "--kind must be planned, forced, try-planned or auto",
                  .choices = {{"planned", v1::FAILOVER_KIND_PLANNED},
                              {"forced", v1::FAILOVER_KIND_FORCED},
                              {"try-planned", v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED},
                              {"try-planned-before-forced",
                               v1::FAILOVER_KIND_TRY_PLANNED_BEFORE_FORCED, /*hidden=*/true},
                              {"auto", v1::FAILOVER_KIND_AUTO}}},
                 RequestIdFlag(),
                 {.name = "dry-run",
                  .type = F::kSwitch,
                  .help = "print the plan and the gating decision; change nothing"},
                 {.name = "no-wait",
                  .type = F::kSwitch,
                  .help = "return once the operation is accepted"},
                 {.name = "override-holds",
                  .value_name = "REASON",
                  .help = "start despite a pause, maintenance window, cooldown or blast-radius "
                          "cap (approver role; audited with REASON)",
                  .invalid = "--override-holds needs the reason for the override"}},
       .handler = FailoverCommand},
      {.name = "drill",
       .summary = "run a DR drill (fail over, verify, hold, fail back)",
       .help = "Starts a DR drill from the group's runbook: preflight (readiness checks), "
               "planned failover to the partner, verify, hold (the runbook's drill.hold, or "
               "--hold), planned failback, verify, report. Without --wait it returns once the "
               "drill is started and prints its id. --wait follows the steps live and ends with "
               "the summary (RTO per direction, data lost, checks, what to fix); exit 0 when the "
               "drill passed, 1 when it failed or was aborted. --dry-run prints the plan and the "
               "checks as they stand and changes nothing.",
       .positionals = {GroupArg()},
       .flags = {{.name = "reason",
                  .value_name = "R",
                  .help = "why; recorded with the drill",
                  .default_value = "drill requested with the foghorn CLI"},
                 {.name = "hold",
                  .type = F::kDuration,
                  .value_name = "DURATION",
                  .help = "how long to stay on the partner (default: the runbook's drill.hold)",
                  .invalid = "--hold must be a duration such as 30s"},
                 {.name = "dry-run",
                  .type = F::kSwitch,
                  .help = "print the plan and the checks; change nothing"},
                 {.name = "wait",
                  .type = F::kSwitch,
                  .help = "follow the steps live and end with the summary"},
                 RequestIdFlag()},
       .handler = DrillCommand},
      {.name = "readiness",
       .summary = "run the readiness checks of a group",
       .help = "Runs every readiness check of the group now (ARM access, roles, replication, "
               "databases, failover policy, listeners, operation in flight, pause) and prints "
               "each with its reason and fix. Exit 0 when ready (warnings allowed), 1 when a "
               "check fails.",
       .positionals = {GroupArg()},
       .handler = ReadinessCommand},
      {.name = "reports",
       .summary = "list drills and their reports",
       .help = "Lists drills: the running ones, then stored reports newest first.",
       .positionals = {{.name = "group", .arity = Arity::kOptional}},
       .flags = {LimitFlag()},
       .handler = ReportsCommand},
      {.name = "report",
       .summary = "one drill report (--html for the page)",
       .help = "Shows one drill's report (the summary; -o json prints the full JSON report). "
               "--html prints the self-contained HTML page instead (redirect it to a file).",
       .positionals = {{.name = "drill-id", .missing = "which drill?"}},
       .flags = {{.name = "html",
                  .type = F::kSwitch,
                  .help = "print the self-contained HTML page"}},
       .handler = ReportCommand},
      {.name = "ops",
       .summary = "list operations",
       .help = "Lists operations, newest first.",
       .flags = {{.name = "group", .value_name = "G", .help = "only this group's operations"},
                 LimitFlag()},
       .handler = OpsCommand},
      {.name = "op",
       .summary = "one operation with its steps",
       .help = "Shows one operation with its steps.",
       .positionals = {{.name = "operation-id", .missing = "which operation?"}},
       .handler = OpCommand},
      {.name = "approve",
       .summary = "approve the failover a group waits for",
       .help = "Approves the failover the group waits for, or the runbook approval step its "
               "running operation waits at (approver role).",
       .positionals = {GroupArg()},
       .flags = {ReasonFlag("why; audited"),
                 {.name = "allow-data-loss-over-budget",
                  .type = F::kSwitch,
                  .help = "approve although the estimated data loss exceeds the budget"}},
       .handler = ApproveCommand},
      {.name = "reject",
       .summary = "reject the failover a group waits for",
       .help = "Rejects the failover the group waits for.",
       .positionals = {GroupArg()},
       .flags = {ReasonFlag("why; audited")},
       .handler = RejectCommand},
      {.name = "pause",
       .summary = "pause automation",
       .help = "Pauses automation for one group or all, until resumed or for DURATION.",
       .positionals = {GroupOrAllArg()},
       .flags = {AllFlag(),
                 ReasonFlag("why; shown with the pause"),
                 {.name = "for",
                  .type = F::kDuration,
                  .value_name = "DURATION",
                  .help = "resume by itself after this long (e.g. 30m, 2h)",
                  .invalid = "--for must be a positive duration such as 30m",
                  .positive = true}},
       .handler = PauseCommand},
      {.name = "resume",
       .summary = "resume automation",
       .help = "Resumes automation.",
       .positionals = {GroupOrAllArg()},
       .flags = {AllFlag()},
       .handler = ResumeCommand},
      {.name = "watch",
       .summary = "stream events",
       .help = "Streams events as they happen (one line each, or one JSON object per line with "
               "-o json) until interrupted, or until N events were shown.",
       .flags = {{.name = "group",
                  .type = F::kTextList,
                  .value_name = "G",
                  .help = "only this group's events"},
                 {.name = "kind",
                  .type = F::kChoiceList,
                  .help = "only events of this kind",
                  .invalid = "--kind must be verdict, decision, step or operation",
                  .choices = {{"verdict", v1::EVENT_KIND_VERDICT},
                              {"decision", v1::EVENT_KIND_DECISION},
                              {"step", v1::EVENT_KIND_OPERATION_STEP},
                              {"operation", v1::EVENT_KIND_OPERATION}}},
                 {.name = "operation", .value_name = "ID", .help = "only this operation's events"},
                 {.name = "count",
                  .type = F::kNumber,
                  .value_name = "N",
                  .help = "stop after N events",
                  .invalid = "--count must be a positive number",
                  .min = 1}},
       .handler = WatchCommand},
      {.name = "events",
       .summary = "recent events, then (--follow) the live stream",
       .help = "Prints the last N decisions and operations from the journal, oldest first, in "
               "local time with their age; --follow then keeps printing events as they happen "
               "(the stream the status page shows) until interrupted.",
       .flags = {{.name = "group",
                  .type = F::kTextList,
                  .value_name = "G",
                  .help = "only this group's events"},
                 LimitFlag(),
                 {.name = "follow",
                  .type = F::kSwitch,
                  .help = "keep printing events as they happen"},
                 {.name = "count",
                  .type = F::kNumber,
                  .value_name = "N",
                  .help = "with --follow: stop after N live events",
                  .invalid = "--count must be a positive number",
                  .min = 1}},
       .handler = EventsCommand},
      {.name = "runbook",
       .summary = "check runbook files",
       .help = "Checks runbook files on the agent and prints every problem as "
               "file:line:column. Exit 1 when any file has problems.",
       .positionals = {{.name = "validate",
                        .arity = Arity::kWord,
                        .missing = "use: foghorn runbook validate <file>..."},
                       {.name = "file",
                        .arity = Arity::kOneOrMore,
                        .missing = "use: foghorn runbook validate <file>..."}},
       .handler = RunbookValidateCommand},
      {.name = "help",
       .summary = "this overview, or one command's help",
       .help = "Prints the overview of every command, or the help of one command (as "
               "'foghorn <command> --help').",
       .positionals = {{.name = "command", .arity = Arity::kOptional}},
       .handler = HelpCommand,
       .connects = false},
  };
}

std::vector<FlagSpec>* BuildConnectionFlags() {
  return new std::vector<FlagSpec>{
      {.name = "addr",
       .value_name = "host:port",
       .help = "the agent's control API",
       .default_value = "127.0.0.1:7443",
       .env = "FOGHORN_ADDR"},
      {.name = "token",
       .value_name = "T",
       .help = "bearer token; every local user sees argv, so prefer --token-file",
       .env = "FOGHORN_TOKEN"},
      {.name = "token-file",
       .value_name = "F",
       .help = "file holding the bearer token",
       .env = "FOGHORN_TOKEN_FILE"},
      {.name = "ca",
       .value_name = "F",
       .help = "TLS trusting this CA; without it a non-loopback --addr uses TLS with the "
               "system CA store: tokens never travel in clear text beyond this machine",
       .env = "FOGHORN_CA"},
      {.name = "cert",
       .value_name = "F",
       .help = "client certificate for mutual TLS, with --key",
       .env = "FOGHORN_CERT"},
      {.name = "key",
       .value_name = "F",
       .help = "the client certificate's key",
       .env = "FOGHORN_KEY"},
      {.name = "tls-server-name",
       .value_name = "N",
       .help = "override the name checked in the server certificate",
       .env = "FOGHORN_TLS_SERVER_NAME"},
      {.name = "timeout",
       .type = FlagType::kDuration,
       .value_name = "D",
       .help = "deadline of each call",
       .default_value = "30s",
       .invalid = "--timeout must be a positive duration such as 30s",
       .positive = true,
       .env = "FOGHORN_TIMEOUT"},
      {.name = "output",
       .type = FlagType::kChoice,
       .help = "output format",
       .default_value = "table",
       .invalid = "--output must be table or json",
       .choices = {{"table", kOutputTable}, {"json", kOutputJson}},
       .short_name = "o",
       .env = "FOGHORN_OUTPUT"},
  };
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec>* commands = BuildCommands();
  return *commands;
}

const std::vector<FlagSpec>& ConnectionFlags() {
  static const std::vector<FlagSpec>* flags = BuildConnectionFlags();
  return *flags;
}

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& c : Commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const FlagSpec* FindFlag(const CommandSpec& command, absl::string_view name) {
  for (const FlagSpec& f : command.flags) {
    if (f.name == name) return &f;
  }
  for (const FlagSpec& f : ConnectionFlags()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string> CheckCommandTable() {
  std::vector<std::string> problems;
  auto check_flag = [&](absl::string_view where, const FlagSpec& f) {
    const bool choices = f.type == FlagType::kChoice || f.type == FlagType::kChoiceList;
    if (choices == f.choices.empty()) {
      problems.push_back(absl::StrCat(where, " --", f.name, ": choices only for choice flags"));
    }
    if (!choices && f.type != FlagType::kSwitch && f.value_name.empty()) {
      problems.push_back(absl::StrCat(where, " --", f.name, ": no value name"));
    }
    if (f.name == "help" || f.name.empty()) {
      problems.push_back(absl::StrCat(where, " --", f.name, ": reserved or empty name"));
    }
  };
  std::set<absl::string_view> connection;
  for (const FlagSpec& f : ConnectionFlags()) {
    check_flag("connection flag", f);
    if (!connection.insert(f.name).second) problems.push_back(absl::StrCat("--", f.name, " twice"));
  }
  // The parser tells a switch given a value by name alone (command_line.cc): a name is a switch
  // everywhere or nowhere.
  std::map<absl::string_view, bool> switch_by_name = {{"help", true}};
  for (const CommandSpec& c : Commands()) {
    for (const FlagSpec& f : c.flags) {
      const bool is_switch = f.type == FlagType::kSwitch;
      if (!switch_by_name.emplace(f.name, is_switch).second &&
          switch_by_name[f.name] != is_switch) {
        problems.push_back(absl::StrCat("--", f.name, " is a switch in one command only"));
      }
    }
  }
  std::set<absl::string_view> names;
  for (const CommandSpec& c : Commands()) {
    const std::string where = absl::StrCat("command ", c.name);
    if (!names.insert(c.name).second) problems.push_back(where + " listed twice");
    if (c.handler == nullptr) problems.push_back(where + " has no handler");
    if (c.summary.empty() || c.help.empty()) problems.push_back(where + " has no summary or help");
    std::set<absl::string_view> flags;
    auto is_switch = [&](absl::string_view name) {
      for (const FlagSpec& f : c.flags) {
        if (f.name == name) return f.type == FlagType::kSwitch;
      }
      return false;
    };
    for (const FlagSpec& f : c.flags) {
      check_flag(where, f);
      if (connection.count(f.name) || !flags.insert(f.name).second) {
        problems.push_back(absl::StrCat(where, " --", f.name, " declared twice"));
      }
      if (!f.required_unless.empty() && !is_switch(f.required_unless)) {
        problems.push_back(absl::StrCat(where, " --", f.name, ": required_unless is no switch"));
      }
    }
    for (size_t i = 0; i < c.positionals.size(); ++i) {
      const PositionalSpec& p = c.positionals[i];
      if (!p.or_switch.empty() && (p.arity != Arity::kOptional || !is_switch(p.or_switch))) {
        problems.push_back(absl::StrCat(where, " <", p.name,
                                        ">: or_switch needs an optional "
                                        "positional and a switch"));
      }
      const bool last = i + 1 == c.positionals.size();
      if (!last && (p.arity == Arity::kOneOrMore || p.arity == Arity::kOptional)) {
        problems.push_back(absl::StrCat(where, " <", p.name, ">: only the last may be optional"));
      }
    }
  }
  return problems;
}

}  // namespace foghorn::cli
